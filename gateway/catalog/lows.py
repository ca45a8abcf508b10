"""LOWs and publishing: add and remove a LOW, and apply a library's LOW-publishing file."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from gateway import indexing, records, rules
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import next_version, old_entry, prepare_write
from gateway.catalog.types import PUBLISH_SLICE, SYSTEM_USER, PublishResult
from gateway.errors import OwnAuthorizationError
from gateway.loading import iso2709_or_none
from gateway.model import User
from gateway.records import splice
from gateway.records.oai_forms import after_low_added
from gateway.store import (
    RecordRow,
    RecordWrite,
    SplicedWrite,
    WriteTxn,
)


async def _save_in_runs(
    txn: WriteTxn,
    writes: Sequence[RecordWrite | SplicedWrite],
    olds: dict[int, indexing.IndexEntry],
) -> None:
    """Save in runs of one kind, in order: the change sequence is the full path's."""
    full_run: list[RecordWrite] = []
    spliced_run: list[SplicedWrite] = []
    for write in writes:
        if isinstance(write, SplicedWrite):
            if full_run:
                await txn.save(full_run, olds)
                full_run = []
            spliced_run.append(write)
        else:
            if spliced_run:
                await txn.save_spliced(spliced_run)
                spliced_run = []
            full_run.append(write)
    if full_run:
        await txn.save(full_run, olds)
    if spliced_run:
        await txn.save_spliced(spliced_run)


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


class LowsAndPublishing(CatalogCore):
    """LOWs one at a time and a library's whole publishing file (SFTP), with its SIDs."""

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
        async with self.store.transaction() as txn:
            if file_key is not None:
                earlier = await txn.publishing_result(user.library, file_key)
                if earlier is not None:  # applied before a crash or a re-send: report it again
                    return PublishResult(**{**json.loads(earlier), "replayed": True})
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
            # In slices: memory stays bounded however large the file (one transaction still).
            # Pipelined over two threads: while one slice is edited (Python), the writer's
            # thread writes the slice before it and reads the slice after it (SQLite, which
            # leaves the GIL), so both cores work.
            parts = _slices(changes)
            # with the stored ISO 2709 forms: a splice edits them too (Present needs them)
            upcoming = await txn.existing_rows(_ids_of(parts[0]), iso2709=True) if parts else {}
            for n, part in enumerate(parts):
                rows = upcoming
                editing = asyncio.to_thread(
                    self._apply_low_changes,
                    rows,
                    part,
                    code,
                    sid_code,
                    user,
                    now,
                    result,
                    splice_additions=splice_additions,
                )
                if n + 1 < len(parts):
                    (writes, olds), upcoming = await asyncio.gather(
                        editing, txn.existing_rows(_ids_of(parts[n + 1]), iso2709=True)
                    )
                else:
                    writes, olds = await editing
                del rows
                await _save_in_runs(txn, writes, olds)
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

    def _apply_low_changes(
        self,
        rows: dict[int, RecordRow],
        changes: Sequence[tuple[int, str | None, bool]],
        code: str,
        sid_code: str,
        user: User,
        now: int,
        result: PublishResult,
        *,
        splice_additions: bool = True,
    ) -> tuple[list[RecordWrite | SplicedWrite], dict[int, indexing.IndexEntry]]:
        """The saves of the LOW changes (CPU only). An addition to a record already in the
        shape a save leaves it in is spliced into the stored bytes (`records.splice`, with
        exactly the full save's result); everything else is parsed, edited and serialised."""
        writes: list[RecordWrite | SplicedWrite] = []
        olds: dict[int, indexing.IndexEntry] = {}
        seen: set[int] = set()
        stamp = (
            splice.SaveStamp.of(user.name, user.level, datetime.fromtimestamp(now, UTC))
            if splice_additions
            else None
        )
        for rid, local_id, add in changes:
            if rid in seen:
                continue
            seen.add(rid)
            row = rows.get(rid)
            if row is None:
                result.unknown.append(rid)
                continue
            if add and stamp is not None and not row.deleted:
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
                            after_low_added(row.oai, spliced.xml, rid, code),
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
        return writes, olds

    async def low_counts(self) -> dict[str, int]:
        """Live records per LOW code (the console's holdings overview)."""
        return {code.upper(): n for code, n in await self.store.low_counts()}
