"""The record store's interface: what the catalog may ask of any store.

Implementations (`gateway.store.sqlite`, `gateway.store.postgresql`) satisfy these protocols
structurally; the catalog type-hints against them only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.indexing import IndexEntry
from gateway.model import Library, ResultSet, ScanTerm, StoredRecord, View
from gateway.query import Query, SortKey
from gateway.records.oai_forms import NO_FORMS, OaiForms, Ready
from gateway.records.tails import Cuts
from gateway.store.ill import IllStore


@dataclass(frozen=True, slots=True)
class RecordRow:
    id: int
    seq: int
    datestamp: int
    version: int
    deleted: bool
    xml: bytes
    alma_xml: bytes
    iso2709: bytes | None = None  # the stored ISO 2709 form, when asked for and there is one
    oai: OaiForms = NO_FORMS  # the stored OAI-PMH forms, when asked for (with `iso2709`)


@dataclass(frozen=True, slots=True)
class RecordWrite:
    """A record to save, with what it contributes to the indexes."""

    id: int
    datestamp: int
    version: int
    deleted: bool
    xml: bytes
    alma_xml: bytes
    entry: IndexEntry | None  # None for deleted records: they leave the indexes
    iso2709: bytes | None = None  # the fin01 view as ISO 2709, when made beforehand
    oai: OaiForms = NO_FORMS  # the fin01 view's OAI-PMH forms, when made beforehand
    cuts: Cuts | None = None  # where a store keeping tails splits the forms (None: keep whole)


@dataclass(frozen=True, slots=True)
class TailRow:
    """What a LOW change reads of a record kept split (`gateway.records.tails`); `tail` None:
    the record is kept whole, and the change takes the whole row."""

    id: int
    version: int
    deleted: bool
    tail: bytes | None
    iso_tail: bytes | None
    oai_sets: str | None


@dataclass(frozen=True, slots=True)
class TailWrite:
    """A LOW change to a record kept split: its tail and 005 stamp replaced, the body kept;
    its sort keys and index terms stay, but for `added_terms` and `removed_terms`."""

    id: int
    datestamp: int
    version: int
    tail: bytes
    iso_tail: bytes | None  # None: no ISO 2709 form (made from the MARCXML when read)
    stamp: bytes  # the 005's value
    oai_sets: str | None
    added_terms: frozenset[tuple[int, str]]
    removed_terms: frozenset[tuple[int, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class SplicedWrite:
    """A record saved with its bytes edited in place (LOW publishing): whether it is deleted,
    its sort keys and its index terms stay, but for `added_terms` and `removed_terms`."""

    id: int
    datestamp: int
    version: int
    xml: bytes
    alma_xml: bytes
    added_terms: frozenset[tuple[int, str]]
    removed_terms: frozenset[tuple[int, str]] = frozenset()
    iso2709: bytes | None = None  # the fin01 view as ISO 2709 (None: ISO 2709 cannot hold it)
    oai: OaiForms = NO_FORMS  # the fin01 view's OAI-PMH forms (none: made when harvested)


class RowChangedError(Exception):
    """A record was saved since the row a write was computed from (`WriteTxn.expect_seq`)."""

    def __init__(self, record_id: int) -> None:
        super().__init__(f"record {record_id} changed since it was read")
        self.record_id = record_id


class WriteTxn(Protocol):
    """The open write transaction: every write of one catalog operation, committed together."""

    def expect_seq(self, record_id: int, seq: int) -> None:
        """Fail the transaction (RowChangedError) unless the record is still at change `seq`."""
        ...

    async def get_row(self, record_id: int) -> RecordRow | None: ...

    async def existing_rows(
        self, ids: Sequence[int], *, iso2709: bool = False
    ) -> dict[int, RecordRow]:
        """The stored rows of `ids` that exist; `iso2709`: with the stored forms a splice edits
        (ISO 2709, the OAI-PMH forms)."""
        ...

    def next_id(self) -> int: ...

    def note_id(self, record_id: int) -> None: ...

    async def save(
        self,
        writes: Sequence[RecordWrite],
        old_entries: dict[int, IndexEntry],
        *,
        sorted_terms: list[tuple[int, str, int]] | None = None,
    ) -> list[int]: ...

    async def save_spliced(self, writes: Sequence[SplicedWrite]) -> list[int]: ...

    async def tail_rows(self, ids: Sequence[int]) -> dict[int, TailRow]:
        """The tails of `ids` that exist (a store without them: `Store.keeps_tails`)."""
        ...

    async def save_tails(self, writes: Sequence[TailWrite]) -> list[int]: ...

    async def log_significant_change(
        self,
        seq: int,
        record_id: int,
        at: int,
        user: str,
        library: str,
        fields: list[dict[str, Any]],
    ) -> None: ...

    async def publishing_result(self, library: str, file_key: str) -> str | None: ...

    async def record_publishing(
        self, library: str, file_key: str, at: int, result: str
    ) -> None: ...

    async def new_harvest_id(self) -> int: ...

    def save_harvest(self, harvest_id: int, library: str, state: str, run: str) -> None: ...

    def note_harvested(self, library: str, rows: Sequence[tuple[str, int, str, str]]) -> None: ...

    def forget_harvested(self, library: str, local_ids: Sequence[str]) -> None: ...

    def note_relink(self, authority_id: int, seq: int) -> None:
        """The linking job of authority `authority_id` is due (its save at change sequence
        `seq`): it commits with the authority's save, so a crash before the job ends leaves it
        to be run again."""
        ...


class Store(Protocol):
    """Records with a change sequence, an inverted index, libraries, logs; one writer at a time.

    A store holds bases (`fin01` bibliographic, `fin11` Asteri's authorities) that share its
    libraries and its one writer; `base(name)` is the store of another base."""

    @property
    def base_name(self) -> str: ...

    @property
    def keeps_tails(self) -> bool:
        """Whether records are kept as body and tail, so a LOW change rewrites only the tail
        (`WriteTxn.tail_rows`, `save_tails`)."""
        ...

    def base(self, name: str) -> Store:
        """The store of another base of the same file (`fin11`, Asteri's authorities): its own
        records, index, ids and change sequence, one writer with this one. KeyError if none."""
        ...

    @property
    def ill(self) -> IllStore:
        """The interlibrary-loan requests and messages."""
        ...

    @property
    def high_id(self) -> int: ...

    @property
    def latest_datestamp(self) -> int: ...

    async def close(self) -> None: ...

    async def checkpointed(self) -> None:
        """Wait for the work a large transaction left to run after its commit (SQLite's
        checkpoint of it); what it committed is readable before."""
        ...

    def change_mark(self) -> object | None:
        """The store's state now, read without waiting: two equal marks mean nothing was
        committed in between by any process; None when the store cannot tell so cheaply."""
        ...

    async def refresh(self) -> int:
        """The store's generation: it rises when another process has committed to the store
        since the last look (what a caller cached from it may be stale)."""
        ...

    def transaction(self, *, optimistic: bool = False) -> AbstractAsyncContextManager[WriteTxn]:
        """One write transaction. `optimistic`: the body only queues writes after
        `expect_seq` and gives no ids, so a store may begin at the commit and then also
        raise RowChangedError when another process saved meanwhile (a store may ignore it)."""
        ...

    async def get_row(self, record_id: int) -> RecordRow | None: ...

    async def fetch(
        self, ids: Sequence[int], view: View, *, iso2709: bool = False
    ) -> list[StoredRecord]:
        """`iso2709`: also the stored ISO 2709 form of fin01 records, where there is one."""
        ...

    async def search(self, query: Query, *, sort: Sequence[SortKey], cap: int) -> ResultSet: ...

    async def search_page(
        self,
        query: Query,
        *,
        sort: Sequence[SortKey],
        cap: int,
        start: int,
        count: int,
        view: View,
        iso2709: bool = False,
        whole_within: int = 0,
    ) -> tuple[ResultSet, list[StoredRecord]]:
        """`search` and the records of a page of it (all of them when it found at most
        `whole_within`), in one read; `iso2709` as in `fetch`."""
        ...

    async def scan(
        self, ixs: Sequence[int], start: str, *, before: int, after: int
    ) -> list[ScanTerm]: ...

    async def counts(self) -> tuple[int, int]: ...

    async def earliest_datestamp(self) -> int | None: ...

    async def seq_floor(self, since: int | None) -> int: ...

    async def changes(
        self,
        *,
        after_seq: int,
        since: int | None,
        until: int | None,
        set_term: tuple[int, str] | None,
        limit: int,
        view: View,
        ready: Ready | None = None,
    ) -> list[StoredRecord]:
        """Records changed after `after_seq`, by seq; `ready` (fin01 view): with their stored
        OAI-PMH forms, and their MARCXML only when they have not those forms."""
        ...

    async def count_changes(
        self,
        *,
        after_seq: int,
        since: int | None,
        until: int | None,
        set_term: tuple[int, str] | None,
    ) -> int: ...

    async def set_terms(self) -> tuple[list[str], list[str]]: ...

    async def term_pairs(self, ix: int, terms: set[str]) -> set[tuple[str, int]]: ...

    async def existing_ids(self, ids: Sequence[int]) -> set[int]: ...

    async def ids_with_term(self, ix: int, term: str) -> list[int]: ...

    async def index_pairs(self, ix: int) -> list[tuple[str, int]]: ...

    def export(self, view: View, batch: int = 1000) -> AsyncIterator[StoredRecord]: ...

    async def significant_changes(
        self, *, after_seq: int, limit: int, record_id: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def library_row(self, code: str) -> tuple[Library, str] | None: ...

    async def library_rows(self) -> list[tuple[Library, str]]:
        """Every library with its password hash, by code, in one read."""
        ...

    async def library_codes(self) -> list[str]: ...

    async def save_library(self, library: Library, password_hash: str | None) -> None: ...

    async def delete_library(self, code: str) -> bool: ...

    async def harvest_rows(self, harvest_id: int | None = None, limit: int = 100) -> list[str]: ...

    async def harvested(
        self, library: str, local_ids: Sequence[str]
    ) -> dict[str, tuple[int, str, str]]: ...

    async def low_counts(self) -> list[tuple[str, int]]: ...

    async def pending_relinks(self) -> list[tuple[int, int]]:
        """(authority id, change sequence) of every linking job not finished, oldest first."""
        ...

    async def relink_done(self, authority_id: int, seq: int) -> None:
        """The linking job of the authority's save at `seq` (or before) has finished."""
        ...

    async def snapshot(self, path: str) -> None: ...

    async def restore(self, path: str) -> None: ...

    async def reset(self) -> None: ...
