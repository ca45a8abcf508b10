"""Bulk loads and snapshots: load batches, reset, snapshot and restore the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

import pymarc

from gateway import indexing, records
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import finish_prepared, next_version, old_entry, prepare_write
from gateway.catalog.types import LoadReport
from gateway.loading import PreparedRecord, load_id
from gateway.rules import asteri
from gateway.store import (
    RecordRow,
    RecordWrite,
    sort_terms,
)


def _prepare_load(
    items: Sequence[pymarc.Record | PreparedRecord],
    ids: Sequence[int],
    rows: dict[int, RecordRow],
    now: int,
    dates: Mapping[int, str] | None = None,
) -> tuple[list[RecordWrite], dict[int, indexing.IndexEntry], list[tuple[int, str, int]]]:
    """The writes, the replaced records' old index entries, and the index terms of new
    prepared records, as (index, term, id) in key order (their writes' entries carry just
    the sort keys: no set per record to compare). `dates`: the linked authorities' dates;
    a prepared record linked to one is prepared again with them (its fin01alma view)."""
    linked_terms = {(indexing.IX_ASTERIID, str(k)) for k in dates or {}}
    writes: list[RecordWrite] = []
    olds: dict[int, indexing.IndexEntry] = {}
    positions: dict[int, int] = {}
    new_terms: list[tuple[int, str, int]] = []
    # listed terms are only ever added: for new records, each in the batch once
    listed = not rows and len(set(ids)) == len(ids)
    for record, rid in zip(items, ids, strict=True):
        row = rows.get(rid)
        version = next_version(row, now) if row else now
        if isinstance(record, PreparedRecord) and not linked_terms.isdisjoint(record.terms):
            write = prepare_write(records.parse_marcxml(record.xml), rid, now, version, dates=dates)
        elif isinstance(record, PreparedRecord):
            if listed:
                new_terms.extend([(ix, term, rid) for ix, term in record.terms])
            write = finish_prepared(record, now, version, terms=not listed)
        else:
            write = prepare_write(record, rid, now, version, dates=dates)
        if rid in positions:  # the same id twice in one batch: the later one wins
            writes[positions[rid]] = write
            continue
        positions[rid] = len(writes)
        writes.append(write)
        if row is not None:
            old = old_entry(row)
            if old is not None:
                olds[rid] = old
    sort_terms(new_terms)
    return writes, olds, new_terms


def _linked_ids(items: Sequence[pymarc.Record | PreparedRecord]) -> set[int]:
    """The Asteri ids a batch's headings link to."""
    found: set[int] = set()
    for item in items:
        if isinstance(item, PreparedRecord):
            found.update(int(t) for ix, t in item.terms if ix == indexing.IX_ASTERIID)
        else:
            found |= asteri.linked_ids(item)
    return found


class LoadsAndSnapshots(CatalogCore):
    """Bulk loads, reset, snapshots and restores of the whole store."""

    async def load(self, batch: Iterable[pymarc.Record | PreparedRecord]) -> LoadReport:
        """Bulk load one batch in one transaction: records with a Melinda ID keep it (and
        replace a stored record of that id), others get a new one. Records are stored as
        given: no validation, no CAT, field order kept (Aleph's bulk loader does the same).
        A record may come prepared already (`loading.prepare_marcxml`, off this process).
        """
        report = LoadReport()
        items = list(batch)
        async with self.store.transaction() as txn:
            found = [r.id if isinstance(r, PreparedRecord) else load_id(r) for r in items]
            for rid in found:
                if rid is not None:
                    txn.note_id(rid)
            ids: list[int] = []
            for record, rid in zip(items, found, strict=True):
                if rid is None:
                    assert not isinstance(record, PreparedRecord)  # prepared ones have an id
                    rid = txn.next_id()
                    records.set_melinda_id(record, rid)
                ids.append(rid)
            rows = await txn.existing_rows(ids)
            dates = await self.linked_dates(_linked_ids(items))
            now = self._now()
            writes, olds, terms = await asyncio.to_thread(
                _prepare_load, items, ids, rows, now, dates
            )
            await txn.save(writes, olds, sorted_terms=terms)
        report.replaced_ids = [rid for rid in dict.fromkeys(ids) if rid in rows]
        report.updated = len(report.replaced_ids)
        report.loaded = len(items) - report.updated
        return report

    async def reset(self) -> None:
        """Empty the store (ids restart; used by tests and the admin API)."""
        await self.store.reset()

    async def snapshot(self, path: str) -> None:
        """Save the whole store (records, libraries, change log) to the file `path`."""
        await self.store.snapshot(path)

    async def restore(self, path: str) -> None:
        """Put the store back to a snapshot; ids and change sequence continue from it."""
        await self.store.restore(path)
        # the snapshot's libraries and passwords may differ from the cached ones
        self._auth_cache.clear()
        self._libraries = None

    @property
    def high_id(self) -> int:
        """The highest Melinda ID given so far; the next new record gets a higher one."""
        return self.store.high_id
