"""Record import: a harvest page's creates, merges, updates and LOW removals saved in one transaction with the run's progress."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pymarc

from gateway import records, rules
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import next_version, old_entry, prepare_write
from gateway.errors import GatewayError
from gateway.indexing import IndexEntry
from gateway.model import User
from gateway.store import RecordRow, RecordWrite

# The stored record (as the page has it so far; not to be changed in place) -> the record to
# save; raises GatewayError (a merge refusal, say) to reject just this one record.
Change = Callable[[pymarc.Record], pymarc.Record]
ImportKind = Literal["create", "merge", "update", "remove"]


@dataclass(slots=True)
class ImportOp:
    """One harvested record's part of a page: what to do, to which record."""

    identifier: str
    digest: str
    kind: ImportKind
    record_id: int | None = None  # None: create `record`
    record: pymarc.Record | None = None
    change: Change | None = None
    how: str = "created"  # what the harvested map notes: created or merged


@dataclass(slots=True)
class ImportOutcome:
    """What an op did: the record it went into, whether that record changed, or why not."""

    identifier: str
    kind: ImportKind
    record_id: int | None
    changed: bool
    error: str | None = None


@dataclass(slots=True)
class HarvestedRef:
    """A source record harvested before: the record it went into, how, and the source's digest."""

    record_id: int
    how: str
    digest: str


@dataclass(slots=True)
class _Pending:
    row: RecordRow | None
    before: pymarc.Record | None
    record: pymarc.Record
    ops: list[int] = field(default_factory=list)


def _significant_fields(before: pymarc.Record | None, after: pymarc.Record) -> list[dict[str, Any]]:
    """The significant-change log entry of a save (empty: nothing significant changed)."""

    def texts(record: pymarc.Record | None, tag: str) -> list[str]:
        return [] if record is None else [str(f) for f in record.get_fields(tag)]

    return [
        {"tag": t, "before": texts(before, t), "after": texts(after, t)}
        for t in rules.significant_changes(before, after)
    ]


class Imports(CatalogCore):
    """Harvest runs' state and the page transaction of a record import."""

    async def harvest_run(self, harvest_id: int) -> dict[str, Any] | None:
        rows = await self.store.harvest_rows(harvest_id)
        return json.loads(rows[0]) if rows else None

    async def harvest_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(row) for row in await self.store.harvest_rows(None, limit)]

    async def begin_harvest(self, run: dict[str, Any]) -> int:
        """Save a new run (its `id` is set here) and return its id."""
        async with self.store.transaction() as txn:
            run["id"] = await txn.new_harvest_id()
            txn.save_harvest(run["id"], run["library"], run["state"], json.dumps(run))
        return int(run["id"])

    async def save_harvest(self, run: dict[str, Any]) -> None:
        async with self.store.transaction() as txn:
            txn.save_harvest(run["id"], run["library"], run["state"], json.dumps(run))

    async def harvested(self, library: str, identifiers: Sequence[str]) -> dict[str, HarvestedRef]:
        found = await self.store.harvested(library, identifiers)
        return {k: HarvestedRef(*v) for k, v in found.items()}

    async def import_page(
        self,
        library: str,
        ops: Sequence[ImportOp],
        user: User,
        progress: Callable[[list[ImportOutcome]], dict[str, Any]],
    ) -> list[ImportOutcome]:
        """Apply a page's ops and save the run's progress (`progress(outcomes)`) in one transaction.

        Ops on one record apply in order to the page's copy of it; a record whose result
        equals what is stored is not saved (a repeated harvest changes nothing). The
        harvested map notes each applied OAI identifier (a removal forgets it).
        """
        outcomes: list[ImportOutcome] = []
        async with self.store.transaction() as txn:
            wanted = sorted({op.record_id for op in ops if op.record_id is not None})
            rows = await txn.existing_rows(wanted) if wanted else {}
            pending: dict[int, _Pending] = {}
            noted: list[tuple[str, int, str, str]] = []
            forgotten: list[str] = []
            now = self._now()
            for op in ops:
                if op.record_id is None:
                    assert op.record is not None
                    record_id = txn.next_id()
                    pending[record_id] = _Pending(None, None, op.record)
                    outcomes.append(ImportOutcome(op.identifier, op.kind, record_id, True))
                    noted.append((op.identifier, record_id, op.how, op.digest))
                    continue
                record_id = op.record_id
                entry = pending.get(record_id)
                if entry is None:
                    row = rows.get(record_id)
                    if row is None or row.deleted:
                        # Gone since it was read, or deleted (merged away) since harvested.
                        state = "deleted" if row is not None else "not found"
                        reason = f"record {record_id:09d} is {state}"
                        outcomes.append(
                            ImportOutcome(op.identifier, op.kind, record_id, False, reason)
                        )
                        continue
                    before = records.parse_marcxml(row.xml)
                    entry = _Pending(row, before, before)
                assert op.change is not None
                try:
                    changed = op.change(entry.record)
                except GatewayError as exc:
                    outcomes.append(
                        ImportOutcome(op.identifier, op.kind, record_id, False, str(exc))
                    )
                    continue
                differs = records.record_to_marcxml(changed) != records.record_to_marcxml(
                    entry.record
                )
                if differs:
                    entry.record = changed
                pending[record_id] = entry
                outcomes.append(ImportOutcome(op.identifier, op.kind, record_id, differs))
                if op.kind == "remove":
                    forgotten.append(op.identifier)
                else:
                    noted.append((op.identifier, record_id, op.how, op.digest))
            writes: list[RecordWrite] = []
            olds: dict[int, IndexEntry] = {}
            saved: list[tuple[int, pymarc.Record | None, pymarc.Record]] = []
            for record_id, entry in pending.items():
                if entry.before is not None and entry.record is entry.before:
                    continue  # nothing of the page changed it
                self._finish(entry.record, record_id, user, now)
                version = next_version(entry.row, now) if entry.row is not None else None
                writes.append(prepare_write(entry.record, record_id, now, version))
                if entry.row is not None and (e := old_entry(entry.row, entry.before)) is not None:
                    olds[record_id] = e
                saved.append((record_id, entry.before, entry.record))
            if writes:
                seqs = await txn.save(writes, olds)
                for seq, (record_id, before_record, after) in zip(seqs, saved, strict=True):
                    fields = _significant_fields(before_record, after)
                    if fields:
                        await txn.log_significant_change(
                            seq, record_id, now, user.name, user.library, fields
                        )
            if noted:
                txn.note_harvested(library, noted)
            if forgotten:
                txn.forget_harvested(library, forgotten)
            run = progress(outcomes)  # the run's progress, counted from what the page did
            txn.save_harvest(run["id"], library, run["state"], json.dumps(run))
        return outcomes
