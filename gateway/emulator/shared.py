"""State the worker processes of one gateway share beside the record store: a small SQLite file
of keyed values with an expiry (X-server sessions and result sets) and numbered counters.

Only `serve --workers N` (N > 1) opens it; one process keeps such state in memory.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol, TypeVar

import aiosqlite

from gateway.store.postgresql.shared import TRIM_JOURNAL

_T = TypeVar("_T")

SHARED_FILE: Final = "workers.sqlite"
_PURGE_EVERY: Final = 500  # puts between deletions of expired values

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS shared_values (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires REAL NOT NULL,          -- epoch seconds
    PRIMARY KEY (space, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shared_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
DROP TABLE IF EXISTS shared_journal;  -- an entry a row, as workers handed them on before
CREATE TABLE IF NOT EXISTS shared_journal_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order across the workers
    entries INTEGER NOT NULL,              -- how many journal entries the batch holds
    batch TEXT NOT NULL                    -- JSON of one worker's entries handed on at once
);
"""


class SharedStore(Protocol):
    """What gateway processes share beside the catalog, whichever backs it: this file (the
    workers of one gateway on SQLite) or the PostgreSQL database (every process on it)."""

    async def get(self, space: str, key: str) -> bytes | None: ...
    async def put(self, space: str, key: str, value: bytes, *, ttl: float) -> None: ...
    async def delete(self, space: str, key: str) -> None: ...
    async def next_number(self, name: str, *, wrap: int) -> int: ...
    async def counter(self, name: str) -> int: ...
    async def append_journal(
        self, batch: str, entries: int, *, keep: int, trim: bool = True
    ) -> None: ...
    async def journal(self) -> list[str]: ...
    async def clear_journal(self) -> None: ...
    async def close(self) -> None: ...


class SharedState:
    """Open with `await SharedState.open(data_dir)`; every method is one transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._puts = 0

    @classmethod
    async def open(cls, data_dir: Path) -> SharedState:
        conn = await aiosqlite.connect(str(data_dir / SHARED_FILE), isolation_level=None)
        try:
            await conn.execute("PRAGMA busy_timeout = 10000")
            await _wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.executescript(_SCHEMA)
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def get(self, space: str, key: str) -> bytes | None:
        """The value, unless missing or expired (one thread hop: an X-server request asks)."""
        now = time.time()

        def work(db: sqlite3.Connection) -> bytes | None:
            rows = db.execute(
                "SELECT value FROM shared_values WHERE space = ? AND key = ? AND expires > ?",
                (space, key, now),
            ).fetchall()
            return bytes(rows[0][0]) if rows else None

        return await self._run(work)

    async def put(self, space: str, key: str, value: bytes, *, ttl: float) -> None:
        self._puts += 1
        purge = self._puts % _PURGE_EVERY == 0
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO shared_values (space, key, value, expires)"
                    " VALUES (?, ?, ?, ?)",
                    (space, key, value, now + ttl),
                )
                if purge:
                    db.execute("DELETE FROM shared_values WHERE expires <= ?", (now,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(work)

    async def delete(self, space: str, key: str) -> None:
        await self._conn.execute(
            "DELETE FROM shared_values WHERE space = ? AND key = ?", (space, key)
        )

    async def next_number(self, name: str, *, wrap: int) -> int:
        """The counter's next value, 1 to `wrap` and round again, taken once across processes."""

        def work(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT value FROM shared_counters WHERE name = ?", (name,)
                ).fetchone()
                number = 1 if row is None or int(row[0]) >= wrap else int(row[0]) + 1
                db.execute(
                    "INSERT OR REPLACE INTO shared_counters (name, value) VALUES (?, ?)",
                    (name, number),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return number

        return await self._run(work)

    async def counter(self, name: str) -> int:
        """The counter's current value (0 before its first number)."""

        def work(db: sqlite3.Connection) -> int:
            rows = db.execute("SELECT value FROM shared_counters WHERE name = ?", (name,)).fetchall()
            return int(rows[0][0]) if rows else 0

        return await self._run(work)

    # --- the request journal of every worker --------------------------------------------
    async def append_journal(
        self, batch: str, entries: int, *, keep: int, trim: bool = True
    ) -> None:
        """Add a batch of `entries` journal entries (JSON); with `trim`, drop the batches
        older than those holding the newest `keep` entries."""

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO shared_journal_batches (entries, batch) VALUES (?, ?)",
                    (entries, batch),
                )
                if trim:
                    db.execute(TRIM_JOURNAL.replace("$1", "?"), (keep,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(work)

    async def journal(self) -> list[str]:
        """Every batch kept, oldest first."""
        sql = "SELECT batch FROM shared_journal_batches ORDER BY id"
        async with self._conn.execute(sql) as cur:
            return [str(row[0]) for row in await cur.fetchall()]

    async def clear_journal(self) -> None:
        await self._conn.execute("DELETE FROM shared_journal_batches")

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        # one thread hop for the whole transaction (aiosqlite hops once per statement);
        # aiosqlite names no public way to run a function on its thread
        result: _T = await self._conn._execute(work, self._conn._conn)  # type: ignore[no-untyped-call]
        return result


async def _wal(conn: aiosqlite.Connection) -> None:
    """WAL mode, also when workers open a new file at once: SQLite answers that race with
    "database is locked" at once, without its busy handler, so it is tried again."""
    for attempt in range(200):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            await asyncio.sleep(0.05)
