"""The record store (aiosqlite) and the query compiler: the only SQL in the gateway."""

from gateway.store.compile import compile_query
from gateway.store.store import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    SplicedWrite,
    Store,
    WriteTxn,
    sort_terms,
)

__all__ = [
    "RecordRow",
    "RecordWrite",
    "RowChangedError",
    "SplicedWrite",
    "Store",
    "WriteTxn",
    "compile_query",
    "sort_terms",
]
