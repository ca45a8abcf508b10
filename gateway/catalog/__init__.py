"""The Melinda operations every protocol shares: search, read, write, LOWs, changes, users.

Protocols call only this; the store is the only module that speaks SQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymarc

from gateway import indexing, records, rules
from gateway.errors import (
    AuthenticationError,
    InvalidRecordError,
    LibraryNotFoundError,
    LowsRemainError,
    OwnAuthorizationError,
    Problem,
    RecordNotFoundError,
    UnknownIndexError,
    WarningsNotAcceptedError,
)
from gateway.loading import PreparedRecord, load_id, staleness_spliced
from gateway.model import Library, ResultSet, ScanTerm, StoredRecord, User, View, WriteResult
from gateway.oai_sets import MELINDA_SETS, oai_sets_of
from gateway.query import Query, resolve_index
from gateway.records import splice
from gateway.store import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    SplicedWrite,
    Store,
    WriteTxn,
    compile_query,
    sort_terms,
)

RESULT_SET_CAP = 20_000  # Aleph caps every result set here
PUBLISH_SLICE = 2_000  # records read and rewritten at a time while applying a publishing file


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
class PublishResult:
    """What one LOW-publishing file did to the library's LOWs (SFTP)."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    held: bool = False
    held_reason: str = ""
    replayed: bool = False  # the same file (by key) was applied before: its earlier result


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


@dataclass(slots=True)
class LoadReport:
    """What a bulk load did; rejected holds (position, reason)."""

    loaded: int = 0
    updated: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


SORT_COLUMNS = {"dc.title": "r.sort_title", "dc.date": "r.sort_date", "dc.author": "r.sort_author"}
SCANNABLE = {"dc.title", "dc.author", "dc.subject", "bath.isbn", "dc.publisher"}
SYSTEM_USER = User(name="GATEWAY", library="FIN01", level=30, privileged=True)

# Melinda's named OAI-PMH sets (melinda-sets.json); `low:CODE` sets come from the LOWs in use.
NAMED_SETS: tuple[SetInfo, ...] = tuple(
    SetInfo(s.spec, s.name, s.description) for s in MELINDA_SETS
)


def _oai_sets(record: pymarc.Record) -> Iterable[str]:
    return oai_sets_of(record)


def prepare_write(
    record: pymarc.Record, record_id: int, datestamp: int, version: int | None = None
) -> RecordWrite:
    """Serialise both views and the index entry of a record about to be saved (pure, CPU only).

    Each field is serialised once: the fin01alma view shares most fields with fin01.
    """
    deleted = records.is_deleted(record)
    version = datestamp if version is None else version
    texts = {id(f): records.field_to_marcxml(f) for f in record.fields}
    alma_fields = rules.fin01alma_fields(
        record, record_id=record_id, updated=version, deleted=deleted
    )
    entry = None if deleted else indexing.index_entry(record, record_id=record_id, sets=_oai_sets)
    return RecordWrite(
        id=record_id,
        datestamp=datestamp,
        version=version,
        deleted=deleted,
        xml=records.assemble_marcxml(record, [texts[id(f)] for f in record.fields]),
        alma_xml=records.assemble_marcxml(
            record, [texts.get(id(f)) or records.field_to_marcxml(f) for f in alma_fields]
        ),
        entry=entry,
    )


def finish_prepared(
    prepared: PreparedRecord, datestamp: int, version: int, *, terms: bool = True
) -> RecordWrite:
    """The write of a record prepared by `loading.prepare_marcxml`, saved at `version`;
    without `terms` its entry has just the sort keys (its terms are saved another way)."""
    p = prepared
    return RecordWrite(
        id=p.id,
        datestamp=datestamp,
        version=version,
        deleted=p.deleted,
        xml=p.xml,
        alma_xml=staleness_spliced(p.alma_head, p.id, version, p.deleted, p.alma_tail),
        entry=None
        if p.deleted
        else indexing.IndexEntry(
            set(p.terms) if terms else set(), p.sort_title, p.sort_author, p.sort_date
        ),
    )


def next_version(row: RecordRow, now: int) -> int:
    """Each save of a record gets a later 024 $d stamp than the last, even within a second:
    otherwise a copy taken between two quick saves would pass as fresh."""
    return max(now, row.version + 1)


def old_entry(row: RecordRow, parsed: pymarc.Record | None = None) -> indexing.IndexEntry | None:
    """What a stored record contributes to the indexes now (to replace on save)."""
    if row.deleted:
        return None
    record = parsed if parsed is not None else records.parse_marcxml(row.xml)
    return indexing.index_entry(record, record_id=row.id, sets=_oai_sets)


def _stamp_005(record: pymarc.Record, when: datetime) -> None:
    """Aleph rewrites 005 on every save."""
    stamp = when.strftime("%Y%m%d%H%M%S.0")
    for fld in record.get_fields("005"):
        fld.data = stamp
        return
    new = pymarc.Field(tag="005", data=stamp)
    controls = [i for i, f in enumerate(record.fields) if f.tag < "005" and f.is_control_field()]
    record.fields.insert(controls[-1] + 1 if controls else 0, new)


def _field_texts(record: pymarc.Record | None, tag: str) -> list[str]:
    return [] if record is None else [str(f) for f in record.get_fields(tag)]


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        kind, salt, _digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt)), stored)


class Catalog:
    """Melinda over one store. Construct with `await Catalog.open(path)`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last_datestamp = 0
        # verified credentials: name -> (keyed digest of the password, user); scrypt runs once
        self._auth_cache: dict[str, tuple[bytes, User]] = {}
        self._auth_key = secrets.token_bytes(32)
        # password checks under way, by (keyed digest, user name as typed)
        self._auth_checks: dict[tuple[bytes, str], asyncio.Future[User]] = {}
        self._libraries: dict[str, Library] | None = None  # read on every write: cached

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    async def open(cls, path: str) -> Catalog:
        return cls(await Store.open(path))

    async def close(self) -> None:
        await self.store.close()

    def _now(self) -> int:
        """Epoch seconds, never below the last datestamp given (harvests page on that order)."""
        # the store's own latest counts too: a restored snapshot may come from a faster clock
        now = max(int(time.time()), self._last_datestamp, self.store.latest_datestamp)
        self._last_datestamp = now
        return now

    # --- reading -------------------------------------------------------------------
    async def get(self, record_id: int, view: View = View.FIN01) -> StoredRecord:
        """One record, deleted or not. Raises RecordNotFoundError."""
        found = await self.store.fetch([record_id], view)
        if not found:
            raise RecordNotFoundError(record_id)
        return found[0]

    async def fetch(self, ids: Sequence[int], view: View = View.FIN01) -> list[StoredRecord]:
        """The records of `ids` in that order; ids that do not exist are skipped."""
        return await self.store.fetch(ids, view)

    async def search(
        self, query: Query, *, sort: Sequence[SortKey] = (), cap: int = RESULT_SET_CAP
    ) -> ResultSet:
        """Live records matching `query`, ascending by id unless sorted. Raises QueryError."""
        return await self.store.search(compile_query(query), order=_order(sort), cap=cap)

    async def search_page(
        self,
        query: Query,
        *,
        sort: Sequence[SortKey] = (),
        cap: int = RESULT_SET_CAP,
        start: int = 1,
        count: int = 10,
        view: View = View.FIN01,
    ) -> tuple[ResultSet, list[StoredRecord]]:
        """`search` and the records at positions start..start+count-1 (1-based) of its ids,
        read together (records deleted in between are skipped, as `fetch` does)."""
        return await self.store.search_page(
            compile_query(query), order=_order(sort), cap=cap, start=start, count=count, view=view
        )

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

    @staticmethod
    def _set_term(set_spec: str | None) -> tuple[int, str] | None:
        if set_spec is None:
            return None
        if set_spec.lower().startswith("low:"):
            return (indexing.IX_LOW, indexing.fold(set_spec[4:]).strip())
        return (indexing.IX_OAISET, set_spec)

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

        With a set, deleted records are left out (as Melinda's provider does): they leave
        every index, set membership included.
        """
        floor = await self.store.seq_floor(since)
        return await self.store.changes(
            after_seq=max(after_seq, floor),
            since=since,
            until=until,
            set_term=self._set_term(set_spec),
            limit=limit,
            view=view,
        )

    async def count_changes(
        self,
        *,
        after_seq: int = 0,
        since: int | None = None,
        until: int | None = None,
        set_spec: str | None = None,
    ) -> int:
        floor = await self.store.seq_floor(since)
        return await self.store.count_changes(
            after_seq=max(after_seq, floor),
            since=since,
            until=until,
            set_term=self._set_term(set_spec),
        )

    async def sets(self) -> list[SetInfo]:
        lows, _named = await self.store.set_terms()
        low_sets = [SetInfo(f"low:{code.upper()}", f"Records of {code.upper()}") for code in lows]
        return [*NAMED_SETS, *low_sets]

    async def significant_changes(
        self, *, after_seq: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The latest significant changes, newest first (the feed catalogers are notified from)."""
        return await self.store.significant_changes(after_seq=after_seq, limit=limit)

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

    def _finish(self, record: pymarc.Record, record_id: int, user: User, now: int) -> None:
        """Server-maintained fields: 001/003/035, 005, a CAT for this save, LOW last."""
        when = datetime.fromtimestamp(now, UTC)
        records.set_melinda_id(record, record_id)
        _stamp_005(record, when)
        records.append_cat(record, user.name, user.level, when)
        records.order_aleph_fields(record)

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
        async with self.store.transaction() as txn:
            record_id = txn.next_id()
            now = self._now()
            self._finish(record, record_id, user, now)
            write = prepare_write(record, record_id, now)
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
                async with self.store.transaction() as txn:
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
        if alma_form:
            record = rules.from_alma(record)
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
        now = self._now()
        self._finish(merged, record_id, user, now)
        write = prepare_write(merged, record_id, now, next_version(row, now))
        old = old_entry(row, current)
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

    async def _library_table(self) -> dict[str, Library]:
        if self._libraries is None:
            self._libraries = {lib.code: lib for lib in await self._read_libraries()}
        return self._libraries

    async def _read_libraries(self) -> list[Library]:
        found = []
        for code in await self.store.library_codes():
            row = await self.store.library_row(code)
            if row is not None:
                found.append(row[0])
        return found

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
            # In slices: memory stays bounded however large the file (one transaction still)
            for start in range(0, len(changes), PUBLISH_SLICE):
                part = changes[start : start + PUBLISH_SLICE]
                rows = await txn.existing_rows(list(dict.fromkeys(rid for rid, _, _ in part)))
                writes, olds = await asyncio.to_thread(
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
                )
                if spliced is not None:
                    result.added.append(rid)
                    writes.append(
                        SplicedWrite(
                            rid,
                            now,
                            version,
                            spliced.xml,
                            spliced.alma_xml,
                            spliced.added_terms,
                            spliced.removed_terms,
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
            now = self._now()
            writes, olds, terms = await asyncio.to_thread(_prepare_load, items, ids, rows, now)
            await txn.save(writes, olds, sorted_terms=terms)
        report.updated = sum(1 for rid in dict.fromkeys(ids) if rid in rows)
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

    async def low_counts(self) -> dict[str, int]:
        """Live records per LOW code (the dashboard's holdings overview)."""
        return {code.upper(): n for code, n in await self.store.low_counts()}

    # --- libraries and users -------------------------------------------------------
    async def authenticate(self, user_name: str, password: str) -> User:
        """Raises AuthenticationError; user names match case-insensitively."""
        name = user_name.strip().upper()
        digest = hmac.new(self._auth_key, f"{name}\0{password}".encode(), "sha256").digest()
        cached = self._auth_cache.get(name)
        if cached and hmac.compare_digest(cached[0], digest):
            return cached[1]
        # clients that log in at once share one scrypt run (50 writers: 50 x 60 ms of CPU)
        key = (digest, user_name)  # the refusal names the user as typed
        pending = self._auth_checks.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._check_login(name, user_name, password, digest))
            self._auth_checks[key] = pending
            pending.add_done_callback(lambda _: self._auth_checks.pop(key, None))
        return await asyncio.shield(pending)

    async def _check_login(self, name: str, user_name: str, password: str, digest: bytes) -> User:
        found = await self.store.library_row(name) if name else None
        if (
            found is None
            or not found[1]
            or not await asyncio.to_thread(_check_password, password, found[1])
        ):
            raise AuthenticationError(f"No such staff member exist or wrong password: {user_name}")
        library = found[0]
        user = User(name, library.code, library.level, frozenset(library.lows), library.privileged)
        self._auth_cache[name] = (digest, user)
        return user

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
        """Add (or update) a library, its staff user (user name = CODE), OWN LOWs and SSH keys."""
        code = code.strip().upper()
        if not code or not code.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"library code must be letters and digits: {code!r}")
        existing = await self.store.library_row(code)
        library = Library(
            code=code,
            name=name or (existing[0].name if existing else code),
            sid_code=(sid_code or (existing[0].sid_code if existing else code.lower())).lower(),
            lows=tuple(
                sorted(
                    {lw.strip().upper() for lw in lows}
                    or ({code} if not existing else set(existing[0].lows))
                )
            ),
            ssh_keys=tuple(k.strip() for k in ssh_keys if k.strip()),
            level=level,
            privileged=privileged,
        )
        password_hash = await asyncio.to_thread(_hash_password, password) if password else None
        await self.store.save_library(library, password_hash)
        self._auth_cache.pop(code, None)
        self._libraries = None
        return await self.library(code)

    async def remove_library(self, code: str) -> None:
        await self.library(code)
        await self.store.delete_library(code)
        self._auth_cache.pop(code.strip().upper(), None)
        self._libraries = None

    async def library(self, code: str) -> Library:
        found = await self._library_or_none(code)
        if found is None:
            raise LibraryNotFoundError(code)
        return found

    async def libraries(self) -> list[Library]:
        return sorted((await self._library_table()).values(), key=lambda lib: lib.code)

    def export(self, view: View = View.FIN01) -> AsyncIterator[StoredRecord]:
        """Every record by id, streamed in batches."""
        return self.store.export(view)


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


def _order(sort: Sequence[SortKey]) -> str | None:
    """The ORDER BY terms of sort keys (None: by id). Raises UnknownIndexError."""
    if not sort:
        return None
    parts = []
    for key in sort:
        index = resolve_index(key.index)
        column = SORT_COLUMNS.get(index.name if index else key.index)
        if column is None:
            raise UnknownIndexError(key.index)
        parts.append(f"{column} {'ASC' if key.ascending else 'DESC'}")
    return ", ".join(parts)


def _prepare_load(
    items: Sequence[pymarc.Record | PreparedRecord],
    ids: Sequence[int],
    rows: dict[int, RecordRow],
    now: int,
) -> tuple[list[RecordWrite], dict[int, indexing.IndexEntry], list[tuple[int, str, int]]]:
    """The writes, the replaced records' old index entries, and the index terms of new
    prepared records, as (index, term, id) in key order (their writes' entries carry just
    the sort keys: no set per record to compare)."""
    writes: list[RecordWrite] = []
    olds: dict[int, indexing.IndexEntry] = {}
    positions: dict[int, int] = {}
    new_terms: list[tuple[int, str, int]] = []
    # listed terms are only ever added: for new records, each in the batch once
    listed = not rows and len(set(ids)) == len(ids)
    for record, rid in zip(items, ids, strict=True):
        row = rows.get(rid)
        version = next_version(row, now) if row else now
        if isinstance(record, PreparedRecord):
            if listed:
                new_terms.extend([(ix, term, rid) for ix, term in record.terms])
            write = finish_prepared(record, now, version, terms=not listed)
        else:
            write = prepare_write(record, rid, now, version)
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
