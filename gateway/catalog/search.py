"""Search and retrieval: get, fetch, search (sorted, paged), scan, counts, export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from gateway import indexing
from gateway.catalog.base import CatalogCore
from gateway.catalog.types import RESULT_SET_CAP
from gateway.errors import (
    RecordNotFoundError,
    UnknownIndexError,
)
from gateway.model import ResultSet, ScanTerm, StoredRecord, View
from gateway.query import Query, SortKey, resolve_index

SCANNABLE = {"dc.title", "dc.author", "dc.subject", "bath.isbn", "dc.publisher"}


class SearchAndRetrieval(CatalogCore):
    """Reading: one record, many, a search, a page of one, an index scan."""

    # --- reading -------------------------------------------------------------------
    async def get(self, record_id: int, view: View = View.FIN01) -> StoredRecord:
        """One record, deleted or not. Raises RecordNotFoundError."""
        found = await self.store.fetch([record_id], view)
        if not found:
            raise RecordNotFoundError(record_id)
        return found[0]

    async def fetch(
        self, ids: Sequence[int], view: View = View.FIN01, *, iso2709: bool = False
    ) -> list[StoredRecord]:
        """The records of `ids` in that order; ids that do not exist are skipped.
        `iso2709`: with their stored ISO 2709 form too, where the store has one."""
        return await self.store.fetch(ids, view, iso2709=iso2709)

    async def search(
        self, query: Query, *, sort: Sequence[SortKey] = (), cap: int = RESULT_SET_CAP
    ) -> ResultSet:
        """Live records matching `query`, ascending by id unless sorted. Raises QueryError."""
        return await self.store.search(query, sort=sort, cap=cap)

    async def search_page(
        self,
        query: Query,
        *,
        sort: Sequence[SortKey] = (),
        cap: int = RESULT_SET_CAP,
        start: int = 1,
        count: int = 10,
        view: View = View.FIN01,
        iso2709: bool = False,
        whole_within: int = 0,
    ) -> tuple[ResultSet, list[StoredRecord]]:
        """`search` and the records at positions start..start+count-1 (1-based) of its ids,
        or all of them when it found at most `whole_within`, read together (records deleted
        in between are skipped, as `fetch` does); `iso2709` as in `fetch`."""
        return await self.store.search_page(
            query,
            sort=sort,
            cap=cap,
            start=start,
            count=count,
            view=view,
            iso2709=iso2709,
            whole_within=whole_within,
        )

    def change_mark(self) -> object | None:
        """The store's state now, without waiting: equal marks mean no commit in between
        (by any process); None when the store cannot tell so cheaply."""
        return self.store.change_mark()

    async def scan(
        self, index: str, start: str, *, count: int = 20, position: int = 1
    ) -> list[ScanTerm]:
        """Index terms around `start`: `position - 1` terms before it, the rest from it on.

        Word indexes scan their headings (as Aleph's browse lists do); keys scan the keys.
        """
        found = resolve_index(index)
        if found is None or found.name not in SCANNABLE:
            raise UnknownIndexError(index)
        word_ix, heading_ix = indexing.INDEX_NUMBERS[found.name]
        if found.name == "bath.isbn":
            normalised = indexing.isbn_query_key(start)
        else:
            normalised = indexing.heading(start)
        before = max(0, min(position - 1, count))
        return await self.store.scan(
            [heading_ix or word_ix], normalised, before=before, after=max(count - before, 0)
        )

    async def record_counts(self) -> tuple[int, int]:
        """(live, deleted) record counts."""
        return await self.store.counts()

    async def earliest_datestamp(self) -> int | None:
        return await self.store.earliest_datestamp()

    def export(self, view: View = View.FIN01) -> AsyncIterator[StoredRecord]:
        """Every record by id, streamed in batches."""
        return self.store.export(view)
