"""Asteri, the name-authority base `fin11`: its search, change feed and writes; a heading
change is handed to the bib base's linking job (`links.py`).

The authority base is a second store of the same file (own ids, own change sequence) searched
and harvested by the same code as the bib base; `Catalog.for_view(View.FIN11)` hands it to the
protocols.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pymarc

from gateway import indexing, records, rules
from gateway.catalog.changes import ChangeFeed
from gateway.catalog.saving import (
    next_version,
    old_authority_entry,
    prepare_authority_write,
    stamp_005,
)
from gateway.catalog.search import SearchAndRetrieval
from gateway.catalog.types import SYSTEM_USER, LoadReport, SetInfo
from gateway.errors import InvalidRecordError, Problem, RecordNotFoundError
from gateway.model import User, View, WriteResult
from gateway.rules import asteri
from gateway.rules.fields import insert_in_tag_order
from gateway.store import RecordRow, RecordWrite, RowChangedError, Store

log = logging.getLogger("melinda.asteri")

ASTERI_ORG = "FI-ASTERI-N"  # 003 of Asteri's name authorities
AUTHORITY_LIBRARY = "FIN11"  # the Aleph library a CAT on an authority names
AUTHORITY_SETS: tuple[SetInfo, ...] = (
    SetInfo("personal", "Personal names", "Personal names"),
    SetInfo("corporate", "Corporate names", "Corporate names"),
    SetInfo("meetings", "Meeting names", "Meeting names"),
)


@dataclass(frozen=True, slots=True)
class HeadingChange:
    """What an authority save changed that linked bib headings must follow."""

    authority_id: int
    heading: pymarc.Field | None  # the new heading, when it changed
    dates_changed: bool


def validate_authority(record: pymarc.Record) -> list[Problem]:
    """An authority is Leader/06 `z` with exactly one established heading (1XX)."""
    problems: list[Problem] = []
    if str(record.leader)[6:7] != "z":
        problems.append(Problem("error", "an authority record has Leader/06 z", "LDR"))
    headings = [f for f in record.fields if f.tag in indexing.AUTHORITY_HEADING_TAGS]
    if len(headings) != 1:
        problems.append(
            Problem(
                "error", f"an authority has exactly one heading (1XX), not {len(headings)}", "1XX"
            )
        )
    return problems


def finish_authority(record: pymarc.Record, record_id: int, user: User, now: int) -> None:
    """The fields Aleph maintains on an authority save: 001, 003, 005 and a CAT naming FIN11."""
    when = datetime.fromtimestamp(now, UTC)
    for tag, value in (("001", f"{record_id:09d}"), ("003", ASTERI_ORG)):
        found = record.get_fields(tag)
        if found:
            found[0].data = value
        else:
            insert_in_tag_order(record.fields, pymarc.Field(tag=tag, data=value))
    stamp_005(record, when)
    records.append_cat(record, user.name, user.level, when, library=AUTHORITY_LIBRARY)


def load_authority_id(record: pymarc.Record) -> int | None:
    """The Asteri number a loaded authority carries in 001 (9 digits), else None."""
    fields = record.get_fields("001")
    data = (fields[0].data or "").strip() if fields else ""
    return int(data) if data.isdigit() and 0 < len(data) <= 9 and int(data) > 0 else None


class BibBase(Protocol):
    """What the authority base needs of the bib base's catalog (`Catalog`)."""

    def for_view(self, view: View) -> Any: ...

    async def authenticate(self, name: str, password: str) -> User: ...

    async def relink(self, change: HeadingChange) -> Any: ...


class Authorities(SearchAndRetrieval, ChangeFeed):
    """The authority base fin11: read and harvested as the bib base is; written with the same
    CAT, 005 and protection rules; a heading change relinks the bibliographic records."""

    def __init__(self, store: Store, bib: BibBase) -> None:
        super().__init__(store)
        self._bib = bib

    def for_view(self, view: View) -> Any:
        """The catalog a view reads (as `Catalog.for_view`)."""
        return self._bib.for_view(view)

    async def authenticate(self, name: str, password: str) -> User:
        return await self._bib.authenticate(name, password)

    @staticmethod
    def _set_term(set_spec: str | None) -> tuple[int, str] | None:
        return None if set_spec is None else (indexing.IX_OAISET, set_spec)

    async def sets(self) -> list[SetInfo]:
        return list(AUTHORITY_SETS)

    # --- writes --------------------------------------------------------------------------
    @staticmethod
    def _checked(record: pymarc.Record) -> None:
        problems = validate_authority(record)
        if problems:
            raise InvalidRecordError(problems)

    async def _check_see_from(self, record: pymarc.Record, record_id: int | None) -> None:
        """Refuse a save that would break a see-from chain (`asteri.see_from_breaks`)."""
        headings: dict[str, int] = {}
        see_froms: dict[str, int] = {}
        for name in asteri.see_from_headings(record):
            others = [
                i
                for i in await self.store.ids_with_term(indexing.IX_AUT_ESTABLISHED, name)
                if i != record_id
            ]
            if others:
                headings[name] = others[0]
        own = asteri.established_heading(record)
        if own:
            others = [
                i
                for i in await self.store.ids_with_term(indexing.IX_AUT_SEE_FROM, own)
                if i != record_id
            ]
            if others:
                see_froms[own] = others[0]
        problems = asteri.see_from_breaks(
            record, headings_elsewhere=headings, see_froms_elsewhere=see_froms
        )
        if problems:
            raise InvalidRecordError(
                [Problem("error", f"see-from chain would break: {p}", "4XX") for p in problems]
            )

    async def create(
        self,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """Validate, check the see-from rules, give the next Asteri number, CAT, save."""
        user = user or SYSTEM_USER
        self._checked(record)
        await self._check_see_from(record, None)
        if check_only:
            return WriteResult(0, True, [], [])
        async with self.store.transaction() as txn:
            record_id = txn.next_id()
            now = self._now()
            finish_authority(record, record_id, user, now)
            await txn.save([prepare_authority_write(record, record_id, now)], {})
        return WriteResult(record_id, True, [], [])

    async def update(
        self,
        record_id: int,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """Stale check, validation, see-from rules, protection merge, CAT; then the linked
        bibliographic headings follow a changed heading (`Links.relink`)."""
        user = user or SYSTEM_USER
        change: HeadingChange | None = None
        seq = 0
        for _attempt in range(3):
            row = await self.store.get_row(record_id)
            if row is None:
                raise RecordNotFoundError(record_id)
            current = records.parse_marcxml(row.xml)
            rules.check_staleness(record, current, record_id=record_id, current_updated=row.version)
            self._checked(record)
            await self._check_see_from(record, record_id)
            if check_only:
                return WriteResult(record_id, False, [], [])
            merged = rules.protection_merge(
                current,
                record,
                library=user.library,
                owned_lows=user.lows,
                keep_lows=True,
                privileged=user.privileged,
            )
            try:
                async with self.store.transaction() as txn:
                    txn.expect_seq(record_id, row.seq)
                    now = self._now()
                    finish_authority(merged, record_id, user, now)
                    write = prepare_authority_write(merged, record_id, now, next_version(row, now))
                    old = old_authority_entry(row)
                    (seq,) = await txn.save([write], {record_id: old} if old else {})
                    change = heading_change(record_id, current, merged)
                    if change is not None:
                        txn.note_relink(record_id, seq)  # due with the save, or neither
            except RowChangedError:
                change = None
                continue
            break
        else:
            raise RowChangedError(record_id)
        if change is not None:
            await self._relink(change, seq)
        return WriteResult(record_id, False, [], [])

    async def _relink(self, change: HeadingChange, seq: int) -> None:
        """Run the linking job of a save; it is done once every linked record follows."""
        await self._bib.relink(change)
        await self.store.relink_done(change.authority_id, seq)

    async def resume_relinks(self) -> int:
        """Finish the linking jobs a stop or crash cut short (run at start); each follows the
        authority as it is now: its heading, or no dates once it was deleted. Returns how many."""
        pending = await self.store.pending_relinks()
        for authority_id, seq in pending:
            row = await self.store.get_row(authority_id)
            if row is None:  # gone with a reset or restore: nothing links to follow
                await self.store.relink_done(authority_id, seq)
                continue
            heading = None
            if not row.deleted:
                heading = asteri.authority_heading_field(records.parse_marcxml(row.xml))
            log.info("finishing the linking job of Asteri record %09d", authority_id)
            await self._relink(HeadingChange(authority_id, heading, True), seq)
        return len(pending)

    async def delete(self, record_id: int, *, user: User | None = None) -> WriteResult:
        """Mark the authority deleted; the bib headings linking to it keep their $0 (dangling
        links are what `check-links` reports) and their fin01alma views lose its dates."""
        user = user or SYSTEM_USER
        async with self.store.transaction() as txn:
            row = await txn.get_row(record_id)
            if row is None:
                raise RecordNotFoundError(record_id)
            if row.deleted:
                return WriteResult(record_id, False, [], [], changed=False)
            current = records.parse_marcxml(row.xml)
            old = old_authority_entry(row)
            now = self._now()
            records.mark_deleted(current)
            finish_authority(current, record_id, user, now)
            write = prepare_authority_write(current, record_id, now, next_version(row, now))
            (seq,) = await txn.save([write], {record_id: old} if old else {})
            txn.note_relink(record_id, seq)
        # the linked records' fin01alma views no longer show its dates
        await self._relink(HeadingChange(record_id, None, True), seq)
        return WriteResult(record_id, False, [], [])

    async def load(self, batch: Iterable[pymarc.Record]) -> LoadReport:
        """Bulk load authorities as given (no CAT, no validation), as the bib load does: a
        record keeps the Asteri number in its 001, else gets the next one."""
        report = LoadReport()
        items = list(batch)
        async with self.store.transaction() as txn:
            ids: list[int] = []
            for record in items:
                found = load_authority_id(record)
                if found is None:
                    found = txn.next_id()
                    finish_id(record, found)
                else:
                    txn.note_id(found)
                ids.append(found)
            rows = await txn.existing_rows(ids)
            now = self._now()
            writes, olds = await asyncio.to_thread(_prepare_load, items, ids, rows, now)
            await txn.save(writes, olds)
        report.replaced_ids = [rid for rid in dict.fromkeys(ids) if rid in rows]
        report.updated = len(report.replaced_ids)
        report.loaded = len(items) - report.updated
        return report


def finish_id(record: pymarc.Record, record_id: int) -> None:
    for field in record.get_fields("001"):
        field.data = f"{record_id:09d}"
        return
    insert_in_tag_order(record.fields, pymarc.Field(tag="001", data=f"{record_id:09d}"))


def _prepare_load(
    items: Sequence[pymarc.Record], ids: Sequence[int], rows: dict[int, RecordRow], now: int
) -> tuple[list[RecordWrite], dict[int, indexing.IndexEntry]]:
    writes: dict[int, RecordWrite] = {}
    olds: dict[int, indexing.IndexEntry] = {}
    for record, rid in zip(items, ids, strict=True):
        row = rows.get(rid)
        writes[rid] = prepare_authority_write(
            record, rid, now, next_version(row, now) if row else now
        )
        if row is not None:
            old = old_authority_entry(row)
            if old is not None:
                olds[rid] = old
    return list(writes.values()), olds


def heading_change(
    record_id: int, before: pymarc.Record, after: pymarc.Record
) -> HeadingChange | None:
    """What linked headings must follow after an authority went from `before` to `after`."""
    old, new = asteri.authority_heading_field(before), asteri.authority_heading_field(after)
    old_key = (
        None
        if old is None
        else [(sf.code, sf.value) for sf in old.subfields if sf.code in asteri.NAME_CODES]
    )
    new_key = (
        None
        if new is None
        else [(sf.code, sf.value) for sf in new.subfields if sf.code in asteri.NAME_CODES]
    )
    dates_changed = asteri.authority_dates(before) != asteri.authority_dates(after)
    heading = new if new is not None and new_key != old_key else None
    if heading is None and not dates_changed:
        return None
    return HeadingChange(record_id, heading, dates_changed)
