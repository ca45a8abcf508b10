"""The Melinda operations every protocol shares: search, read, write, LOWs, changes, users.

Protocols call only this; the store is the only module that speaks SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

import pymarc

from gateway.model import Library, ResultSet, ScanTerm, StoredRecord, User, View, WriteResult
from gateway.query import Query

RESULT_SET_CAP = 20_000  # Aleph caps every result set here


@dataclass(frozen=True, slots=True)
class SortKey:
    """`dc.title`, `dc.date` or `dc.author`, ascending unless told otherwise."""

    index: str
    ascending: bool = True


@dataclass(frozen=True, slots=True)
class SetInfo:
    """An OAI-PMH set: Melinda's named sets and one `low:CODE` per LOW code in use."""

    spec: str
    name: str
    description: str = ""


@dataclass(slots=True)
class LoadReport:
    """What a bulk load did; rejected holds (position, reason)."""

    loaded: int = 0
    updated: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


class Catalog:
    """Melinda over one store. Construct with `await Catalog.open(path)`."""

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    async def open(cls, path: str) -> Catalog:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # --- reading -------------------------------------------------------------------
    async def get(self, record_id: int, view: View = View.FIN01) -> StoredRecord:
        """One record, deleted or not. Raises RecordNotFoundError."""
        raise NotImplementedError

    async def fetch(self, ids: Sequence[int], view: View = View.FIN01) -> list[StoredRecord]:
        """The records of `ids` in that order; ids that do not exist are skipped."""
        raise NotImplementedError

    async def search(
        self, query: Query, *, sort: Sequence[SortKey] = (), cap: int = RESULT_SET_CAP
    ) -> ResultSet:
        """Live records matching `query`, ascending by id unless sorted. Raises QueryError."""
        raise NotImplementedError

    async def scan(
        self, index: str, start: str, *, count: int = 20, position: int = 1
    ) -> list[ScanTerm]:
        """Index terms around `start`: `position - 1` terms before it, the rest from it on."""
        raise NotImplementedError

    async def record_counts(self) -> tuple[int, int]:
        """(live, deleted) record counts."""
        raise NotImplementedError

    async def earliest_datestamp(self) -> int | None:
        raise NotImplementedError

    async def changes(
        self,
        *,
        after_seq: int = 0,
        since: int | None = None,
        until: int | None = None,
        set_spec: str | None = None,
        limit: int = 100,
        view: View = View.FIN01,
    ) -> list[StoredRecord]:
        """Records changed in [since, until] with seq > after_seq, ascending by seq.

        With a set, deleted records are left out (as Melinda's provider does).
        """
        raise NotImplementedError

    async def count_changes(
        self,
        *,
        after_seq: int = 0,
        since: int | None = None,
        until: int | None = None,
        set_spec: str | None = None,
    ) -> int:
        raise NotImplementedError

    async def sets(self) -> list[SetInfo]:
        raise NotImplementedError

    # --- writing -------------------------------------------------------------------
    async def create(
        self,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """Validate, convert from Alma form if needed, assign a new id, append CAT, save."""
        raise NotImplementedError

    async def update(
        self,
        record_id: int,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """validate -> convert upstream -> stale check -> protection merge -> save -> CAT."""
        raise NotImplementedError

    async def delete(self, record_id: int, *, user: User | None = None) -> WriteResult:
        """STA DELETED + Leader/05 `d`; refused (LowsRemainError) while any LOW remains."""
        raise NotImplementedError

    async def add_low(
        self, record_id: int, code: str, *, user: User | None = None, local_id: str | None = None
    ) -> bool:
        """Add LOW CODE (and SID $c local_id $b sid-code); False when nothing changed."""
        raise NotImplementedError

    async def remove_low(self, record_id: int, code: str, *, user: User | None = None) -> bool:
        """Remove LOW CODE with that library's SID and local references; False if absent."""
        raise NotImplementedError

    async def load(self, records: Iterable[pymarc.Record]) -> LoadReport:
        """Bulk load: records with a Melinda ID keep it, others get a new one."""
        raise NotImplementedError

    async def reset(self) -> None:
        """Empty the store (ids restart; used by tests and the admin API)."""
        raise NotImplementedError

    # --- libraries and users -------------------------------------------------------
    async def authenticate(self, user_name: str, password: str) -> User:
        """Raises AuthenticationError; user names match case-insensitively."""
        raise NotImplementedError

    async def add_library(
        self,
        code: str,
        *,
        password: str | None = None,
        name: str = "",
        sid_code: str | None = None,
        lows: Sequence[str] = (),
        ssh_keys: Sequence[str] = (),
        level: int = 30,
        privileged: bool = False,
    ) -> Library:
        raise NotImplementedError

    async def remove_library(self, code: str) -> None:
        raise NotImplementedError

    async def library(self, code: str) -> Library:
        raise NotImplementedError

    async def libraries(self) -> list[Library]:
        raise NotImplementedError

    def export(self, view: View = View.FIN01) -> AsyncIterator[StoredRecord]:
        """Every record by id, streamed in batches."""
        raise NotImplementedError
