"""Writes: create, update (stale check, upstream conversion, protection merge) and delete."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pymarc

from gateway import indexing, records, rules
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import EntryShares, next_version, old_entry, prepare_write
from gateway.catalog.types import SYSTEM_USER
from gateway.errors import (
    InvalidRecordError,
    LowsRemainError,
    OwnAuthorizationError,
    Problem,
    RecordNotFoundError,
    WarningsNotAcceptedError,
)
from gateway.model import User, WriteResult
from gateway.store import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    WriteTxn,
)

# A merge's field work: (kept as stored, other as stored or None) -> (kept, other to delete or None)
MergeCombiner = Callable[
    [pymarc.Record, pymarc.Record | None], tuple[pymarc.Record, pymarc.Record | None]
]


@dataclass(slots=True)
class _PreparedUpdate:
    """An update computed and ready to save (`Catalog._prepare_update`)."""

    write: RecordWrite
    olds: dict[int, indexing.IndexEntry]
    significant_fields: list[dict[str, Any]]  # the significant-change log entry, if any
    result: WriteResult

    @property
    def now(self) -> int:
        return self.write.datestamp


def _field_texts(record: pymarc.Record | None, tag: str) -> list[str]:
    return [] if record is None else [str(f) for f in record.get_fields(tag)]


def _significance(
    before: pymarc.Record | None, after: pymarc.Record
) -> tuple[list[str], list[dict[str, Any]]]:
    """The significant tags a save touched (1XX/240/245/7XX/8XX/080/084) and their log entry."""
    significant = rules.significant_changes(before, after)
    fields = [
        {"tag": t, "before": _field_texts(before, t), "after": _field_texts(after, t)}
        for t in significant
    ]
    return significant, fields


async def _log_significance(
    txn: WriteTxn,
    seq: int,
    record_id: int,
    now: int,
    user: User,
    before: pymarc.Record | None,
    after: pymarc.Record,
) -> list[str]:
    """Note a save that touched a significant field: the feed catalogers hear of."""
    significant, fields = _significance(before, after)
    if significant:
        await txn.log_significant_change(seq, record_id, now, user.name, user.library, fields)
    return significant


class Writes(CatalogCore):
    """Create, update and delete: validation, conversion, stale check, protection merge, CAT."""

    # --- writing -------------------------------------------------------------------
    def _checked(
        self, record: pymarc.Record, *, is_new: bool, check_only: bool, accept_warnings: bool
    ) -> list[Problem]:
        problems = rules.validate(record, is_new=is_new)
        errors = [p for p in problems if p.is_error]
        if errors:
            raise InvalidRecordError(problems)
        if problems and (check_only or not accept_warnings):
            raise WarningsNotAcceptedError(problems)
        return problems

    @staticmethod
    def _authorise_lows(before: Sequence[str], after: Sequence[str], user: User) -> None:
        for code in sorted(set(after) - set(before)):
            if not user.owns_low(code):
                raise OwnAuthorizationError(code, user.library, "add")
        for code in sorted(set(before) - set(after)):
            if not user.owns_low(code):
                raise OwnAuthorizationError(code, user.library, "remove")

    async def create(
        self,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """Convert from Alma form if needed, validate, assign a new id, append CAT, save.

        `check_only` is Aleph's UPDATE-CHK: the record is saved only when it has no problem at all.
        """
        user = user or SYSTEM_USER
        if rules.is_alma_form(record):
            record = rules.from_alma(record)
        problems = self._checked(
            record, is_new=True, check_only=check_only, accept_warnings=accept_warnings
        )
        self._authorise_lows([], records.lows(record), user)
        dates = await self.dates_for(record)
        async with self.store.transaction() as txn:
            record_id = txn.next_id()
            now = self._now()
            self._finish(record, record_id, user, now)
            write = prepare_write(record, record_id, now, dates=dates)
            (seq,) = await txn.save([write], {})
            significant = await _log_significance(txn, seq, record_id, now, user, None, record)
        return WriteResult(record_id, True, list(problems), significant)

    async def update(
        self,
        record_id: int,
        record: pymarc.Record,
        *,
        user: User | None = None,
        check_only: bool = False,
        accept_warnings: bool = True,
    ) -> WriteResult:
        """stale check -> convert upstream -> validate -> protection merge -> own-LOW -> save + CAT."""
        user = user or SYSTEM_USER
        row = await self.store.get_row(record_id)
        if row is not None:
            # The CPU work runs before the write lock, on the row as last committed; the save
            # lands only if that row is still the stored one, else it is redone under the lock.
            prepared = await self._prepare_update(
                row, record, user, check_only=check_only, accept_warnings=accept_warnings
            )
            try:
                # one hop to the writer's thread: BEGIN, the seq check, the writes, COMMIT
                async with self.store.transaction(optimistic=True) as txn:
                    if prepared.now < self.store.latest_datestamp:
                        raise RowChangedError(record_id)  # datestamps never fall along seq
                    txn.expect_seq(record_id, row.seq)
                    await self._save_update(txn, prepared, user)
                return prepared.result
            except RowChangedError:
                pass
        async with self.store.transaction() as txn:
            row = await txn.get_row(record_id)
            if row is None:
                raise RecordNotFoundError(record_id)
            prepared = await self._prepare_update(
                row, record, user, check_only=check_only, accept_warnings=accept_warnings
            )
            await self._save_update(txn, prepared, user)
        return prepared.result

    async def _prepare_update(
        self,
        row: RecordRow,
        record: pymarc.Record,
        user: User,
        *,
        check_only: bool,
        accept_warnings: bool,
    ) -> _PreparedUpdate:
        """Everything an update of `row` computes before saving; raises the refusals.

        No suspension after the datestamp is taken: updates queue for the write lock in
        datestamp order. `record` is left as it is (a refused save is prepared again).
        """
        record_id = row.id
        current = records.parse_marcxml(row.xml)
        rules.check_staleness(record, current, record_id=record_id, current_updated=row.version)
        alma_form = rules.is_alma_form(record)
        looked_up: set[int] = set()  # Asteri ids whose dates were read (those with dates in `stored_dates`)
        stored_dates: dict[int, str] = {}
        if alma_form:
            # the Asteri dates the view added to the stored record's headings come off again
            looked_up = rules.asteri.linked_ids(current)
            stored_dates = await self.linked_dates(looked_up)
            record = rules.from_alma(
                record, originals=rules.asteri.enrichments(current, stored_dates)
            )
        problems = self._checked(
            record, is_new=False, check_only=check_only, accept_warnings=accept_warnings
        )
        library = await self._library_or_none(user.library)
        sid_code = library.sid_code if library else user.library.lower()
        # Alma never sends LOWs: its records keep every LOW (its own too) by omission.
        merged = rules.protection_merge(
            current,
            record,
            library=user.library,
            owned_lows=user.lows,
            sid_code=sid_code,
            keep_lows=alma_form,
            privileged=user.privileged,
        )
        before_lows, after_lows = records.lows(current), records.lows(merged)
        self._authorise_lows(before_lows, after_lows, user)
        for code in sorted(set(before_lows) - set(after_lows)):
            merged = rules.withdraw_title(merged, code, sid_code=await self._sid_code_of_low(code))
        linked = rules.asteri.linked_ids(merged)
        if linked <= looked_up:  # an edit seldom adds a link: the dates were read just now
            dates = {i: stored_dates[i] for i in linked if i in stored_dates}
        else:
            dates = await self.linked_dates(linked)
        now = self._now()
        self._finish(merged, record_id, user, now)
        shares = EntryShares()  # the stored record's fields mostly come back unchanged
        old = None if row.deleted else shares.entry(current, record_id)
        entry = None if records.is_deleted(merged) else shares.entry(merged, record_id)
        write = prepare_write(
            merged, record_id, now, next_version(row, now), dates=dates, entry=entry
        )
        significant, fields = _significance(current, merged)
        return _PreparedUpdate(
            write=write,
            olds={record_id: old} if old else {},
            significant_fields=fields,
            result=WriteResult(record_id, False, list(problems), significant),
        )

    @staticmethod
    async def _save_update(txn: WriteTxn, prepared: _PreparedUpdate, user: User) -> None:
        write = prepared.write
        (seq,) = await txn.save([write], prepared.olds)
        if prepared.significant_fields:
            await txn.log_significant_change(
                seq, write.id, write.datestamp, user.name, user.library, prepared.significant_fields
            )

    async def delete(self, record_id: int, *, user: User | None = None) -> WriteResult:
        """STA DELETED + Leader/05 `d`; refused (LowsRemainError) while any LOW remains."""
        user = user or SYSTEM_USER
        async with self.store.transaction() as txn:
            row = await txn.get_row(record_id)
            if row is None:
                raise RecordNotFoundError(record_id)
            current = records.parse_marcxml(row.xml)
            remaining = records.lows(current)
            if remaining:
                raise LowsRemainError(record_id, remaining)
            if row.deleted:
                return WriteResult(record_id, False, [], [], changed=False)
            old = old_entry(row, current)  # before the record changes under it
            now = self._now()
            records.mark_deleted(current)
            self._finish(current, record_id, user, now)
            write = prepare_write(current, record_id, now, next_version(row, now))
            await txn.save([write], {record_id: old} if old else {})
        return WriteResult(record_id, False, [], [])

    async def save_merge(
        self,
        kept_id: int,
        other_id: int | None,
        combine: MergeCombiner,
        *,
        user: User,
    ) -> WriteResult:
        """Save a merge in one transaction: the kept record as `combine(kept, other)` makes
        it and the other one deleted (STA DELETED, Leader/05 `d`), each with this save's CAT.
        Both enter the change sequence and the significant-change feed names the merge.

        `combine` gets both records as stored (other None: an incoming record is merged into
        the kept one) and returns the kept record and what is left of the other; it raises to
        refuse, and then nothing is saved.
        """
        async with self.store.transaction() as txn:
            wanted = [kept_id] if other_id is None else [kept_id, other_id]
            rows = await txn.existing_rows(wanted)
            for rid in wanted:
                if rid not in rows:
                    raise RecordNotFoundError(rid)
            kept_row = rows[kept_id]
            before = records.parse_marcxml(kept_row.xml)
            other_row = rows.get(other_id) if other_id is not None else None
            other = records.parse_marcxml(other_row.xml) if other_row is not None else None
            merged, left = combine(copy.deepcopy(before), other)
            dates = await self.dates_for(merged)  # the kept record's fin01alma Asteri dates
            now = self._now()
            self._finish(merged, kept_id, user, now)
            writes = [prepare_write(merged, kept_id, now, next_version(kept_row, now), dates=dates)]
            olds = {kept_id: e} if (e := old_entry(kept_row, before)) else {}
            if other_row is not None and left is not None:
                records.mark_deleted(left)
                self._finish(left, other_row.id, user, now)
                writes.append(prepare_write(left, other_row.id, now, next_version(other_row, now)))
                if (e := old_entry(other_row, other)) is not None:
                    olds[other_row.id] = e
            seqs = await txn.save(writes, olds)
            significant, fields = _significance(before, merged)
            if other_row is not None:
                note = {
                    "tag": "MERGE",
                    "before": [f"{other_row.id:09d}"],
                    "after": [f"{kept_id:09d}"],
                }
                fields.append(note)
                await txn.log_significant_change(
                    seqs[1], other_row.id, now, user.name, user.library, [note]
                )
            if fields:
                await txn.log_significant_change(
                    seqs[0], kept_id, now, user.name, user.library, fields
                )
        return WriteResult(kept_id, False, [], significant)
