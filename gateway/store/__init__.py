"""The record store: one interface (`Store`, a Protocol) and its SQLite implementation."""

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
    "RecordRow",
    "RecordWrite",
    "RowChangedError",
    "SplicedWrite",
    "SqliteStore",
    "Store",
    "WriteTxn",
    "compile_query",
    "iter_chunks",
    "sort_terms",
]
