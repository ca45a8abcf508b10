"""The record store (aiosqlite) and the query compiler: the only SQL in the gateway."""

from gateway.store.compile import compile_query
from gateway.store.store import RecordRow, RecordWrite, Store, WriteTxn

__all__ = ["RecordRow", "RecordWrite", "Store", "WriteTxn", "compile_query"]
