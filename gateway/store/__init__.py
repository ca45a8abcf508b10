"""The record store: one interface (`Store`, a Protocol), its SQLite and PostgreSQL
implementations, and `open_store` choosing between them by URL."""

from gateway.store.ill import (
    OPEN,
    IllMessageRow,
    IllRequestRow,
    IllStore,
    NewIllMessage,
    NewIllRequest,
    RequestChange,
)
from gateway.store.interface import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    SplicedWrite,
    Store,
    TailRow,
    TailWrite,
    WriteTxn,
)
from gateway.store.sqlite import SqliteStore, compile_query, iter_chunks, sort_terms
from gateway.store.urls import StoreUrlError, open_store, store_kind, store_url_of_path

__all__ = [
    "OPEN",
    "IllMessageRow",
    "IllRequestRow",
    "IllStore",
    "NewIllMessage",
    "NewIllRequest",
    "RecordRow",
    "RecordWrite",
    "RequestChange",
    "RowChangedError",
    "SplicedWrite",
    "SqliteStore",
    "Store",
    "StoreUrlError",
    "TailRow",
    "TailWrite",
    "WriteTxn",
    "compile_query",
    "iter_chunks",
    "open_store",
    "sort_terms",
    "store_kind",
    "store_url_of_path",
]
