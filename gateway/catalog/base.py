"""The state every family of operations shares: the store, the clock, the library table."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import pymarc

from gateway import records
from gateway.catalog.saving import stamp_005
from gateway.errors import LibraryNotFoundError
from gateway.model import Library, User, View
from gateway.rules import asteri
from gateway.store import Store

# How stale the cached libraries and logins may be after another process changed them.
REFRESH_INTERVAL = 0.05


class CatalogCore:
    """The state every family of Melinda operations shares: the store, the clock, the library table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last_datestamp = 0
        # verified credentials: name -> (keyed digest of the password, user, the stored
        # password hash it was checked against); scrypt runs once per password
        self._auth_cache: dict[str, tuple[bytes, User, str]] = {}
        self._auth_key = secrets.token_bytes(32)
        # password checks under way, by (keyed digest, user name as typed)
        self._auth_checks: dict[tuple[bytes, str], asyncio.Future[User]] = {}
        self._libraries: dict[str, Library] | None = None  # read on every write: cached
        self._password_hashes: dict[str, str] = {}  # of the cached libraries
        self._generation = 0  # the store's generation the caches above were filled at
        self._looked_at = -1.0  # monotonic time of the last look for other processes' commits
        # Asteri's authority base, whose dates the fin01alma view of linked headings shows
        self.asteri_store: Store | None = None

    async def close(self) -> None:
        await self.store.close()

    def _now(self) -> int:
        """Epoch seconds, never below the last datestamp given (harvests page on that order)."""
        # the store's own latest counts too: a restored snapshot may come from a faster clock
        now = max(int(time.time()), self._last_datestamp, self.store.latest_datestamp)
        self._last_datestamp = now
        return now

    def _finish(self, record: pymarc.Record, record_id: int, user: User, now: int) -> None:
        """Server-maintained fields: 001/003/035, 005, a CAT for this save, LOW last."""
        when = datetime.fromtimestamp(now, UTC)
        records.set_melinda_id(record, record_id)
        stamp_005(record, when)
        records.append_cat(record, user.name, user.level, when)
        records.order_aleph_fields(record)

    async def _forget_if_changed_elsewhere(self) -> None:
        """Drop the cached libraries and logins when another process (the CLI: `library add`,
        `reset`, `load`) committed to the store since they were read. One look per
        REFRESH_INTERVAL at most: a busy writer asks on every save, and the look is a hop."""
        now = time.monotonic()
        if now - self._looked_at < REFRESH_INTERVAL:
            return
        self._looked_at = now
        generation = await self.store.refresh()
        if generation != self._generation:
            # Read again before use. Logins stay cached: each is checked against the library
            # as read again (another worker commits every few ms; scrypt costs 60 ms)
            self._generation = generation
            self._libraries = None

    async def linked_dates(self, ids: Iterable[int]) -> dict[int, str]:
        """Asteri id -> the live authority's 100 $d, for the ids that have dates."""
        wanted = sorted(set(ids))
        if not wanted or self.asteri_store is None:
            return {}
        found: dict[int, str] = {}
        for stored in await self.asteri_store.fetch(wanted, View.FIN11):
            if not stored.deleted:
                dates = asteri.authority_dates(records.parse_marcxml(stored.xml))
                if dates:
                    found[stored.id] = dates
        return found

    async def dates_for(self, record: pymarc.Record) -> dict[int, str]:
        """The dates of the authorities `record`'s headings link to (the fin01alma view's)."""
        return await self.linked_dates(asteri.linked_ids(record))

    async def _library_table(self) -> dict[str, Library]:
        await self._forget_if_changed_elsewhere()
        if self._libraries is None:
            self._libraries = {lib.code: lib for lib in await self._read_libraries()}
        return self._libraries

    async def _read_libraries(self) -> list[Library]:
        rows = await self.store.library_rows()
        self._password_hashes = {library.code: password_hash for library, password_hash in rows}
        return [library for library, _hash in rows]

    async def _library_or_none(self, code: str) -> Library | None:
        return (await self._library_table()).get(code.strip().upper())

    async def _sid_code_of_low(self, low_code: str) -> str:
        """The SID $b code of the library owning LOW `low_code` (its code, lower-cased, if none)."""
        code = low_code.strip().upper()
        table = await self._library_table()
        if code in table:
            return table[code].sid_code
        for library in table.values():
            if code in library.lows:
                return library.sid_code
        return code.lower()

    async def library(self, code: str) -> Library:
        found = await self._library_or_none(code)
        if found is None:
            raise LibraryNotFoundError(code)
        return found
