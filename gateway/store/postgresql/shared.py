"""What gateway processes on one PostgreSQL database share besides the catalog: keyed values
with an expiry (X-server sessions and result sets) and numbers taken once, and singleton work
owned by whoever holds an advisory lock (taken over when its holder's connection dies).
"""

from __future__ import annotations

import hashlib

import asyncpg

from gateway.store.postgresql.store import CONNECTION_ERRORS, PostgresStore


class PostgresSharedState:
    """Keyed values with an expiry and shared counters, in the store's database (the
    interface the worker processes' shared state file offers, so either may back it)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

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
    lives, so when the holding process dies the database frees it for another to take."""

    def __init__(self, url: str, name: str, *, password: str = "") -> None:
        self.url = url  # as the store connects: without sslmode (tls_of)
        self.password = password
        self.key = lock_key(name)
        self._conn: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def try_take(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self.held:
            return True
        try:
            conn = await asyncpg.connect(self.url, password=self.password, ssl=False)
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

    async def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if not conn.is_closed():
                await conn.close()  # the session's advisory locks end with it
