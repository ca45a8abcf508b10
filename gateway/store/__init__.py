"""The record store: one interface (`Store`, a Protocol) and its SQLite implementation."""

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
    WriteTxn,
)
from gateway.store.sqlite import SqliteStore, compile_query, iter_chunks, sort_terms

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
    "WriteTxn",
    "compile_query",
    "iter_chunks",
    "sort_terms",
]
