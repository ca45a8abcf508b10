"""What gateway processes on one PostgreSQL database share besides the catalog: keyed values
with an expiry (X-server sessions and result sets), numbers taken once, the request journal,
and singleton work owned by whoever holds an advisory lock (taken over when its holder's
connection dies).
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from gateway.store.postgresql.store import CONNECTION_ERRORS, PostgresStore

# Drop every batch older than the newest one at which the batches, counted from the newest,
# hold `$1` entries (none while they hold fewer): SQLite and PostgreSQL alike.
TRIM_JOURNAL: Final = (
    "DELETE FROM shared_journal_batches WHERE id < (SELECT id FROM (SELECT id, sum(entries)"
    " OVER (ORDER BY id DESC) AS newer FROM shared_journal_batches) AS counted"
    " WHERE newer >= $1 ORDER BY id DESC LIMIT 1)"
)


class PostgresSharedState:
    """Keyed values with an expiry, shared counters and the journal, in the store's database
    (the interface the worker processes' shared state file offers, so either may back it)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def close(self) -> None:
        """Nothing of its own to close: it uses the store's pool."""

    async def delete(self, space: str, key: str) -> None:
        await self._store.fetch_rows(
            "DELETE FROM shared_state WHERE space = $1 AND key = $2", space, key
        )

    async def counter(self, name: str) -> int:
        """The counter's current value (0 before its first number)."""
        rows = await self._store.fetch_rows(
            "SELECT value FROM shared_numbers WHERE name = $1", name
        )
        return int(rows[0][0]) if rows else 0

    async def append_journal(
        self, batch: str, entries: int, *, keep: int, trim: bool = True
    ) -> None:
        """Add a batch of `entries` journal entries (JSON); with `trim`, drop the batches
        older than those holding the newest `keep` entries (one transaction)."""
        if not trim:
            await self._store.fetch_rows(
                "INSERT INTO shared_journal_batches (entries, batch) VALUES ($1, $2)",
                entries,
                batch,
            )
            return
        # one statement: the trim does not see the batch added with it, so it keeps a little more
        await self._store.fetch_rows(
            "WITH added AS (INSERT INTO shared_journal_batches (entries, batch) VALUES ($2, $3)"
            f" RETURNING id) {TRIM_JOURNAL}",
            keep,
            entries,
            batch,
        )

    async def journal(self) -> list[str]:
        """Every batch kept, oldest first."""
        rows = await self._store.fetch_rows("SELECT batch FROM shared_journal_batches ORDER BY id")
        return [str(r[0]) for r in rows]

    async def clear_journal(self) -> None:
        await self._store.fetch_rows("DELETE FROM shared_journal_batches")

    async def get(self, space: str, key: str) -> bytes | None:
        rows = await self._store.fetch_rows(
            "SELECT value FROM shared_state WHERE space = $1 AND key = $2 AND expires > now()",
            space,
            key,
        )
        return bytes(rows[0][0]) if rows else None

    async def put(self, space: str, key: str, value: bytes, *, ttl: float) -> None:
        await self._store.fetch_rows(
            "WITH gone AS (DELETE FROM shared_state WHERE expires < now() - interval '1 minute'"
            " AND space = $1 RETURNING 1)"
            " INSERT INTO shared_state (space, key, value, expires)"
            " VALUES ($1, $2, $3, now() + make_interval(secs => $4))"
            " ON CONFLICT (space, key) DO UPDATE SET value = excluded.value,"
            " expires = excluded.expires",
            space,
            key,
            value,
            ttl,
        )

    async def next_number(self, name: str, *, wrap: int) -> int:
        """1, 2, ... up to `wrap`, then 1 again; each number taken by one process only."""
        rows = await self._store.fetch_rows(
            "INSERT INTO shared_numbers (name, value) VALUES ($1, 1) ON CONFLICT (name)"
            " DO UPDATE SET value = shared_numbers.value % $2 + 1 RETURNING value",
            name,
            wrap,
        )
        return int(rows[0][0])


def lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for a singleton's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


class AdvisoryLock:
    """A session-level advisory lock on a connection of its own: held while that connection
    lives, so when the holding process dies the database frees it for another to take.

    Advisory locks are the database's: the key is made of `name` and the URL's `search_path`,
    so catalogs in schemas of one database each have their own."""

    def __init__(
        self, url: str, name: str, *, password: str = "", tls: ssl.SSLContext | bool = False
    ) -> None:
        self.url = url  # as the store connects: without sslmode (tls_of)
        self.password = password
        self.tls = tls
        schema = dict(parse_qsl(urlsplit(url).query)).get("search_path", "")
        self.key = lock_key(f"{schema}/{name}" if schema else name)
        self._conn: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def try_take(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self.held:
            return True
        try:
            conn = await asyncpg.connect(self.url, password=self.password, ssl=self.tls)
        except CONNECTION_ERRORS:
            return False
        try:
            taken = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def still_held(self) -> bool:
        """Ask the lock's connection: False once it is gone (a database restart ends the
        session and its lock; another process may hold it now)."""
        if not self.held:
            return False
        assert self._conn is not None
        try:
            await self._conn.fetchval("SELECT 1", timeout=10)
        except (*CONNECTION_ERRORS, TimeoutError, asyncpg.PostgresError):
            await self.release()
            return False
        return True

    async def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if not conn.is_closed():
                await conn.close()  # the session's advisory locks end with it


def advisory_lock(store: PostgresStore, name: str) -> AdvisoryLock:
    """The advisory lock `name` in the store's database, connecting as the store does."""
    return AdvisoryLock(store.url, name, password=store.connect_password, tls=store.connect_tls)
