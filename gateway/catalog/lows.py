"""LOWs and publishing: add and remove a LOW, and apply a library's LOW-publishing file."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from gateway import indexing, records, rules
from gateway.catalog import editing
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import next_version, old_entry, prepare_write
from gateway.catalog.types import PUBLISH_SLICE, SYSTEM_USER, PublishResult
from gateway.errors import OwnAuthorizationError
from gateway.loading import iso2709_or_none
from gateway.model import User
from gateway.records import splice, tails
from gateway.records.oai_forms import NO_FORMS, after_low_added
from gateway.store import (
    RecordRow,
    RecordWrite,
    SplicedWrite,
    TailRow,
    TailWrite,
    WriteTxn,
)


async def _save_in_runs(
    txn: WriteTxn,
    writes: Sequence[RecordWrite | SplicedWrite | TailWrite],
    olds: dict[int, indexing.IndexEntry],
) -> None:
    """Save in runs of one kind, in order: the change sequence is the full path's."""
    run: list[Any] = []
    for write in writes:
        if run and type(run[0]) is not type(write):
            await _save_run(txn, run, olds)
            run = []
        run.append(write)
    if run:
        await _save_run(txn, run, olds)


async def _save_run(txn: WriteTxn, run: list[Any], olds: dict[int, indexing.IndexEntry]) -> None:
    if isinstance(run[0], SplicedWrite):
        await txn.save_spliced(run)
    elif isinstance(run[0], TailWrite):
        await txn.save_tails(run)
    else:
        await txn.save(run, olds)


# Slices read ahead of the one being saved, their tails edited meanwhile: with two the helper
# process always has the next slice waiting (in-process, 100,000 additions: 1-5 % less time
# than with one in four alternating pairs; slices are disjoint, so reading ahead is safe).
READ_AHEAD = 2


def _slices(
    changes: Sequence[tuple[int, str | None, bool]],
) -> list[list[tuple[int, str | None, bool]]]:
    """The changes in slices of PUBLISH_SLICE, each record once (its first change): a slice
    is read before the one ahead of it is written, so no record may be in two."""
    seen: set[int] = set()
    unique = []
    for change in changes:
        if change[0] not in seen:
            seen.add(change[0])
            unique.append(change)
    return [unique[at : at + PUBLISH_SLICE] for at in range(0, len(unique), PUBLISH_SLICE)]


def _ids_of(part: Sequence[tuple[int, str | None, bool]]) -> list[int]:
    return list(dict.fromkeys(rid for rid, _, _ in part))


_Write = RecordWrite | SplicedWrite | TailWrite


async def _slice_rows(
    txn: WriteTxn, part: Sequence[tuple[int, str | None, bool]], use_tails: bool
) -> tuple[dict[int, TailRow], dict[int, RecordRow]]:
    """What a slice's changes read: the tails of the additions to records kept split, the
    whole rows (with the stored forms a splice edits) of the others."""
    ids = _ids_of(part)
    if not use_tails:
        return {}, await txn.existing_rows(ids, iso2709=True)
    tail_rows = await txn.tail_rows(ids)
    added = {rid for rid, _, add in part if add}
    whole = [
        rid
        for rid in ids
        if rid not in added or (row := tail_rows.get(rid)) is None or row.tail is None
    ]
    return tail_rows, (await txn.existing_rows(whole, iso2709=True) if whole else {})


async def _declined(
    txn: WriteTxn,
    part: Sequence[tuple[int, str | None, bool]],
    declined: list[int],
    writes: list[_Write],
    olds: dict[int, indexing.IndexEntry],
    result: PublishResult,
    edit: Callable[..., tuple[list[_Write], dict[int, indexing.IndexEntry], list[int]]],
) -> list[_Write]:
    """The saves of a slice's records the tail splice declined, made from their whole rows,
    with the others' in the slice's order (their change sequence is the full path's)."""
    order = {rid: n for n, (rid, _, _) in enumerate(part)}
    wanted = set(declined)
    rows = await txn.existing_rows(declined, iso2709=True)
    more = PublishResult()
    more_writes, more_olds, _ = await asyncio.to_thread(
        edit, rows, result=more, tail_edits={}, part=[c for c in part if c[0] in wanted]
    )
    olds.update(more_olds)
    for name in ("added", "removed", "unchanged", "unknown"):
        mine: list[int] = getattr(result, name)
        extra: list[int] = getattr(more, name)
        if extra:  # the slice's own are the list's last: all of them in the slice's order
            count = 0
            while count < len(mine) and mine[-1 - count] in order:
                count += 1
            ours = [*mine[len(mine) - count :], *extra]
            del mine[len(mine) - count :]
            mine.extend(sorted(ours, key=order.__getitem__))
    return sorted([*writes, *more_writes], key=lambda write: order[write.id])


class LowsAndPublishing(CatalogCore):
    """LOWs one at a time and a library's whole publishing file (SFTP), with its SIDs."""

    # Whether a publication of more than one slice edits its tails in a helper process
    # (`catalog.editing`): None when there is a core to spare, True always (every slice
    # there, its start awaited), False never. The last publication's editor.
    editing_process: bool | None = None
    last_editor: editing.TailEditor | None = None

    async def add_low(
        self, record_id: int, code: str, *, user: User | None = None, local_id: str | None = None
    ) -> bool:
        """Add LOW CODE (and SID $c local_id $b sid-code); False when nothing changed."""
        result = await self._change_lows(code, [(record_id, local_id)], [], user=user)
        return bool(result.added)

    async def remove_low(self, record_id: int, code: str, *, user: User | None = None) -> bool:
        """Remove LOW CODE with that library's SID and local references; False if absent."""
        result = await self._change_lows(code, [], [record_id], user=user)
        return bool(result.removed)

    async def publish_lows(
        self,
        library_code: str,
        present: Sequence[tuple[int, str]],
        withdrawn: Sequence[int],
        *,
        full: bool,
        max_removal_ratio: float = 0.2,
        file_key: str | None = None,
    ) -> PublishResult:
        """Apply one LOW-publishing file of a library in one transaction (idempotent).

        `present`: (Melinda ID, MMS ID) pairs that must carry the library's LOW and SID;
        `withdrawn`: ids that must not. A full file also withdraws every other record of the
        library, unless that would remove more than `max_removal_ratio` of its LOWs: then
        nothing is applied and the result is held. With `file_key`, a file applied before
        (say, just before a crash) is not applied again: its stored result comes back.
        """
        library = await self.library(library_code)
        low = library.code if library.code in library.lows or not library.lows else library.lows[0]
        user = User(
            name=f"{library.code}-PUBLISH",
            library=library.code,
            level=library.level,
            lows=frozenset(library.lows),
        )
        return await self._change_lows(
            low,
            present,
            withdrawn,
            user=user,
            full=full,
            max_removal_ratio=max_removal_ratio,
            sid_code=library.sid_code,
            file_key=file_key,
        )

    async def _change_lows(
        self,
        code: str,
        present: Sequence[tuple[int, str | None]],
        withdrawn: Sequence[int],
        *,
        user: User | None,
        full: bool = False,
        max_removal_ratio: float = 1.0,
        sid_code: str | None = None,
        file_key: str | None = None,
        splice_additions: bool = True,
    ) -> PublishResult:
        """Add the LOW to `present` and take it from `withdrawn` (see `publish_lows`).

        `splice_additions=False` makes every change take the full parse-and-save path (the
        splice's tests compare the two).
        """
        user = user or SYSTEM_USER
        code = code.upper()
        if not user.owns_low(code):
            raise OwnAuthorizationError(code, user.library, "change")
        sid_code = sid_code or await self._sid_code_of_low(code)
        result = PublishResult()
        use_tails = splice_additions and self.store.keeps_tails
        wanted = self.editing_process
        may_help = use_tails and (editing.spare_core() if wanted is None else wanted)
        async with self.store.transaction() as txn, editing.tail_editor() as editor:
            self.last_editor = editor
            if file_key is not None:
                earlier = await txn.publishing_result(user.library, file_key)
                if earlier is not None:  # applied before a crash or a re-send: report it again
                    return PublishResult(**{**json.loads(earlier), "replayed": True})
            if may_help and len(present) + len(withdrawn) > PUBLISH_SLICE:
                # a file of many slices: the helper starts while the index is looked up
                await editor.start_helper(wait=wanted is True)
            # The index answers "already holds it" without reading records: re-sent and daily
            # full files are mostly unchanged, and those cost one lookup, not a rewrite.
            holders = set(await self.store.ids_with_term(indexing.IX_LOW, indexing.fold(code)))
            present_ids = {rid for rid, _ in present}
            to_remove = set(withdrawn) - present_ids
            if full:
                extra = holders - present_ids
                if holders and len(extra) > max_removal_ratio * len(holders):
                    result.held = True
                    result.held_reason = (
                        f"the full file would remove {len(extra)} of {len(holders)} LOW {code} "
                        f"({100 * len(extra) / len(holders):.0f} %, more than "
                        f"{100 * max_removal_ratio:.0f} %); nothing was applied"
                    )
                    return result
                to_remove |= extra
            sid_keys = {
                rid: indexing.sourceid_key(local, sid_code) for rid, local in present if local
            }
            has_sid = await self.store.term_pairs(indexing.IX_SOURCEID, set(sid_keys.values()))
            changes: list[tuple[int, str | None, bool]] = []
            for rid, local in present:
                if rid in holders and (not local or (sid_keys[rid], rid) in has_sid):
                    result.unchanged.append(rid)
                else:
                    changes.append((rid, local, True))
            absent = sorted(to_remove - holders)
            existing = await self.store.existing_ids(absent)
            result.unchanged.extend(rid for rid in absent if rid in existing)
            result.unknown.extend(rid for rid in absent if rid not in existing)
            changes.extend((rid, None, False) for rid in sorted(to_remove & holders))
            now = self._now()
            stamp = splice.SaveStamp.at(user.name, user.level, now) if splice_additions else None
            # In slices: memory stays bounded however large the file (one transaction still).
            # Pipelined: while the tails of one slice are edited (Python: in a helper process
            # when there is a core to spare, `catalog.editing`), SQLite writes the slice before
            # it and reads the slice after it, so both cores work.
            parts = _slices(changes)
            if may_help and len(parts) > 1:  # (a full file's withdrawals, found just now)
                await editor.start_helper(wait=wanted is True)
            await self._apply_slices(
                txn, parts, use_tails, editor, code, sid_code, user, now, stamp, result
            )
            if file_key is not None:
                await txn.record_publishing(
                    user.library,
                    file_key,
                    now,
                    json.dumps(
                        {k: v for k, v in dataclasses.asdict(result).items() if k != "replayed"}
                    ),
                )
        return result

    async def _apply_slices(
        self,
        txn: WriteTxn,
        parts: list[list[tuple[int, str | None, bool]]],
        use_tails: bool,
        editor: editing.TailEditor,
        code: str,
        sid_code: str,
        user: User,
        now: int,
        stamp: splice.SaveStamp | None,
        result: PublishResult,
    ) -> None:
        """Read, edit and save the slices in order (see `_change_lows`)."""
        Read = tuple[dict[int, TailRow], dict[int, RecordRow], asyncio.Task[Any]]
        pending: list[asyncio.Task[Any]] = []

        async def read(part: Sequence[tuple[int, str | None, bool]]) -> Read:
            tail_rows, rows = await _slice_rows(txn, part, use_tails)
            edits = asyncio.ensure_future(
                editing.edit_tails(editor, tail_rows, part, code, sid_code, stamp)
            )
            pending.append(edits)
            return tail_rows, rows, edits

        ahead: collections.deque[Read] = collections.deque()
        taken = 0  # slices read so far

        async def read_ahead() -> None:
            nonlocal taken
            while taken < len(parts) and len(ahead) < READ_AHEAD:
                ahead.append(await read(parts[taken]))
                taken += 1

        try:
            await read_ahead()
            for part in parts:
                tail_rows, rows, edits = ahead.popleft()
                await read_ahead()  # their tails are edited while this slice is saved
                tail_edits = await edits
                pending.remove(edits)
                edit = functools.partial(
                    self._saves_of,
                    part=part,
                    code=code,
                    sid_code=sid_code,
                    user=user,
                    now=now,
                    stamp=stamp,
                    tail_rows=tail_rows,
                )
                writes, olds, declined = await asyncio.to_thread(
                    edit, rows, result=result, tail_edits=tail_edits
                )
                del rows, tail_rows, tail_edits
                if declined:  # the tail splice could not be sure: the whole row's way
                    writes = await _declined(txn, part, declined, writes, olds, result, edit)
                await _save_in_runs(txn, writes, olds)
        finally:
            for task in pending:  # a failed slice: the edits ahead of it are not wanted
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _apply_low_changes(
        self,
        rows: dict[int, RecordRow],
        part: Sequence[tuple[int, str | None, bool]],
        code: str,
        sid_code: str,
        user: User,
        now: int,
        result: PublishResult,
        *,
        splice_additions: bool = True,
        tail_rows: dict[int, TailRow] | None = None,
    ) -> tuple[list[_Write], dict[int, indexing.IndexEntry], list[int]]:
        """`_saves_of` one slice with its tails edited here, all in one call (CPU only)."""
        stamp = splice.SaveStamp.at(user.name, user.level, now) if splice_additions else None
        tail_rows = tail_rows or {}
        tail_edits: dict[int, tails.TailEdit | None] = {}
        if stamp is not None:
            tail_edits, ids, forms, local_ids = editing.tail_forms(tail_rows, part)
            made = tails.add_low_sid_tails(
                forms, local_ids, code=code, sid_code=sid_code, stamp=stamp
            )
            tail_edits.update(zip(ids, made, strict=True))
        return self._saves_of(
            rows,
            part,
            code,
            sid_code,
            user,
            now,
            result,
            stamp=stamp,
            tail_rows=tail_rows,
            tail_edits=tail_edits,
        )

    def _saves_of(
        self,
        rows: dict[int, RecordRow],
        part: Sequence[tuple[int, str | None, bool]],
        code: str,
        sid_code: str,
        user: User,
        now: int,
        result: PublishResult,
        *,
        stamp: splice.SaveStamp | None,
        tail_rows: dict[int, TailRow],
        tail_edits: dict[int, tails.TailEdit | None],
    ) -> tuple[list[_Write], dict[int, indexing.IndexEntry], list[int]]:
        """The saves of the LOW changes (CPU only), and the records whose tail the splice
        declined (their whole rows were not read: the caller reads them and comes back).

        An addition to a record already in the shape a save leaves it in is spliced into the
        stored bytes (`records.splice`, with exactly the full save's result): into its tail
        alone where the store keeps it split (`tail_edits`, made from `tail_rows`); everything
        else is parsed, edited and serialised. `stamp` None: every change the full way."""
        writes: list[_Write] = []
        olds: dict[int, indexing.IndexEntry] = {}
        declined: list[int] = []
        seen: set[int] = set()
        for rid, local_id, add in part:
            if rid in seen:
                continue
            seen.add(rid)
            if rid in tail_edits:
                made = tail_edits[rid]
                if made is None:
                    declined.append(rid)
                    continue
                assert stamp is not None
                tail, iso_tail, sets, added_terms, removed_terms = made
                version = tail_rows[rid].version
                result.added.append(rid)
                writes.append(
                    TailWrite(
                        rid,
                        now,
                        max(now, version + 1),  # `next_version`
                        tail,
                        iso_tail,
                        stamp.value_005,
                        sets,
                        added_terms,
                        removed_terms,
                    )
                )
                continue
            row = rows.get(rid)
            if row is None:
                result.unknown.append(rid)
                continue
            if add and stamp is not None:
                version = next_version(row, now)
                spliced = splice.add_low_sid(
                    row.xml,
                    row.alma_xml,
                    record_id=rid,
                    code=code,
                    sid_code=sid_code,
                    local_id=local_id,
                    stamp=stamp,
                    old_version=row.version,
                    new_version=version,
                    iso2709=row.iso2709,
                    deleted=row.deleted,
                )
                if spliced is not None:
                    result.added.append(rid)
                    iso = spliced.iso2709
                    writes.append(
                        SplicedWrite(
                            rid,
                            now,
                            version,
                            spliced.xml,
                            spliced.alma_xml,
                            spliced.added_terms,
                            spliced.removed_terms,
                            # no stored form to splice (or not safely): convert, as a save does
                            iso if iso is not None else iso2709_or_none(spliced.xml),
                            NO_FORMS
                            if row.deleted
                            else after_low_added(row.oai, spliced.xml, rid, code),
                        )
                    )
                    continue
            record = records.parse_marcxml(row.xml)
            if add:
                changed = records.add_low(record, code)
                if local_id and (local_id, sid_code) not in records.sids(record):
                    records.set_sid(record, sid_code, local_id)
                    changed = True
            else:
                changed = code in records.lows(record)
                if changed:
                    # the LOW goes, and with it the library's SID and local references
                    record = rules.withdraw_title(record, code, sid_code=sid_code)
            if not changed:
                result.unchanged.append(rid)
                continue
            (result.added if add else result.removed).append(rid)
            self._finish(record, rid, user, now)
            old = old_entry(row)
            if old is not None:
                olds[rid] = old
            writes.append(prepare_write(record, rid, now, next_version(row, now)))
        return writes, olds, declined

    async def low_counts(self) -> dict[str, int]:
        """Live records per LOW code (the console's holdings overview)."""
        return {code.upper(): n for code, n in await self.store.low_counts()}
