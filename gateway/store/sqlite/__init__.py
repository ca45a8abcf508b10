"""The SQLite store: aiosqlite in WAL mode, its schema and the query compiler (the only SQL)."""

from gateway.store.sqlite.compile import compile_query
from gateway.store.sqlite.store import SqliteStore, SqliteWriteTxn, iter_chunks, sort_terms

__all__ = ["SqliteStore", "SqliteWriteTxn", "compile_query", "iter_chunks", "sort_terms"]
