"""The SQLite record store (`gateway.store.Store`): aiosqlite in WAL mode, the only module that speaks SQL.

One connection writes (behind a lock, every write one transaction); another reads, so
searches and harvests run beside a write without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import re
import shutil
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any, Final, TypeVar, cast

import aiosqlite

from gateway.indexing import IX_LOW, IX_OAISET, IndexEntry
from gateway.model import Library, ResultSet, ScanTerm, StoredRecord, View
from gateway.query import Query, SortKey, names_few
from gateway.records import tails
from gateway.records.oai_forms import OaiForms, Ready
from gateway.store.copying import BOOL, RECORD_COLUMNS, TableSpec
from gateway.store.interface import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    SplicedWrite,
    TailRow,
    TailWrite,
)
from gateway.store.rows import (
    LIBRARY_COLUMNS,
    libraries_with_hashes,
    library_with_hash,
    page_of,
    significant_change,
)
from gateway.store.sqlite.compile import EQ_SQL, SqlPart, compile_query, order_by
from gateway.store.sqlite.ill import SqliteIllRows
from gateway.store.sqlite.quick import LoopReader
from gateway.store.sqlite.schema import MIGRATIONS

_T = TypeVar("_T")

READERS = 3  # read connections: searches and harvests run beside each other and beside a write
QUICK_IDS: Final = 10  # a read of at most this many records may be quick (quick.py)

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",  # WAL + NORMAL: a crash loses no committed transaction's integrity
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
    # Memory stays bounded whatever the store's size: RSS counts mapped file pages too, and
    # there are four connections (measured: 64 MiB mmap each put a harvesting server of a
    # 20 k store at 237 MiB, 106 of them file pages; without mmap 131 MiB at the same CPU:
    # the OS page cache serves the reads as fast).
    "PRAGMA cache_size = -16384",
    "PRAGMA mmap_size = 0",
    "PRAGMA busy_timeout = 10000",
    # A commit that fills the log past this many pages copies it into the database file: the
    # index's hot pages, rewritten by every save, are copied once per checkpoint, so a longer
    # log copies fewer (under 50 X-server writers: commit CPU 0.2 -> 0.12 ms, fewer stalls).
    "PRAGMA wal_autocheckpoint = 10000",
)
# A transaction rewriting at least this many rows (a publishing file) commits without
# SQLite's automatic checkpoint: copying its write-ahead log into the database file (seconds
# for 100,000 records, mostly waiting for the disk) runs afterwards on a connection of its own.
LARGE_TRANSACTION_ROWS = 10_000


def _column(view: View) -> str:
    return "alma_xml" if view is View.FIN01ALMA else "xml"


def _changes_columns(view: View, ready: Ready | None) -> str:
    """A change-feed read's columns: the record's MARCXML only where the stored OAI-PMH forms
    asked for are missing (they are the fin01 view's: other views make them when sent); then
    the tail, the stamp and the version its forms are joined with (`_changed`)."""
    joined = "r.tail, r.stamp, r.version"
    if ready is None or view is not View.FIN01:
        return f"r.id, r.seq, r.datestamp, r.deleted, f.{_column(view)}, NULL, NULL, {joined}"
    # typeof() reads a column's type from the row header, not its bytes from overflow pages
    if ready == "sets":
        return (
            "r.id, r.seq, r.datestamp, r.deleted, iif(typeof(r.oai_sets) = 'null', f.xml, x''),"
            f" r.oai_sets, NULL, {joined}"
        )
    return (
        "r.id, r.seq, r.datestamp, r.deleted,"
        " iif(typeof(f.oai_marc21) = 'null' OR typeof(r.oai_sets) = 'null', f.xml, x''),"
        f" r.oai_sets, f.oai_marc21, {joined}"
    )


def _changed(row: Any, view: View) -> StoredRecord:
    """A change-feed row (`_changes_columns`) with its forms joined from body and tail."""
    xml, marc21, tail = row[4], row[6], row[7]
    if tail is not None:
        stamp = row[8]
        if xml:
            xml = (
                tails.join_alma(xml, tail, stamp, row[0], row[9])
                if view is View.FIN01ALMA
                else tails.join_xml(xml, tail, stamp)
            )
        marc21 = tails.join_marc21(marc21, stamp)
    return StoredRecord(row[0], row[1], row[2], bool(row[3]), xml, view, None, row[5], marc21)


BIB_BASE = "fin01"
AUTHORITY_BASE = "fin11"
# Each base's tables: the bib base's are `records` and `terms`, Asteri's `aut_records`, `aut_terms`.
BASE_PREFIXES: dict[str, str] = {BIB_BASE: "", AUTHORITY_BASE: "aut_"}
_BASE_TABLE = re.compile(r"\b(?:records|terms|record_forms)\b")


_RELINK_DUE: Final = (
    "INSERT INTO asteri_relinks (authority, since) VALUES (?, ?)"
    " ON CONFLICT (authority) DO UPDATE SET since = max(since, excluded.since)"
)


@functools.lru_cache(maxsize=512)
def _renamed(sql: str, prefix: str) -> str:
    """`sql` with the record and term tables of the base whose tables start with `prefix`."""
    renamed = _BASE_TABLE.sub(lambda m: prefix + m.group(0), sql)
    return renamed.replace("sqlite_autoindex_records_1", f"sqlite_autoindex_{prefix}records_1")


# The WAL-index header at the start of the -shm file (sqlite.org/walformat.html): two equal
# 48-octet copies, rewritten by every commit of any connection (its change counter, last
# frame, salts and checksum), version 3007000 since SQLite 3.7.0.
_WAL_INDEX_HEADER: Final = 48
_WAL_INDEX_VERSION: Final = 3007000


class _CommitWatch:
    """Whether any connection of any process committed to the file since a mark was taken,
    told by one pread of the WAL-index header: no SQLite call, no thread hop."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    @classmethod
    def open(cls, path: str) -> _CommitWatch:
        try:
            return cls(os.open(f"{path}-shm", os.O_RDONLY))
        except OSError:
            return cls(None)  # marks are None: nothing read earlier stands in for a read

    def header(self) -> bytes | None:
        """The header now, or None when it cannot be read whole (a commit writing it)."""
        if self._fd is None:
            return None
        try:
            both = os.pread(self._fd, 2 * _WAL_INDEX_HEADER, 0)
        except OSError:
            return None
        first = both[:_WAL_INDEX_HEADER]
        if (
            len(both) < 2 * _WAL_INDEX_HEADER
            or first != both[_WAL_INDEX_HEADER:]  # the writer is between its two copies
            or int.from_bytes(first[:4], sys.byteorder) != _WAL_INDEX_VERSION
            or not first[12]  # isInit
        ):
            return None
        return first

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _Connections:
    """The file's connections and write lock, which every base of the store shares."""

    def __init__(self, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.writer = writer
        self.readers = readers
        self.turn = 0
        self.write_lock = asyncio.Lock()
        self.writes = 0  # commits through this file's writer: kept counts are stale after one
        self.checkpointing: asyncio.Future[None] | None = None  # after a large transaction
        self.watch = _CommitWatch(None)
        self.restores = 0  # files put in place: a mark of the one before never matches
        self.here: LoopReader | None = None  # quick reads on the loop's thread (quick.py)
        self.hops = 0  # reads on the readers' threads in flight


class _BaseConnection:
    """A sqlite3 connection whose statements name one base's tables (for helpers written
    against the bib base's names)."""

    def __init__(self, conn: sqlite3.Connection, prefix: str) -> None:
        self._conn = conn
        self._prefix = prefix

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._conn.execute(_renamed(sql, self._prefix), params)

    def executemany(self, sql: str, params: Any) -> sqlite3.Cursor:
        return self._conn.executemany(_renamed(sql, self._prefix), params)


def _in_base(conn: sqlite3.Connection, prefix: str) -> sqlite3.Connection:
    return conn if not prefix else cast(sqlite3.Connection, _BaseConnection(conn, prefix))


# A record's row and its forms (the body of a split record: `gateway.records.tails`)
_JOINED = "records r JOIN record_forms f ON f.id = r.id"
_ROW_SQL = (
    "SELECT r.id, r.seq, r.datestamp, r.version, r.deleted, f.xml, f.alma_xml, r.tail, r.stamp"
    f" FROM {_JOINED}"
)
_ROW_ISO_SQL = (
    "SELECT r.id, r.seq, r.datestamp, r.version, r.deleted, f.xml, f.alma_xml, r.tail, r.stamp,"
    f" f.iso, r.iso_tail, r.oai_sets, f.oai_marc21 FROM {_JOINED}"
)


def _record_row(row: Any) -> RecordRow:
    tail = row[7]
    if tail is None:
        return RecordRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])
    stamp = row[8]
    return RecordRow(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        tails.join_xml(row[5], tail, stamp),
        tails.join_alma(row[6], tail, stamp, row[0], row[3]),
    )


def _record_row_iso(row: Any) -> RecordRow:
    tail = row[7]
    if tail is None:
        iso, marc21 = row[9], row[12]
    else:
        iso = tails.join_iso(row[9], row[10], row[8])
        marc21 = tails.join_marc21(row[12], row[8])
    whole = _record_row(row)
    return dataclasses.replace(whole, iso2709=iso, oai=OaiForms(row[11], marc21))


def _row_of(conn: sqlite3.Connection, record_id: int) -> RecordRow | None:
    # fetchall: the statement runs to its end, so a reader keeps no snapshot open after it
    rows = conn.execute(f"{_ROW_SQL} WHERE r.id = ?", (record_id,)).fetchall()
    return _record_row(rows[0]) if rows else None


def _by_ids(conn: sqlite3.Connection, select: str, ids: Sequence[int]) -> Iterator[Any]:
    """The rows of `select` (which ends in `WHERE r.id` or the like) for `ids`, 500 ids a
    statement."""
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        yield from conn.execute(f"{select} IN ({','.join('?' * len(chunk))})", chunk)


def _rows_of(
    conn: sqlite3.Connection, ids: Sequence[int], *, iso2709: bool = False
) -> dict[int, RecordRow]:
    if iso2709:
        return {
            row[0]: _record_row_iso(row) for row in _by_ids(conn, f"{_ROW_ISO_SQL} WHERE r.id", ids)
        }
    return {row[0]: _record_row(row) for row in _by_ids(conn, f"{_ROW_SQL} WHERE r.id", ids)}


def _tail_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, TailRow]:
    select = "SELECT id, version, deleted, tail, iso_tail, oai_sets FROM records WHERE id"
    return {
        row[0]: TailRow(row[0], row[1], bool(row[2]), row[3], row[4], row[5])
        for row in _by_ids(conn, select, ids)
    }


class SqliteWriteTxn:
    """The open write transaction; every method runs inside it.

    Writes are queued and reach the writer's thread together with the next read or the
    commit, BEGIN IMMEDIATE with the first of them: a thread hop costs a turn of the busy
    event loop, and an update used to make ten of them while holding the write lock.

    An optimistic transaction (`SqliteStore.transaction(optimistic=True)`) does not begin
    before its body runs: BEGIN, the check of the counters, the writes and COMMIT are one
    hop, so SQLite's write lock, which every worker process shares, is never held across a
    turn of an event loop. When another process committed meanwhile, the change sequence
    numbers of the queued rows move up on the writer's thread (ids and datestamps cannot:
    then RowChangedError, and the caller redoes the write the ordinary way).
    """

    def __init__(
        self, store: SqliteStore, conn: aiosqlite.Connection, *, optimistic: bool = False
    ) -> None:
        self._store = store
        self._conn = conn
        # (sql, parameters, how, where the seq is in a row or -1): "many" an executemany,
        # "seq" a check of expect_seq
        self._queued: list[tuple[str, Any, str, int]] = []
        self._sent = False  # something reached the writer: the end must commit or roll back
        # an optimistic transaction's view of the counters when it started
        self._optimistic = optimistic
        self._assumed = (store._seq, store._high_id, store._datestamp)
        self._counted = store._counted_version
        self._earliest = -1  # the earliest datestamp this transaction saves (-1: none)
        self._rows = 0  # record rows written: a large transaction leaves its checkpoint for later
        self._first_id = 0  # a record this transaction saves (named by RowChangedError)

    def _queue(self, sql: str, params: Any, how: str = "one", seq_at: int = -1) -> None:
        self._queued.append((self._store._sql(sql), params, how, seq_at))

    def expect_seq(self, record_id: int, seq: int) -> None:
        """Raise RowChangedError (the whole transaction rolls back) unless the record still
        has change sequence `seq` when the writes queued after this reach the store."""
        self._queue("SELECT seq FROM records WHERE id = ?", (record_id, seq), "seq")

    def _note_saved(self, record_id: int, datestamp: int) -> None:
        if self._earliest < 0 or datestamp < self._earliest:
            self._earliest = datestamp
        self._first_id = self._first_id or record_id

    def _counters_check(self) -> Callable[[sqlite3.Connection], tuple[int, tuple[int, int, int] | None]]:
        """What an optimistic transaction does right after BEGIN, on the writer's thread:
        (data_version, the counters when another process committed since, else None)."""
        counted, assumed, prefix = self._counted, self._assumed, self._store._prefix
        earliest, first_id = self._earliest, self._first_id
        gave_ids = self._store._high_id != assumed[1]

        def check(db: sqlite3.Connection) -> tuple[int, tuple[int, int, int] | None]:
            version = _data_version(db)
            if version == counted:
                return version, None
            version, counters = _read_counters(db, prefix)
            if (gave_ids and counters[1] != assumed[1]) or earliest < counters[2]:
                raise RowChangedError(first_id)  # an id given twice, a datestamp falling
            return version, counters

        return check

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """BEGIN IMMEDIATE (the first time), the queued writes, then `work`: one thread hop."""
        queued, self._queued = self._queued, []
        check = None
        if self._optimistic and not self._sent:
            check = self._counters_check()
        self._sent = True
        found: list[tuple[int, tuple[int, int, int] | None]] = []
        rename = self._store._prefix
        assumed_seq = self._assumed[0]

        def run(db: sqlite3.Connection) -> _T:
            if not db.in_transaction:
                db.execute("BEGIN IMMEDIATE")
            try:
                if check is not None:
                    found.append(check(db))
                    counters = found[0][1]
                    if counters is not None and counters[0] != assumed_seq:
                        _shift_seqs(queued, counters[0] - assumed_seq)
                for sql, params, how, _ in queued:
                    if how == "many":
                        db.executemany(sql, params)
                    elif how == "seq":
                        row = db.execute(sql, params[:1]).fetchone()
                        if row is None or row[0] != params[1]:
                            raise RowChangedError(params[0])
                    else:
                        db.execute(sql, params)
                return work(_in_base(db, rename))
            except BaseException:
                if check is not None:  # the one hop of an optimistic transaction: no second
                    _rollback(db)
                raise

        try:
            result = await _on_thread(self._conn, run)
        except Exception:
            if check is not None:
                self._sent = False  # rolled back on the thread already
            raise
        if found:
            self._store._counters_moved(self._assumed[0], *found[0])
        return result

    async def _commit(self) -> None:
        if not (self._sent or self._queued):
            return
        if self._rows < LARGE_TRANSACTION_ROWS:
            await self._run(lambda db: db.execute("COMMIT"))
            return
        await self._run(_commit_unchecked)
        self._store._checkpoint_later()

    async def _rollback(self) -> None:
        self._queued = []
        if self._sent:  # checked on the writer's thread: a cancelled hop may still have begun
            await _on_thread(self._conn, _rollback)

    async def run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """`work` inside this transaction, on the writer's thread (the store's own SQL modules)."""
        return await self._run(work)

    async def get_row(self, record_id: int) -> RecordRow | None:
        return await self._run(lambda db: _row_of(db, record_id))

    async def existing_rows(
        self, ids: Sequence[int], *, iso2709: bool = False
    ) -> dict[int, RecordRow]:
        wanted = list(ids)
        return await self._run(lambda db: _rows_of(db, wanted, iso2709=iso2709))

    def next_id(self) -> int:
        self._store._high_id += 1
        return self._store._high_id

    def note_id(self, record_id: int) -> None:
        """An id taken from input (a load): never hand it out again."""
        if record_id > self._store._high_id:
            self._store._high_id = record_id

    async def save(
        self,
        writes: Sequence[RecordWrite],
        old_entries: dict[int, IndexEntry],
        *,
        sorted_terms: list[tuple[int, str, int]] | None = None,
    ) -> list[int]:
        """Insert or replace records and their index terms; returns the seq given to each.

        `sorted_terms`: (index, term, record) to insert besides the entries' terms, in key
        order (a bulk load's new records, whose entries then carry just the sort keys).
        """
        store = self._store
        seqs: list[int] = []
        record_rows = []
        form_rows: list[tuple[int, bytes, bytes, bytes | None, bytes | None]] = []
        delete_terms: list[tuple[int, str, int]] = []
        insert_terms: list[tuple[int, str, int]] = []
        self._rows += len(writes)
        for write in writes:
            store._seq += 1
            seqs.append(store._seq)
            store._datestamp = max(store._datestamp, write.datestamp)
            self._note_saved(write.id, write.datestamp)
            entry = write.entry
            if write.cuts is None or write.deleted:
                tail = iso_tail = None
                form_rows.append(
                    (write.id, write.xml, write.alma_xml, write.iso2709, write.oai.marc21)
                )
            else:
                split = tails.split(write.xml, write.alma_xml, write.iso2709, write.cuts)
                tail, iso_tail = split.tail, split.iso_tail
                form_rows.append((write.id, split.xml, split.alma_xml, split.iso, write.oai.marc21))
            record_rows.append(
                (
                    write.id,
                    store._seq,
                    write.datestamp,
                    write.version,
                    int(write.deleted),
                    entry.sort_title if entry else "",
                    entry.sort_author if entry else "",
                    entry.sort_date if entry else "",
                    write.oai.sets,
                    tail,
                    iso_tail,
                )
            )
            old = old_entries.get(write.id)
            new_terms = entry.terms if entry else set()
            old_terms = old.terms if old else set()
            delete_terms.extend((ix, term, write.id) for ix, term in old_terms - new_terms)
            insert_terms.extend((ix, term, write.id) for ix, term in new_terms - old_terms)
        self._queue(
            "INSERT OR REPLACE INTO records (id, seq, datestamp, version, deleted,"
            " sort_title, sort_author, sort_date, oai_sets, tail, iso_tail, stamp)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            record_rows,
            how="many",
            seq_at=1,
        )
        self._queue(
            "INSERT OR REPLACE INTO record_forms (id, xml, alma_xml, iso, oai_marc21)"
            " VALUES (?, ?, ?, ?, ?)",
            form_rows,
            how="many",
        )
        if sorted_terms:
            if insert_terms:
                insert_terms.extend(sorted_terms)
            else:
                self._change_terms(delete_terms, sorted_terms, in_order=True)
                return seqs
        self._change_terms(delete_terms, insert_terms)
        return seqs

    def _change_terms(
        self,
        delete_terms: list[tuple[int, str, int]],
        insert_terms: list[tuple[int, str, int]],
        *,
        in_order: bool = False,
    ) -> None:
        if delete_terms:
            self._queue(
                "DELETE FROM terms WHERE ix = ? AND term = ? AND rec = ?", delete_terms, how="many"
            )
        if insert_terms:
            if not in_order:
                sort_terms(insert_terms)  # B-tree inserts in key order
            self._queue(
                "INSERT OR IGNORE INTO terms (ix, term, rec) VALUES (?, ?, ?)",
                insert_terms,
                how="many",
            )

    def _edited(
        self, writes: Sequence[SplicedWrite | TailWrite]
    ) -> tuple[list[int], Callable[[], None]]:
        """The seqs of records saved with known index changes (a splice, a tail), and what
        queues those changes once the rows are queued."""
        store = self._store
        seqs: list[int] = []
        insert_terms: list[tuple[int, str, int]] = []
        delete_terms: list[tuple[int, str, int]] = []
        self._rows += len(writes)
        for write in writes:
            store._seq += 1
            seqs.append(store._seq)
            store._datestamp = max(store._datestamp, write.datestamp)
            self._note_saved(write.id, write.datestamp)
            insert_terms.extend((ix, term, write.id) for ix, term in write.added_terms)
            delete_terms.extend((ix, term, write.id) for ix, term in write.removed_terms)
        return seqs, functools.partial(self._change_terms, delete_terms, insert_terms)

    async def save_spliced(self, writes: Sequence[SplicedWrite]) -> list[int]:
        """Update records in place and change just the index terms named; returns each seq.

        The cheap sibling of `save` for records whose index changes are known without an
        old entry to compare with (LOW publishing); the sort keys stay.
        """
        seqs, change_terms = self._edited(writes)
        # (a record spliced whole stays whole: its next full save splits it)
        self._queue(
            "UPDATE records SET seq = ?, datestamp = ?, version = ?, oai_sets = ?,"
            " tail = NULL, iso_tail = NULL, stamp = NULL WHERE id = ?",
            [(q, w.datestamp, w.version, w.oai.sets, w.id) for q, w in zip(seqs, writes, strict=True)],
            how="many",
            seq_at=0,
        )
        self._queue(
            "UPDATE record_forms SET xml = ?, alma_xml = ?, iso = ?, oai_marc21 = ? WHERE id = ?",
            [(w.xml, w.alma_xml, w.iso2709, w.oai.marc21, w.id) for w in writes],
            how="many",
        )
        change_terms()
        return seqs

    async def tail_rows(self, ids: Sequence[int]) -> dict[int, TailRow]:
        wanted = list(ids)
        return await self._run(lambda db: _tail_rows(db, wanted))

    async def save_tails(self, writes: Sequence[TailWrite]) -> list[int]:
        """Replace records' tails and stamps (`gateway.records.tails`), their bodies kept, and
        change just the index terms named; returns each seq."""
        seqs, change_terms = self._edited(writes)
        self._queue(
            "UPDATE records SET seq = ?, datestamp = ?, version = ?, tail = ?, iso_tail = ?,"
            " stamp = ?, oai_sets = ? WHERE id = ?",
            [
                (q, w.datestamp, w.version, w.tail, w.iso_tail, w.stamp, w.oai_sets, w.id)
                for q, w in zip(seqs, writes, strict=True)
            ],
            how="many",
            seq_at=0,
        )
        change_terms()
        return seqs

    async def log_significant_change(
        self,
        seq: int,
        record_id: int,
        at: int,
        user: str,
        library: str,
        fields: list[dict[str, Any]],
    ) -> None:
        self._queue(
            "INSERT INTO significant_changes (seq, rec, at, user, library, fields) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, record_id, at, user, library, json.dumps(fields, ensure_ascii=False)),
            seq_at=0,
        )

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self._queued.append((sql, params, "one", -1))  # named tables: shared ones stay shared

    def note_relink(self, authority_id: int, seq: int) -> None:
        self._queued.append((_RELINK_DUE, (authority_id, seq), "one", -1))  # a shared table

    async def publishing_result(self, library: str, file_key: str) -> str | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT result FROM publishing_log WHERE library = ? AND file_key = ?",
                (library, file_key),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def record_publishing(self, library: str, file_key: str, at: int, result: str) -> None:
        self._queue(
            "INSERT OR REPLACE INTO publishing_log (library, file_key, at, result) VALUES (?, ?, ?, ?)",
            (library, file_key, at, result),
        )

    # --- harvests -------------------------------------------------------------------------------
    async def new_harvest_id(self) -> int:
        row = await self._run(
            lambda db: db.execute("SELECT coalesce(max(id), 0) + 1 FROM harvests").fetchone()
        )
        return int(row[0])

    def save_harvest(self, harvest_id: int, library: str, state: str, run: str) -> None:
        self._queue(
            "INSERT OR REPLACE INTO harvests (id, library, state, run) VALUES (?, ?, ?, ?)",
            (harvest_id, library, state, run),
        )

    def note_harvested(self, library: str, rows: Sequence[tuple[str, int, str, str]]) -> None:
        """(OAI identifier, record id, how, digest) per record a harvest page applied."""
        self._queue(
            "INSERT OR REPLACE INTO harvested (library, identifier, rec, how, digest) VALUES (?, ?, ?, ?, ?)",
            [(library, *row) for row in rows],
            "many",
        )

    def forget_harvested(self, library: str, local_ids: Sequence[str]) -> None:
        self._queue(
            "DELETE FROM harvested WHERE library = ? AND identifier = ?",
            [(library, local_id) for local_id in local_ids],
            "many",
        )


class SqliteStore:
    """Open with `await SqliteStore.open(path)`; close with `await store.close()`."""

    def __init__(
        self,
        path: str,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        *,
        base: str = BIB_BASE,
        shared: _Connections | None = None,
    ) -> None:
        self.path = path
        self.base_name = base
        self.keeps_tails = True  # a LOW change rewrites a record's tail alone
        # the bases share one file, its connections and its one writer; each has its own tables
        self._conns = shared or _Connections(writer, readers)
        self._prefix = BASE_PREFIXES[base]
        self._high_id_key = f"{self._prefix}high_id"
        self._bases: dict[str, SqliteStore] = {base: self}
        # counting reads every row of `records` (a second at 1 M): counts are kept until the
        # next write to the file (`_conns.writes`) or another process's (the first reader's
        # data_version)
        self._kept: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._seq = 0
        self._high_id = 0
        self._datestamp = 0  # the latest datestamp saved: they never fall along seq
        # Another process (the CLI) may write the same file: SQLite's data_version on the
        # writer changes exactly when some other connection committed. The counters are
        # read again when it has; `generation` rises so that callers drop what they cached.
        self.generation = 0
        self._counted_version: int | None = None  # data_version the counters were read at
        self._seen_version: int | None = None  # data_version `generation` last rose for
        self.ill = SqliteIllRows(self)

    @property
    def _writer(self) -> aiosqlite.Connection:
        return self._conns.writer

    @property
    def _readers(self) -> list[aiosqlite.Connection]:
        return self._conns.readers

    @property
    def _write_lock(self) -> asyncio.Lock:
        return self._conns.write_lock

    def _sql(self, sql: str) -> str:
        """`sql` over this base's tables (the bib base's are `records` and `terms`)."""
        return _renamed(sql, self._prefix) if self._prefix else sql

    def _rx(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """A reader's `execute` of `sql` over this base's tables."""
        return self._reader.execute(self._sql(sql), params)

    def base(self, name: str) -> SqliteStore:
        """The store of a base in this file (`fin11`: Asteri's authorities), sharing this one's
        connections and write lock, with its own ids and change sequence. KeyError if none."""
        return self._bases[name]

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        writer = await aiosqlite.connect(path, isolation_level=None)
        readers: list[aiosqlite.Connection] = []
        try:
            for pragma in _PRAGMAS:
                await writer.execute(pragma)
            await _migrate(writer)
            for _ in range(READERS):
                readers.append(await aiosqlite.connect(path, isolation_level=None))
                for pragma in _PRAGMAS[1:]:
                    await readers[-1].execute(pragma)
                await readers[-1].execute("PRAGMA query_only = ON")
        except BaseException:
            for conn in [writer, *readers]:
                await conn.close()
            raise
        store = cls(path, writer, readers)
        # the -shm file exists now: the writer's connection made the database WAL
        store._conns.watch = await asyncio.to_thread(_CommitWatch.open, path)
        loop_thread = threading.get_ident()  # the one thread that reads on `here`
        store._conns.here = await asyncio.to_thread(LoopReader, path, _PRAGMAS[1:], loop_thread)
        await store._load_counters()
        for name in BASE_PREFIXES:
            if name != store.base_name:
                other = cls(path, writer, readers, base=name, shared=store._conns)
                other._bases = store._bases
                store._bases[name] = other
                await other._load_counters()
        return store

    @property
    def _reader(self) -> aiosqlite.Connection:
        """The next read connection in turn: SQLite runs each in its own thread, GIL released."""
        conns = self._conns
        conns.turn = (conns.turn + 1) % len(conns.readers)
        return conns.readers[conns.turn]

    def _checkpoint_later(self) -> None:
        conns = self._conns
        conns.checkpointing = asyncio.ensure_future(
            _checkpoint_after(conns.checkpointing, self.path)
        )

    async def checkpointed(self) -> None:
        """Wait for the checkpoint a large transaction left to run after its commit."""
        pending = self._conns.checkpointing
        if pending is not None:
            await asyncio.wait([pending])

    async def close(self) -> None:
        await self.checkpointed()
        async with self._write_lock:
            self._conns.watch.close()
            self._close_here()
            for reader in self._readers:
                await reader.close()
            await self._writer.close()

    def _close_here(self) -> None:
        if self._conns.here is not None:
            self._conns.here.close()
            self._conns.here = None

    async def _load_counters(self) -> None:
        prefix = self._prefix
        version, counters = await _on_thread(self._writer, lambda db: _read_counters(db, prefix))
        self._set_counters(version, counters)

    def _set_counters(self, version: int, counters: tuple[int, int, int]) -> None:
        self._seq, self._high_id, self._datestamp = counters
        self._counted_version = version
        self._note_version(version)

    def _note_version(self, version: int) -> None:
        if self._seen_version is not None and version != self._seen_version:
            self.generation += 1
        self._seen_version = version

    async def refresh(self) -> int:
        """Notice a commit another process made since the last look; returns `generation`
        (one thread hop: callers whose cache must reflect the CLI's changes ask first)."""
        version = await _on_thread(self._writer, _data_version)
        self._note_version(version)
        return self.generation

    # --- the write transaction ---------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self, *, optimistic: bool = False) -> AsyncIterator[SqliteWriteTxn]:
        """One write transaction: commit on success, roll back (and restore counters) on error.

        `optimistic`: the body only queues writes after `expect_seq` and gives no ids; BEGIN
        waits for the commit, so the whole transaction is one hop to the writer's thread
        (see SqliteWriteTxn). It may then also fail with RowChangedError when another
        process saved a later datestamp meanwhile.
        """
        async with self._write_lock:
            if optimistic:
                txn = SqliteWriteTxn(self, self._writer, optimistic=True)
                seq, high, datestamp = txn._assumed
            else:
                # BEGIN first: under SQLite's own write lock the counters are the file's, even
                # when another process wrote it since this one's last transaction
                counted = self._counted_version
                prefix = self._prefix
                found = await _on_thread(self._writer, lambda db: _begin(db, counted, prefix))
                version, counters = found
                if counters is not None:
                    self._set_counters(version, counters)
                seq, high, datestamp = self._seq, self._high_id, self._datestamp
                txn = SqliteWriteTxn(self, self._writer)
                txn._sent = True
            try:
                yield txn
                if self._high_id != high:
                    txn._queue(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        (self._high_id_key, str(self._high_id)),
                    )
                await txn._commit()
                self._conns.writes += 1
            except BaseException:
                self._seq, self._high_id, self._datestamp = seq, high, datestamp
                await txn._rollback()
                raise

    def _counters_moved(
        self, assumed_seq: int, version: int, counters: tuple[int, int, int] | None
    ) -> None:
        """An optimistic transaction began at `version`; `counters`: the file's then, when
        another process had committed (its rows' seqs were moved up past them)."""
        if counters is not None:
            self._seq += counters[0] - assumed_seq
            self._high_id = max(self._high_id, counters[1])
            self._datestamp = max(self._datestamp, counters[2])
        self._counted_version = version
        self._note_version(version)

    # --- reads ---------------------------------------------------------------------------------
    def change_mark(self) -> object | None:
        """The file's state now, without a thread hop: equal marks mean no commit by any
        connection of any process changed it in between (None: cannot tell now)."""
        header = self._conns.watch.header()
        return None if header is None else (self._conns.restores, header)

    async def get_row(self, record_id: int) -> RecordRow | None:
        return await self._read(lambda conn: _row_of(conn, record_id), quick=True)

    async def read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """`work` on a reader's thread (the store's own SQL modules)."""
        return await self._read(work)

    async def _read(self, work: Callable[[sqlite3.Connection], _T], *, quick: bool = False) -> _T:
        """Run `work` on the next reader's own thread: one thread hop however many statements
        it runs (aiosqlite hops once per execute, fetch and cursor close). `quick`: a read of
        one record or a few, run on the loop's own thread when nothing else is in flight."""
        rename = self._prefix

        def in_base(conn: sqlite3.Connection) -> _T:
            return work(_in_base(conn, rename))

        conns = self._conns
        here = conns.here
        if (
            quick
            and here is not None
            and not conns.hops
            and not conns.write_lock.locked()
            and here.usable()
        ):
            done, result = here.read(in_base)
            if done:
                return cast(_T, result)
        conns.hops += 1
        try:
            return await _on_thread(self._reader, in_base)
        finally:
            conns.hops -= 1

    async def fetch(
        self, ids: Sequence[int], view: View, *, iso2709: bool = False
    ) -> list[StoredRecord]:
        wanted = list(ids)
        return await self._read(
            lambda conn: _fetch(conn, wanted, view, iso2709=iso2709), quick=len(wanted) <= QUICK_IDS
        )

    async def search(self, query: Query, *, sort: Sequence[SortKey], cap: int) -> ResultSet:
        """Ids up to `cap` and the total, in one statement (a window count rides along)."""
        compiled, order = compile_query(query), order_by(sort)
        return await self._read(
            lambda conn: _search(conn, compiled, order, cap), quick=names_few(query)
        )

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
        """`search`, then the records at positions start..start+count-1 (1-based) of its ids,
        or all of them when it found at most `whole_within`, in one reader call (an SRU
        searchRetrieve's or a Z39.50 Search's whole read)."""
        compiled, order = compile_query(query), order_by(sort)

        def work(conn: sqlite3.Connection) -> tuple[ResultSet, list[StoredRecord]]:
            found = _search(conn, compiled, order, cap)
            page = page_of(found, start, count, whole_within)
            return found, _fetch(conn, page, view, iso2709=iso2709) if page else []

        return await self._read(work, quick=count <= QUICK_IDS and names_few(query))

    async def scan(
        self, ixs: Sequence[int], start: str, *, before: int, after: int
    ) -> list[ScanTerm]:
        marks = ",".join("?" * len(ixs))
        below: list[ScanTerm] = []
        if before > 0:
            async with self._rx(
                f"SELECT term, count(*) FROM terms WHERE ix IN ({marks}) AND term < ?"
                " GROUP BY term ORDER BY term DESC LIMIT ?",
                [*ixs, start, before],
            ) as cur:
                below = [ScanTerm(r[0], r[1]) for r in await cur.fetchall()]
            below.reverse()
        async with self._rx(
            f"SELECT term, count(*) FROM terms WHERE ix IN ({marks}) AND term >= ?"
            " GROUP BY term ORDER BY term LIMIT ?",
            [*ixs, start, after],
        ) as cur:
            above = [ScanTerm(r[0], r[1]) for r in await cur.fetchall()]
        return below + above

    async def _unchanged_since(self, name: str) -> tuple[tuple[int, int, int], Any]:
        """(the store's version now, what `name` was at that version or None)."""
        writes, watcher = self._conns.writes, self._readers[0]
        async with watcher.execute("PRAGMA data_version") as cur:
            version = await cur.fetchone()
        key = (id(watcher), int(version[0]) if version else 0, writes)
        kept = self._kept.get(name)
        return key, (kept[1] if kept is not None and kept[0] == key else None)

    async def counts(self) -> tuple[int, int]:
        key, kept = await self._unchanged_since("counts")
        if kept is not None:
            return cast(tuple[int, int], kept)
        async with self._rx(
            "SELECT coalesce(sum(deleted = 0), 0), coalesce(sum(deleted), 0) FROM records"
        ) as cur:
            row = await cur.fetchone()
        found = (int(row[0]), int(row[1])) if row else (0, 0)
        self._kept["counts"] = (key, found)  # a write while counting moved the key on: recounted
        return found

    async def earliest_datestamp(self) -> int | None:
        async with self._rx("SELECT min(datestamp) FROM records") as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def seq_floor(self, since: int | None) -> int:
        """The last seq before `since`: datestamps never decrease along seq, so scans start here."""
        if since is None:
            return 0
        async with self._rx(
            "SELECT seq FROM records WHERE datestamp >= ? ORDER BY datestamp, seq LIMIT 1", (since,)
        ) as cur:
            row = await cur.fetchone()
        return self._seq if row is None else int(row[0]) - 1

    def _changes_where(
        self, after_seq: int, since: int | None, until: int | None, set_term: tuple[int, str] | None
    ) -> tuple[str, list[object]]:
        clauses = ["seq > ?"]
        params: list[object] = [after_seq]
        if since is not None:
            clauses.append("datestamp >= ?")
            params.append(since)
        if until is not None:
            clauses.append("datestamp <= ?")
            params.append(until)
        if set_term is not None:
            clauses.append("r.id IN (SELECT rec FROM terms WHERE ix = ? AND term = ?)")
            params.extend(set_term)
        return " AND ".join(clauses), params

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
        where, params = self._changes_where(after_seq, since, until, set_term)
        columns = _changes_columns(view, ready)
        async with self._rx(
            f"SELECT {columns} FROM records r INDEXED BY sqlite_autoindex_records_1"
            f" JOIN record_forms f ON f.id = r.id WHERE {where} ORDER BY r.seq LIMIT ?",
            [*params, limit],
        ) as cur:
            rows = await cur.fetchall()
        return [_changed(r, view) for r in rows]

    async def count_changes(
        self,
        *,
        after_seq: int,
        since: int | None,
        until: int | None,
        set_term: tuple[int, str] | None,
    ) -> int:
        where, params = self._changes_where(after_seq, since, until, set_term)
        async with self._rx(
            f"SELECT count(*) FROM records r WHERE {where}", params
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def set_terms(self) -> tuple[list[str], list[str]]:
        """(LOW codes in use, named OAI sets with members), each sorted."""
        result: list[list[str]] = []
        for ix in (IX_LOW, IX_OAISET):
            async with self._rx(
                "SELECT DISTINCT term FROM terms WHERE ix = ? ORDER BY term", (ix,)
            ) as cur:
                result.append([r[0] for r in await cur.fetchall()])
        return result[0], result[1]

    async def term_pairs(self, ix: int, terms: set[str]) -> set[tuple[str, int]]:
        """(term, record) for each of `terms` in index `ix`."""
        found: set[tuple[str, int]] = set()
        wanted = sorted(terms)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            async with self._rx(
                f"SELECT term, rec FROM terms WHERE ix = ? AND term IN ({marks})", [ix, *chunk]
            ) as cur:
                found.update((r[0], r[1]) for r in await cur.fetchall())
        return found

    async def existing_ids(self, ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            async with self._rx(
                f"SELECT id FROM records WHERE id IN ({marks})", chunk
            ) as cur:
                found.update(r[0] for r in await cur.fetchall())
        return found

    async def index_pairs(self, ix: int) -> list[tuple[str, int]]:
        """Every (term, record) of index `ix`, by term."""
        async with self._rx("SELECT term, rec FROM terms WHERE ix = ? ORDER BY term, rec", (ix,)) as cur:
            return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]

    async def ids_with_term(self, ix: int, term: str) -> list[int]:
        async with self._rx(
            "SELECT rec FROM terms WHERE ix = ? AND term = ? ORDER BY rec", (ix, term)
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def export(self, view: View, batch: int = 1000) -> AsyncIterator[StoredRecord]:
        columns = _changes_columns(view, None)
        last = 0
        while True:
            async with self._rx(
                f"SELECT {columns} FROM {_JOINED} WHERE r.id > ? ORDER BY r.id LIMIT ?",
                (last, batch),
            ) as cur:
                rows = list(await cur.fetchall())
            if not rows:
                return
            for r in rows:
                yield _changed(r, view)
            last = rows[-1][0]

    async def significant_changes(
        self, *, after_seq: int, limit: int, record_id: int | None = None
    ) -> list[dict[str, Any]]:
        # one record's changes: the log is small (bulk loads log nothing), so no index on rec
        only_record = "" if record_id is None else " AND rec = ?"
        params: tuple[int, ...] = (after_seq,) if record_id is None else (after_seq, record_id)
        async with self._rx(
            "SELECT seq, rec, at, user, library, fields FROM significant_changes WHERE seq > ?"
            f"{only_record} ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [significant_change(r) for r in rows]

    # --- libraries -----------------------------------------------------------------------------
    async def library_row(self, code: str) -> tuple[Library, str] | None:
        """The library and its password hash."""
        async with self._rx(
            f"SELECT {LIBRARY_COLUMNS} FROM libraries WHERE code = ?",
            (code.upper(),),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        lows = await self._column_list(
            "SELECT low FROM library_lows WHERE code = ? ORDER BY low", row[0]
        )
        keys = await self._column_list(
            "SELECT key FROM ssh_keys WHERE code = ? ORDER BY key", row[0]
        )
        return library_with_hash(row, lows, keys)

    async def library_rows(self) -> list[tuple[Library, str]]:
        """Every library with its password hash, by code, in one read (one thread hop: a
        worker reads them again whenever another worker has committed)."""

        def work(conn: sqlite3.Connection) -> list[tuple[Library, str]]:
            return libraries_with_hashes(
                conn.execute(f"SELECT {LIBRARY_COLUMNS} FROM libraries ORDER BY code"),
                conn.execute("SELECT code, low FROM library_lows ORDER BY code, low"),
                conn.execute("SELECT code, key FROM ssh_keys ORDER BY code, key"),
            )

        return await self._read(work)

    async def _column_list(self, sql: str, *params: object) -> list[str]:
        async with self._rx(sql, params) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def library_codes(self) -> list[str]:
        return await self._column_list("SELECT code FROM libraries ORDER BY code")

    async def save_library(self, library: Library, password_hash: str | None) -> None:
        async with self.transaction() as txn:
            await txn.execute(
                "INSERT INTO libraries (code, name, sid_code, level, privileged, password_hash)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
                " sid_code = excluded.sid_code, level = excluded.level, privileged = excluded.privileged,"
                " password_hash = CASE WHEN ? THEN excluded.password_hash ELSE libraries.password_hash END",
                (
                    library.code,
                    library.name,
                    library.sid_code,
                    library.level,
                    int(library.privileged),
                    password_hash or "",
                    password_hash is not None,
                ),
            )
            await txn.execute("DELETE FROM library_lows WHERE code = ?", (library.code,))
            for low in library.lows:
                await txn.execute(
                    "INSERT INTO library_lows (code, low) VALUES (?, ?)", (library.code, low)
                )
            for key in library.ssh_keys:
                await txn.execute(
                    "INSERT OR IGNORE INTO ssh_keys (code, key) VALUES (?, ?)", (library.code, key)
                )

    async def delete_library(self, code: str) -> bool:
        async with self.transaction() as txn:
            await txn.execute("DELETE FROM libraries WHERE code = ?", (code.upper(),))
        return True

    @property
    def high_id(self) -> int:
        """The highest Melinda ID ever given (ids are never reused)."""
        return self._high_id

    @property
    def latest_datestamp(self) -> int:
        """The datestamp of the last save (a later save may not have an earlier one)."""
        return self._datestamp

    async def harvest_rows(self, harvest_id: int | None = None, limit: int = 100) -> list[str]:
        """The JSON of harvest `harvest_id`, or of the latest `limit` harvests, newest first."""
        if harvest_id is not None:
            sql, params = "SELECT run FROM harvests WHERE id = ?", (harvest_id,)
        else:
            sql, params = "SELECT run FROM harvests ORDER BY id DESC LIMIT ?", (limit,)
        return await self._read(lambda conn: [str(r[0]) for r in conn.execute(sql, params)])

    async def pending_relinks(self) -> list[tuple[int, int]]:
        sql = "SELECT authority, since FROM asteri_relinks ORDER BY since"
        return await self._read(lambda conn: [(int(a), int(s)) for a, s in conn.execute(sql)])

    async def relink_done(self, authority_id: int, seq: int) -> None:
        async with self.transaction() as txn:
            await txn.execute(
                "DELETE FROM asteri_relinks WHERE authority = ? AND since <= ?", (authority_id, seq)
            )

    async def harvested(
        self, library: str, local_ids: Sequence[str]
    ) -> dict[str, tuple[int, str, str]]:
        """OAI identifier -> (record id, how, digest) for those of `local_ids` harvested before."""
        wanted = list(local_ids)

        def work(conn: sqlite3.Connection) -> dict[str, tuple[int, str, str]]:
            found: dict[str, tuple[int, str, str]] = {}
            for chunk in iter_chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                for local_id, rec, how, digest in conn.execute(
                    "SELECT identifier, rec, how, digest FROM harvested"
                    f" WHERE library = ? AND identifier IN ({marks})",
                    [library, *chunk],
                ):
                    found[str(local_id)] = (int(rec), str(how), str(digest))
            return found

        return await self._read(work)

    async def low_counts(self) -> list[tuple[str, int]]:
        """(LOW code as indexed, number of live records holding it), by code."""
        key, kept = await self._unchanged_since("low_counts")
        if kept is not None:
            return list(cast(list[tuple[str, int]], kept))
        async with self._rx(
            "SELECT term, count(*) FROM terms WHERE ix = ? GROUP BY term ORDER BY term", (IX_LOW,)
        ) as cur:
            found = [(str(r[0]), int(r[1])) for r in await cur.fetchall()]
        self._kept["low_counts"] = (key, found)
        return list(found)

    async def snapshot(self, path: str) -> None:
        """Copy the whole store to the file `path`, consistent, while reads go on.

        With the WAL checkpointed into the database file and the write lock held, the file
        itself is the store: it is copied at disk speed. When a long read keeps the WAL from
        being emptied, SQLite's online backup (page by page, slower) copies it instead.
        """
        await self.checkpointed()
        async with self._write_lock:
            async with self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) == 0:
                await asyncio.to_thread(shutil.copyfile, self.path, path)
                return
            target = await aiosqlite.connect(path, isolation_level=None)
            try:
                await self._writer.backup(target)
            finally:
                await target.close()

    async def restore(self, path: str) -> None:
        """Replace the whole store with a snapshot file: copied into place, connections reopened.

        A page-by-page online backup into the live WAL database takes seconds for 100 k
        records; a file copy a fraction of that. Reads in flight at that moment may fail.
        """
        staged, discarded = f"{self.path}.restoring", f"{self.path}.discarded"
        await asyncio.to_thread(shutil.copyfile, path, staged)
        await self.checkpointed()
        async with self._write_lock:
            self._conns.restores += 1
            self._conns.watch.close()
            self._close_here()
            for conn in [*self._readers, self._writer]:
                await conn.close()
            await asyncio.to_thread(_put_in_place, staged, self.path, discarded)
            fresh = await SqliteStore.open(self.path)
            self._conns.writer, self._conns.readers = fresh._writer, fresh._readers
            self._conns.watch, self._conns.here = fresh._conns.watch, fresh._conns.here
            for store in self._bases.values():
                await store._load_counters()
            self._conns.writes += 1
        # freeing a large file's blocks takes a while: nobody needs to wait for it
        asyncio.get_running_loop().run_in_executor(None, _discard, discarded)

    # --- copy-store: whole tables out and in (gateway.store.copying) -----------------------------
    async def copy_out(
        self, table: TableSpec, after: tuple[Any, ...] | None, limit: int
    ) -> list[tuple[Any, ...]]:
        if table.columns == RECORD_COLUMNS:
            return await self._copy_records_out(table.name, after, limit)
        names = ", ".join(f'"{name}"' for name in table.key)
        columns = ", ".join(f'"{name}"' for name in table.names)
        where = f" WHERE ({names}) > ({', '.join('?' * len(after))})" if after else ""
        sql = f"SELECT {columns} FROM {table.name}{where} ORDER BY {names} LIMIT ?"
        params = [*(after or ()), limit]
        rows = await self._read(lambda conn: conn.execute(sql, params).fetchall())
        bools = [i for i, (_, kind) in enumerate(table.columns) if kind == BOOL]
        return [
            tuple(bool(v) if i in bools else v for i, v in enumerate(row)) for row in rows
        ]

    async def _copy_records_out(
        self, name: str, after: tuple[Any, ...] | None, limit: int
    ) -> list[tuple[Any, ...]]:
        """A record table's rows as `RECORD_COLUMNS` say, their forms joined."""
        sql = _renamed(
            "SELECT r.id, r.seq, r.datestamp, r.version, r.deleted, f.xml, f.alma_xml, r.tail,"
            " r.stamp, f.iso, r.iso_tail, r.oai_sets, f.oai_marc21, r.sort_title, r.sort_author,"
            f" r.sort_date FROM {_JOINED} WHERE r.id > ? ORDER BY r.id LIMIT ?",
            name.removesuffix("records"),
        )
        params = [after[0] if after else 0, limit]
        rows = await self._read(lambda conn: conn.execute(sql, params).fetchall())
        out = []
        for row in rows:
            whole = _record_row_iso(row)
            out.append(
                (
                    whole.id,
                    whole.seq,
                    whole.datestamp,
                    whole.version,
                    whole.deleted,
                    whole.xml,
                    whole.alma_xml,
                    row[13],
                    row[14],
                    row[15],
                    whole.iso2709,
                    whole.oai.sets,
                    whole.oai.marc21,
                )
            )
        return out

    async def copy_in(self, table: TableSpec, rows: Sequence[tuple[Any, ...]]) -> None:
        if table.columns == RECORD_COLUMNS:  # whole forms: the next full save splits them
            prefix = table.name.removesuffix("records")
            narrow = [(r[0], r[1], r[2], int(r[3]), int(r[4]), r[7], r[8], r[9], r[11]) for r in rows]
            forms = [(r[0], r[5], r[6], r[10], r[12]) for r in rows]
            async with self.transaction() as txn:
                txn._queued.append(
                    (
                        f"INSERT INTO {prefix}records (id, seq, datestamp, version, deleted,"
                        " sort_title, sort_author, sort_date, oai_sets)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        narrow,
                        "many",
                        -1,
                    )
                )
                txn._queued.append(
                    (
                        f"INSERT INTO {prefix}record_forms (id, xml, alma_xml, iso, oai_marc21)"
                        " VALUES (?, ?, ?, ?, ?)",
                        forms,
                        "many",
                        -1,
                    )
                )
            return
        names = ", ".join(f'"{name}"' for name in table.names)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(table.names))})"
        async with self.transaction() as txn:
            txn._queue(sql, [tuple(int(v) if isinstance(v, bool) else v for v in r) for r in rows], "many")

    async def count_rows(self, table: TableSpec) -> int:
        sql = f"SELECT count(*) FROM {table.name}"
        return int(await self._read(lambda conn: conn.execute(sql).fetchone()[0]))

    async def copy_finish(self, high_id: int) -> None:
        async with self.transaction() as txn:
            self._high_id = max(self._high_id, high_id)
            await txn.execute("SELECT 1")  # the transaction writes meta's high_id at its end
        await self._load_counters()

    async def reset(self) -> None:
        """Empty the records (libraries stay) and restart ids."""
        async with self.transaction() as txn:
            for store in self._bases.values():
                for table in ("records", "record_forms", "terms"):
                    await txn.execute(store._sql(f"DELETE FROM {table}"))
                await txn.execute("DELETE FROM meta WHERE key = ?", (store._high_id_key,))
            for table in (
                "significant_changes",
                "publishing_log",
                "harvests",
                "harvested",
                "ill_messages",
                "ill_requests",
                "asteri_relinks",
            ):
                await txn.execute(f"DELETE FROM {table}")
            for store in self._bases.values():
                store._seq = 0
                store._high_id = 0
                store._datestamp = 0


def _fetch(
    conn: sqlite3.Connection, ids: Sequence[int], view: View, *, iso2709: bool = False
) -> list[StoredRecord]:
    """The records of `ids` in that order (missing ids skipped), on a reader's thread."""
    iso = ", f.iso, r.iso_tail" if iso2709 and view is View.FIN01 else ", NULL, NULL"
    select = (
        f"SELECT r.id, r.seq, r.datestamp, r.deleted, f.{_column(view)}{iso}, r.tail, r.stamp,"
        f" r.version FROM {_JOINED} WHERE r.id"
    )
    found = {}
    for row in _by_ids(conn, select, ids):
        record_id, xml, iso_form, tail = row[0], row[4], row[5], row[7]
        if tail is not None:
            stamp = row[8]
            if view is View.FIN01ALMA:
                xml = tails.join_alma(xml, tail, stamp, record_id, row[9])
            else:
                xml = tails.join_xml(xml, tail, stamp)
            if iso_form is not None:
                iso_form = tails.join_iso(iso_form, row[6], stamp)
        found[record_id] = StoredRecord(
            record_id, row[1], row[2], bool(row[3]), xml, view, iso_form
        )
    return [found[i] for i in ids if i in found]


_ONE_TERM_IDS = f"{EQ_SQL} ORDER BY rec LIMIT ?"
_ONE_TERM_COUNT = f"SELECT count(*) FROM ({EQ_SQL})"


def _search(conn: sqlite3.Connection, query: SqlPart, order: str | None, cap: int) -> ResultSet:
    """Ids up to `cap` and the total of a compiled query, on a reader's thread."""
    sql, params = query
    if sql == EQ_SQL and order is None:
        # One exact term, the commonest search: the index yields it unique and in id order,
        # so the first ids come straight off the index and the count is a range count (a
        # common word's 10,000 hits: under 1 ms instead of 10).
        ids = [row[0] for row in conn.execute(_ONE_TERM_IDS, [*params, cap])]
        if len(ids) < cap:
            return ResultSet(ids, len(ids))
        row = conn.execute(_ONE_TERM_COUNT, params).fetchone()
        return ResultSet(ids, int(row[0]) if row else len(ids))
    if order is None:
        select = (
            f"SELECT rec, count(*) OVER () FROM (SELECT DISTINCT rec FROM ({sql})) "
            "ORDER BY rec LIMIT ?"
        )
    else:
        select = (
            f"SELECT r.id, count(*) OVER () FROM records r "
            f"JOIN (SELECT DISTINCT rec FROM ({sql})) q ON q.rec = r.id "
            f"ORDER BY {order}, r.id LIMIT ?"
        )
    rows = conn.execute(select, [*params, max(cap, 1)]).fetchall()
    if not rows:
        return ResultSet([], 0)
    return ResultSet([row[0] for row in rows[:cap]], int(rows[0][1]))


async def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run `work` with the connection's sqlite3 object on its own thread, in one hop."""
    result: _T = await conn._execute(work, conn._conn)  # type: ignore[no-untyped-call]
    return result


def _commit_unchecked(db: sqlite3.Connection) -> None:
    """COMMIT without the automatic checkpoint SQLite would run at its end."""
    pages = int(db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    db.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        db.execute("COMMIT")
    finally:
        db.execute(f"PRAGMA wal_autocheckpoint = {pages}")


def _checkpoint(path: str) -> None:
    """Copy the write-ahead log into the database file beside readers and writers (PASSIVE:
    what a reader still needs stays, and the writer's next automatic checkpoint goes on)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


async def _checkpoint_after(earlier: asyncio.Future[None] | None, path: str) -> None:
    if earlier is not None:
        await asyncio.wait([earlier])  # one checkpointer at a time: a second would be refused
    # on an error nothing is lost: the writer's automatic checkpoints copy the log instead
    with contextlib.suppress(sqlite3.Error):
        await asyncio.to_thread(_checkpoint, path)


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


# One max() a subquery: each is then read off its index's end. `max(a), max(b), max(c)` in
# one SELECT scans the whole table (17 ms at 50,000 records), and every write transaction
# after another worker's commit read them so.
COUNTERS_SQL: Final = (
    "SELECT coalesce((SELECT max(seq) FROM records), 0),"
    " coalesce((SELECT max(id) FROM records), 0),"
    " coalesce((SELECT max(datestamp) FROM records), 0)"
)


def _read_counters(
    conn: sqlite3.Connection, prefix: str = ""
) -> tuple[int, tuple[int, int, int]]:
    """(data_version, (last seq, highest id ever given, latest datestamp)) of the base whose
    tables start with `prefix`."""
    row = conn.execute(_renamed(COUNTERS_SQL, prefix)).fetchone()
    high = conn.execute("SELECT value FROM meta WHERE key = ?", (f"{prefix}high_id",)).fetchone()
    counters = (int(row[0]), max(int(row[1]), int(high[0]) if high else 0), int(row[2]))
    return _data_version(conn), counters


def _begin(
    conn: sqlite3.Connection, counted: int | None, prefix: str = ""
) -> tuple[int, tuple[int, int, int] | None]:
    """BEGIN IMMEDIATE; the counters again when another connection committed since `counted`."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _data_version(conn)
        if version == counted:
            return version, None
        return _read_counters(conn, prefix)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _shift_seqs(queued: list[tuple[str, Any, str, int]], shift: int) -> None:
    """Move the change sequence numbers in queued rows by `shift` (in place)."""
    for n, (sql, params, how, seq_at) in enumerate(queued):
        if seq_at < 0:
            continue
        rows = params if how == "many" else [params]
        moved = [(*row[:seq_at], row[seq_at] + shift, *row[seq_at + 1 :]) for row in rows]
        queued[n] = (sql, moved if how == "many" else moved[0], how, seq_at)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _put_in_place(staged: str, path: str, discarded: str) -> None:
    """The staged copy becomes the database; a stale WAL of the old one must not replay on it."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
    os.replace(path, discarded)  # a rename: the old file is deleted later, off the lock
    os.replace(staged, path)


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


async def _migrate(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")


def sort_terms(terms: list[tuple[int, str, int]]) -> None:
    """Sort (index, term, record) in place by index and term, records of a term in the order
    given (usually rising): two key sorts, each comparing plain strs or ints, take half the
    time of comparing the tuples."""
    terms.sort(key=itemgetter(1))
    terms.sort(key=itemgetter(0))


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
