"""The PostgreSQL record store (`gateway.store.Store`) through asyncpg: several gateway
processes, on one host or several, serve one catalog from it.

Writers everywhere take turns on one row lock (`counters ... FOR UPDATE`), so the change
sequence rises in commit order as OAI-PMH harvests need; every write is one transaction.
A pool serves reads; a connection lost to a database restart is replaced on the next try.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg

from gateway.indexing import IX_LOW, IX_OAISET, IndexEntry
from gateway.model import Library, ResultSet, ScanTerm, StoredRecord, View
from gateway.query import Query, SortKey
from gateway.records.oai_forms import OaiForms, Ready
from gateway.store.copying import JSON, TIME, TableSpec
from gateway.store.ill import IllStore
from gateway.store.interface import (
    RecordRow,
    RecordWrite,
    RowChangedError,
    SplicedWrite,
    TailRow,
    TailWrite,
)
from gateway.store.postgresql.ill import PostgresIllRows
from gateway.store.postgresql.schema import MIGRATIONS, SNAPSHOT_TABLES
from gateway.store.rows import (
    LIBRARY_COLUMNS,
    libraries_with_hashes,
    library_with_hash,
    page_of,
    significant_change,
)
from gateway.store.sqlite.compile import EQ_SQL, compile_query, order_by

_T = TypeVar("_T")
log = logging.getLogger(__name__)

POOL_SIZE: Final = 8  # connections per process: reads beside one write
STATEMENT_TIMEOUT_MS: Final = 60_000  # no statement holds a connection longer
RECONNECT_SECONDS: Final = 30.0  # how long a read or a write's start waits for the database
NOTIFY_CHANNEL: Final = "melinda_gateway_commits"
LISTEN_CONNECT_SECONDS: Final = 5.0
CLOSE_SECONDS: Final = 10.0  # a stop waits this long for work under way, then cuts the connections
_MIGRATION_LOCK: Final = 0x4D454C49  # advisory lock key: one process migrates at a time
SNAPSHOT_MARK: Final = "melinda-gateway postgresql snapshot\n"

# What a lost connection looks like to asyncpg: the operation may be tried again on a new one.
CONNECTION_ERRORS: Final = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
)


# A write refused because the database only reads (a hot-standby replica).
ReadOnlyDatabaseError: Final = asyncpg.exceptions.ReadOnlySQLTransactionError


class StoreUnavailableError(Exception):
    """The database did not answer within RECONNECT_SECONDS."""


def dollar_params(sql: str) -> str:
    """The shared query compiler's `?` placeholders as PostgreSQL's `$1, $2, ...`."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


def _column(view: View) -> str:
    return "alma_xml" if view is View.FIN01ALMA else "xml"


_EPOCH: Final = "extract(epoch FROM datestamp)::bigint"
_ROW_SQL: Final = f"SELECT id, seq, {_EPOCH}, version, deleted, xml, alma_xml FROM records"


def _record_row(row: Any) -> RecordRow:
    if len(row) <= 7:
        return RecordRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])
    return RecordRow(
        row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7], OaiForms(row[8], row[9])
    )


def _changes_columns(view: View, ready: Ready | None) -> str:
    """A change-feed read's columns: the record's MARCXML only where the stored OAI-PMH forms
    asked for are missing (they are the fin01 view's: other views make them when sent)."""
    if ready is None or view is not View.FIN01:
        return f"id, seq, {_EPOCH}, deleted, {_column(view)}, NULL, NULL"
    if ready == "sets":
        return (
            f"id, seq, {_EPOCH}, deleted,"
            " CASE WHEN oai_sets IS NULL THEN xml ELSE ''::bytea END, oai_sets, NULL"
        )
    return (
        f"id, seq, {_EPOCH}, deleted,"
        " CASE WHEN oai_marc21 IS NULL OR oai_sets IS NULL THEN xml ELSE ''::bytea END,"
        " oai_sets, oai_marc21"
    )


def _stored(row: Any, view: View) -> StoredRecord:
    return StoredRecord(row[0], row[1], row[2], bool(row[3]), row[4], view)


BIB_BASE: Final = "fin01"
AUTHORITY_BASE: Final = "fin11"
# Each base's tables: the bib base's `records`, `terms`, `change_seq` and counters' `high_id`;
# Asteri's the same names with `aut_` before them (SQLite's layout too).
BASE_PREFIXES: Final[dict[str, str]] = {BIB_BASE: "", AUTHORITY_BASE: "aut_"}
_BASE_NAMES: Final = re.compile(r"\b(?:records|terms|change_seq|high_id)\b")


@functools.lru_cache(maxsize=512)
def in_base(sql: str, prefix: str) -> str:
    """`sql` over the tables of the base whose names start with `prefix`."""
    return _BASE_NAMES.sub(lambda m: prefix + m.group(0), sql) if prefix else sql


class BaseConnection:
    """An asyncpg connection whose statements name one base's tables (the store's SQL is
    written against the bib base's names)."""

    def __init__(self, conn: asyncpg.Connection, prefix: str) -> None:
        self.raw = conn
        self._prefix = prefix

    def is_closed(self) -> bool:
        return bool(self.raw.is_closed())

    async def execute(self, sql: str, *args: Any) -> str:
        return str(await self.raw.execute(in_base(sql, self._prefix), *args))

    async def executemany(self, sql: str, args: Any) -> None:
        await self.raw.executemany(in_base(sql, self._prefix), args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.raw.fetch(in_base(sql, self._prefix), *args))

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self.raw.fetchrow(in_base(sql, self._prefix), *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.raw.fetchval(in_base(sql, self._prefix), *args)


class _Shared:
    """What every base of one database shares in a process: the pool, the writers' turn,
    the LISTEN connection and how to connect."""

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.url = url
        self.pool = pool
        self.write_lock = asyncio.Lock()  # one writer of this process waits on the row lock
        self.listener: asyncpg.Connection | None = None
        self.listened_at = time.monotonic()
        self.password = ""
        self.tls: ssl.SSLContext | bool = False
        self.bases: dict[str, PostgresStore] = {}
        self.lost_noted = -RECONNECT_SECONDS  # when a lost connection was last noted
        self.closed = False  # closed on purpose: no retrying


_COUNTERS_SQL: Final = """
    SELECT c.high_id, c.commits,
           (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_seq),
           (SELECT coalesce(max(id), 0) FROM records),
           coalesce(extract(epoch FROM (SELECT max(datestamp) FROM records))::bigint, 0)
    FROM counters c"""


class PostgresWriteTxn:
    """The open write transaction on one pooled connection; every method runs inside it."""

    def __init__(self, store: PostgresStore, conn: BaseConnection) -> None:
        self._store = store
        self._conn = conn
        self._checks: list[tuple[int, int]] = []  # expect_seq: checked before the next statement
        self._pending: list[tuple[str, tuple[Any, ...]]] = []  # from sync methods, sent with it

    def expect_seq(self, record_id: int, seq: int) -> None:
        self._checks.append((record_id, seq))

    async def _checked(self) -> BaseConnection:
        pending, self._pending = self._pending, []
        for sql, args in pending:
            await self._conn.execute(sql, *args)
        checks, self._checks = self._checks, []
        for record_id, seq in checks:
            found = await self._conn.fetchval("SELECT seq FROM records WHERE id = $1", record_id)
            if found != seq:
                raise RowChangedError(record_id)
        return self._conn

    async def get_row(self, record_id: int) -> RecordRow | None:
        conn = await self._checked()
        row = await conn.fetchrow(f"{_ROW_SQL} WHERE id = $1", record_id)
        return _record_row(row) if row else None

    async def existing_rows(
        self, ids: Sequence[int], *, iso2709: bool = False
    ) -> dict[int, RecordRow]:
        """The stored rows of `ids` that exist; `iso2709`: with the stored forms a splice edits
        (ISO 2709, the OAI-PMH forms)."""
        conn = await self._checked()
        iso = ", iso, oai_sets, oai_marc21" if iso2709 else ""
        select = _ROW_SQL.replace(" FROM records", f"{iso} FROM records")
        rows = await conn.fetch(f"{select} WHERE id = ANY($1::bigint[])", list(ids))
        return {row[0]: _record_row(row) for row in rows}

    # --- harvests ---------------------------------------------------------------------------
    async def new_harvest_id(self) -> int:
        conn = await self._checked()
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM harvests"))

    def save_harvest(self, harvest_id: int, library: str, state: str, run: str) -> None:
        self._pending.append(
            (
                "INSERT INTO harvests (id, library, state, run) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (id) DO UPDATE SET library = excluded.library,"
                " state = excluded.state, run = excluded.run",
                (harvest_id, library, state, run),
            )
        )

    def note_harvested(self, library: str, rows: Sequence[tuple[str, int, str, str]]) -> None:
        for identifier, rec, how, digest in rows:
            self._pending.append(
                (
                    "INSERT INTO harvested (library, identifier, rec, how, digest)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (library, identifier) DO UPDATE"
                    " SET rec = excluded.rec, how = excluded.how, digest = excluded.digest",
                    (library, identifier, rec, how, digest),
                )
            )

    def forget_harvested(self, library: str, local_ids: Sequence[str]) -> None:
        self._pending.append(
            (
                "DELETE FROM harvested WHERE library = $1 AND identifier = ANY($2::text[])",
                (library, list(local_ids)),
            )
        )

    def note_relink(self, authority_id: int, seq: int) -> None:
        self._pending.append(
            (
                "INSERT INTO asteri_relinks (authority, since) VALUES ($1, $2)"
                " ON CONFLICT (authority) DO UPDATE"
                " SET since = greatest(asteri_relinks.since, excluded.since)",
                (authority_id, seq),
            )
        )

    def next_id(self) -> int:
        self._store._high_id += 1
        return self._store._high_id

    def note_id(self, record_id: int) -> None:
        if record_id > self._store._high_id:
            self._store._high_id = record_id

    def _take_seqs(self, count: int) -> list[int]:
        store = self._store
        first = store._seq + 1
        store._seq += count
        return list(range(first, store._seq + 1))

    async def save(
        self,
        writes: Sequence[RecordWrite],
        old_entries: dict[int, IndexEntry],
        *,
        sorted_terms: list[tuple[int, str, int]] | None = None,
    ) -> list[int]:
        """Insert or replace records and their index terms; returns the seq given to each."""
        conn = await self._checked()
        store = self._store
        seqs = self._take_seqs(len(writes))
        columns: list[list[Any]] = [[] for _ in range(13)]
        delete_terms: list[tuple[int, str, int]] = []
        insert_terms: list[tuple[int, str, int]] = list(sorted_terms or ())
        for write, seq in zip(writes, seqs, strict=True):
            store._datestamp = max(store._datestamp, write.datestamp)
            entry = write.entry
            values = (
                write.id,
                seq,
                write.datestamp,
                write.version,
                write.deleted,
                write.xml,
                write.alma_xml,
                entry.sort_title if entry else "",
                entry.sort_author if entry else "",
                entry.sort_date if entry else "",
                write.iso2709,
                write.oai.sets,
                write.oai.marc21,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
            old = old_entries.get(write.id)
            new_terms = entry.terms if entry else set()
            old_terms = old.terms if old else set()
            delete_terms.extend((ix, term, write.id) for ix, term in old_terms - new_terms)
            insert_terms.extend((ix, term, write.id) for ix, term in new_terms - old_terms)
        if writes:
            await conn.execute(
                "INSERT INTO records (id, seq, datestamp, version, deleted, xml, alma_xml,"
                " sort_title, sort_author, sort_date, iso, oai_sets, oai_marc21)"
                " SELECT id, seq, to_timestamp(ds), version, deleted, xml, alma_xml, st, sa, sd, iso,"
                " os, om"
                " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],"
                " $5::boolean[], $6::bytea[], $7::bytea[], $8::text[], $9::text[], $10::text[],"
                " $11::bytea[], $12::text[], $13::bytea[])"
                " AS u(id, seq, ds, version, deleted, xml, alma_xml, st, sa, sd, iso, os, om)"
                " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, datestamp = excluded.datestamp,"
                " version = excluded.version, deleted = excluded.deleted, xml = excluded.xml,"
                " alma_xml = excluded.alma_xml, sort_title = excluded.sort_title,"
                " sort_author = excluded.sort_author, sort_date = excluded.sort_date,"
                " iso = excluded.iso, oai_sets = excluded.oai_sets,"
                " oai_marc21 = excluded.oai_marc21",
                *columns,
            )
        await self._change_terms(delete_terms, insert_terms)
        return seqs

    async def _change_terms(
        self, delete_terms: list[tuple[int, str, int]], insert_terms: list[tuple[int, str, int]]
    ) -> None:
        if delete_terms:
            ixs, terms, recs = (list(c) for c in zip(*delete_terms, strict=True))
            await self._conn.execute(
                "DELETE FROM terms t USING unnest($1::int[], $2::text[], $3::bigint[])"
                " AS d(ix, term, rec) WHERE t.ix = d.ix AND t.term = d.term AND t.rec = d.rec",
                ixs,
                terms,
                recs,
            )
        if insert_terms:
            insert_terms.sort()  # B-tree inserts in key order
            for start in range(0, len(insert_terms), 200_000):
                chunk = insert_terms[start : start + 200_000]
                ixs, terms, recs = (list(c) for c in zip(*chunk, strict=True))
                await self._conn.execute(
                    "INSERT INTO terms (ix, term, rec)"
                    " SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[])"
                    " ON CONFLICT DO NOTHING",
                    ixs,
                    terms,
                    recs,
                )

    async def save_spliced(self, writes: Sequence[SplicedWrite]) -> list[int]:
        """Update records in place and change just the index terms named; returns each seq."""
        conn = await self._checked()
        store = self._store
        seqs = self._take_seqs(len(writes))
        insert_terms: list[tuple[int, str, int]] = []
        delete_terms: list[tuple[int, str, int]] = []
        for write in writes:
            store._datestamp = max(store._datestamp, write.datestamp)
            insert_terms.extend((ix, term, write.id) for ix, term in write.added_terms)
            delete_terms.extend((ix, term, write.id) for ix, term in write.removed_terms)
        if writes:
            await conn.execute(
                "UPDATE records r SET seq = u.seq, datestamp = to_timestamp(u.ds),"
                " version = u.version, xml = u.xml, alma_xml = u.alma_xml, iso = u.iso,"
                " oai_sets = u.os, oai_marc21 = u.om"
                " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],"
                " $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], $9::bytea[])"
                " AS u(id, seq, ds, version, xml, alma_xml, iso, os, om)"
                " WHERE r.id = u.id",
                [w.id for w in writes],
                seqs,
                [w.datestamp for w in writes],
                [w.version for w in writes],
                [w.xml for w in writes],
                [w.alma_xml for w in writes],
                [w.iso2709 for w in writes],
                [w.oai.sets for w in writes],
                [w.oai.marc21 for w in writes],
            )
        await self._change_terms(delete_terms, insert_terms)
        return seqs

    async def tail_rows(self, ids: Sequence[int]) -> dict[int, TailRow]:
        raise NotImplementedError("PostgreSQL keeps records whole (keeps_tails is False)")

    async def save_tails(self, writes: Sequence[TailWrite]) -> list[int]:
        raise NotImplementedError("PostgreSQL keeps records whole (keeps_tails is False)")

    async def log_significant_change(
        self,
        seq: int,
        record_id: int,
        at: int,
        user: str,
        library: str,
        fields: list[dict[str, Any]],
    ) -> None:
        conn = await self._checked()
        await conn.execute(
            'INSERT INTO significant_changes (seq, rec, at, "user", library, fields)'
            " VALUES ($1, $2, to_timestamp($3), $4, $5, $6::jsonb) ON CONFLICT (seq) DO UPDATE"
            ' SET rec = excluded.rec, at = excluded.at, "user" = excluded."user",'
            " library = excluded.library, fields = excluded.fields",
            seq,
            record_id,
            at,
            user,
            library,
            json.dumps(fields, ensure_ascii=False),
        )

    async def execute(self, sql: str, *params: object) -> None:
        conn = await self._checked()
        await conn.execute(sql, *params)

    async def fetchval(self, sql: str, *params: object) -> Any:
        """The first value of one statement's first row (None: no row)."""
        conn = await self._checked()
        return await conn.fetchval(sql, *params)

    async def publishing_result(self, library: str, file_key: str) -> str | None:
        conn = await self._checked()
        found = await conn.fetchval(
            "SELECT result FROM publishing_log WHERE library = $1 AND file_key = $2",
            library,
            file_key,
        )
        return None if found is None else str(found)

    async def record_publishing(self, library: str, file_key: str, at: int, result: str) -> None:
        conn = await self._checked()
        await conn.execute(
            "INSERT INTO publishing_log (library, file_key, at, result)"
            " VALUES ($1, $2, to_timestamp($3), $4) ON CONFLICT (library, file_key)"
            " DO UPDATE SET at = excluded.at, result = excluded.result",
            library,
            file_key,
            at,
            result,
        )


class SideTxn:
    """A transaction of `side_transaction`: statements and single values."""

    def __init__(self, conn: BaseConnection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *params: object) -> None:
        await self._conn.execute(sql, *params)

    async def fetchval(self, sql: str, *params: object) -> Any:
        return await self._conn.fetchval(sql, *params)


class PostgresStore:
    """Open with `await PostgresStore.open(url)`; close with `await store.close()`."""

    def __init__(self, shared: _Shared, base: str = BIB_BASE) -> None:
        self.url = shared.url
        self.base_name = base
        # PostgreSQL keeps forms whole: an UPDATE leaves the unchanged TOASTed ones alone, and a
        # LOW change takes the splice (gateway/records/splice.py)
        self.keeps_tails = False
        self._shared = shared
        self._prefix = BASE_PREFIXES[base]
        shared.bases[base] = self
        self._seq = 0
        self._high_id = 0
        self._datestamp = 0
        self._commits_seen: int | None = None
        self.generation = 0
        # LISTEN is a wake-up only: `counters.commits` is what says another process wrote
        self._woken = True
        self._looked_at = 0.0
        self.ill: IllStore = PostgresIllRows(self)

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._shared.pool

    @property
    def _write_lock(self) -> asyncio.Lock:
        return self._shared.write_lock

    @property
    def _password(self) -> str:
        return self._shared.password

    @property
    def _tls(self) -> ssl.SSLContext | bool:
        return self._shared.tls

    @property
    def connect_password(self) -> str:
        """The password the store connected with (from the URL or the password file)."""
        return self._shared.password

    @property
    def connect_tls(self) -> ssl.SSLContext | bool:
        return self._shared.tls

    def base(self, name: str) -> PostgresStore:
        """The store of another base in this database (`fin11`: Asteri's authorities),
        sharing this one's pool and writers' turn, with its own ids and change sequence."""
        return self._shared.bases[name]

    def _in_base(self, conn: asyncpg.Connection) -> BaseConnection:
        return BaseConnection(conn, self._prefix)

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresStore:
        # the password file and TLS certificates are read here, off the event loop
        # (asyncpg would read them on it)
        url, tls = await asyncio.to_thread(tls_of, url)
        password = await asyncio.to_thread(pgpass_password, url)
        pool = await asyncpg.create_pool(
            url,
            password=password,
            ssl=tls,
            min_size=1,
            max_size=pool_size,
            # a client-side bound too: a connection whose server vanished without a word
            command_timeout=STATEMENT_TIMEOUT_MS / 1000 + 5,
            server_settings={
                "statement_timeout": str(STATEMENT_TIMEOUT_MS),
                "application_name": "melinda-gateway",
            },
        )
        shared = _Shared(url, pool)
        shared.password = password
        shared.tls = tls
        store = cls(shared)
        try:
            async with pool.acquire() as conn:
                await _migrate(conn)
            for name in BASE_PREFIXES:
                await (store if name == BIB_BASE else cls(shared, name))._read_counters()
            await store._listen()
        except BaseException:
            await pool.close()
            raise
        return store

    @property
    def _listener(self) -> asyncpg.Connection | None:
        return self._shared.listener

    async def _listen(self) -> None:
        shared = self._shared
        try:
            # bounded: a read waits for this (asyncpg's own bound is a minute)
            shared.listener = await asyncpg.connect(
                self.url, password=self._password, ssl=self._tls, timeout=LISTEN_CONNECT_SECONDS
            )
            await shared.listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
            shared.listener.add_termination_listener(self._on_listener_lost)
        except (*CONNECTION_ERRORS, TimeoutError, asyncpg.PostgresError):  # a replica refuses LISTEN
            shared.listener = None  # refresh() then asks the database every time

    def _on_notify(self, *_: object) -> None:
        for store in self._shared.bases.values():
            store._woken = True

    def _on_listener_lost(self, *_: object) -> None:
        self._shared.listener = None
        self._on_notify()

    async def checkpointed(self) -> None:
        """Nothing is left after a commit: PostgreSQL checkpoints on its own schedule."""

    async def close(self) -> None:
        shared = self._shared
        shared.closed = True
        try:
            async with asyncio.timeout(CLOSE_SECONDS), self._write_lock:
                if shared.listener is not None:
                    listener, shared.listener = shared.listener, None
                    await listener.close()
                await self._pool.close()
        except TimeoutError:
            # asyncpg's close waits for every borrowed connection: one never given back
            # (a task not stopped) would hold the stop for ever; nothing acknowledged is lost
            log.warning(
                "the PostgreSQL store was still in use %.1f s after its stop began;"
                " its connections are cut",
                CLOSE_SECONDS,
            )
            self._pool.terminate()

    async def _retrying(self, work: Callable[[BaseConnection], Awaitable[_T]]) -> _T:
        """`work` on a pooled connection; again on a fresh one while the database restarts."""
        deadline = time.monotonic() + RECONNECT_SECONDS
        pause = 0.05
        while True:
            try:
                async with self._pool.acquire() as conn:
                    return await work(self._in_base(conn))
            except CONNECTION_ERRORS as exc:
                if self._shared.closed or time.monotonic() > deadline:
                    raise StoreUnavailableError(f"the database does not answer: {exc}") from exc
                self._note_lost(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)

    def _note_lost(self, exc: BaseException) -> None:
        """One warning per outage, not one per try of every request waiting it out."""
        now = time.monotonic()
        if now - self._shared.lost_noted > RECONNECT_SECONDS:
            log.warning("database connection lost (%s); trying again", exc)
        self._shared.lost_noted = now

    async def _read_counters(self) -> None:
        row = await self._retrying(lambda conn: conn.fetchrow(_COUNTERS_SQL))
        self._set_counters(row)

    def _set_counters(self, row: Any, *, exact: bool = False) -> None:
        """Take the database's counters: exactly under the writers' lock (`exact`), else
        only where they rise: a write of this process may be under way and ahead of them."""
        high_id, commits, seq, max_id, datestamp = row
        high_id, seq, datestamp = max(int(high_id), int(max_id)), int(seq), int(datestamp)
        if exact:
            self._high_id, self._seq, self._datestamp = high_id, seq, datestamp
        else:
            self._high_id = max(self._high_id, high_id)
            self._seq = max(self._seq, seq)
            self._datestamp = max(self._datestamp, datestamp)
        if self._commits_seen is not None and commits != self._commits_seen:
            self.generation += 1
        self._commits_seen = int(commits)

    def change_mark(self) -> object | None:
        """None: the database's state cannot be known without a round trip, so nothing read
        earlier stands in for a read."""
        return None

    async def refresh(self) -> int:
        """Notice a commit another process made; asks the database when woken by NOTIFY,
        and at least once a second whatever (a notification may be lost)."""
        now = time.monotonic()
        if self._listener is None and now - self._shared.listened_at > 5.0:
            self._shared.listened_at = now
            await self._listen()  # lost with a database restart: listen again
        if self._listener is None or self._woken or now - self._looked_at > 1.0:
            self._woken = False
            self._looked_at = now
            await self._read_counters()
        return self.generation

    # --- the write transaction ---------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self, *, optimistic: bool = False) -> AsyncIterator[PostgresWriteTxn]:
        """One write transaction: commit on success, roll back (and restore counters) on error.
        `optimistic` is ignored: every transaction here begins under the writers' row lock."""
        async with self._write_lock:
            conn, txn_handle = await self._begin()
            seq, high, datestamp = self._seq, self._high_id, self._datestamp
            txn = PostgresWriteTxn(self, conn)
            try:
                try:
                    yield txn
                    await txn._checked()
                    if self._seq != seq:
                        await conn.execute(
                            "SELECT setval('change_seq', greatest($1::bigint, 1), $1::bigint > 0)",
                            self._seq,
                        )
                    commits = await conn.fetchval(
                        "UPDATE counters SET high_id = $1, commits = commits + 1"
                        " RETURNING commits",
                        self._high_id,
                    )
                    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
                    await txn_handle.commit()
                    self._commits_seen = int(commits)
                except BaseException:
                    self._seq, self._high_id, self._datestamp = seq, high, datestamp
                    if not conn.is_closed():
                        with suppress(*CONNECTION_ERRORS):
                            await txn_handle.rollback()
                    raise
            finally:
                await self._pool.release(conn.raw)

    @asynccontextmanager
    async def side_transaction(self) -> AsyncIterator[SideTxn]:
        """One transaction on tables beside the catalog (interlibrary loans): no writers'
        turn and no change sequence, so it waits for no catalog write; its start is tried
        again while the database restarts."""
        deadline = time.monotonic() + RECONNECT_SECONDS
        pause = 0.05
        while True:
            raw = await self._pool.acquire()
            handle = raw.transaction()
            try:
                await handle.start()
                break
            except CONNECTION_ERRORS as exc:
                await self._pool.release(raw)
                if self._shared.closed or time.monotonic() > deadline:
                    raise StoreUnavailableError(f"the database does not answer: {exc}") from exc
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
            except BaseException:
                await self._pool.release(raw)
                raise
        try:
            try:
                yield SideTxn(BaseConnection(raw, ""))
                await handle.commit()
            except BaseException:
                if not raw.is_closed():
                    with suppress(*CONNECTION_ERRORS):
                        await handle.rollback()
                raise
        finally:
            await self._pool.release(raw)

    async def _begin(self) -> tuple[BaseConnection, Any]:
        """A connection in a transaction holding the writers' row lock, counters read under it;
        tried again while the database restarts (nothing has been written yet)."""
        deadline = time.monotonic() + RECONNECT_SECONDS
        pause = 0.05
        while True:
            raw = await self._pool.acquire()
            conn = self._in_base(raw)
            try:
                handle = raw.transaction()
                await handle.start()
                # the lock first, the counters in a statement of their own: in READ COMMITTED
                # that one sees what the writer before committed (a locking read's
                # subqueries would keep the values from before its wait)
                await conn.execute("SELECT 1 FROM counters FOR UPDATE")
                row = await conn.fetchrow(_COUNTERS_SQL)
            except CONNECTION_ERRORS as exc:
                await self._pool.release(raw)
                if self._shared.closed or time.monotonic() > deadline:
                    raise StoreUnavailableError(f"the database does not answer: {exc}") from exc
                self._note_lost(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            except BaseException:
                await self._pool.release(raw)
                raise
            self._set_counters(row, exact=True)
            return conn, handle

    # --- reads ---------------------------------------------------------------------------------
    async def fetch_rows(self, sql: str, *params: object) -> list[Any]:
        """The rows of one statement (tried again on a new connection while the database restarts)."""
        return await self._retrying(lambda conn: conn.fetch(sql, *params))

    async def get_row(self, record_id: int) -> RecordRow | None:
        rows = await self.fetch_rows(f"{_ROW_SQL} WHERE id = $1", record_id)
        return _record_row(rows[0]) if rows else None

    async def fetch(
        self, ids: Sequence[int], view: View, *, iso2709: bool = False
    ) -> list[StoredRecord]:
        """The records of `ids` in that order (missing ids skipped); `iso2709`: with the
        stored ISO 2709 form of fin01 records, where there is one."""
        return await self._fetch(ids, view, iso2709=iso2709)

    async def _fetch(
        self, ids: Sequence[int], view: View, *, iso2709: bool = False
    ) -> list[StoredRecord]:
        wanted = list(ids)
        if not wanted:
            return []
        iso = "iso" if iso2709 and view is View.FIN01 else "NULL::bytea"
        rows = await self.fetch_rows(
            f"SELECT id, seq, {_EPOCH}, deleted, {_column(view)}, {iso} FROM records"
            " WHERE id = ANY($1::bigint[])",
            wanted,
        )
        found = {
            row[0]: StoredRecord(row[0], row[1], row[2], bool(row[3]), row[4], view, row[5])
            for row in rows
        }
        return [found[i] for i in wanted if i in found]

    async def search(self, query: Query, *, sort: Sequence[SortKey], cap: int) -> ResultSet:
        return await self._search(query, sort=sort, cap=cap)

    async def _search(self, query: Query, *, sort: Sequence[SortKey], cap: int) -> ResultSet:
        sql, params = _search_sql(query, sort, cap)
        rows = await self.fetch_rows(sql, *params)
        return _result_set(rows, cap)

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
        or all of them when it found at most `whole_within`; `iso2709` as in `fetch`."""
        found = await self._search(query, sort=sort, cap=cap)
        page = page_of(found, start, count, whole_within)
        return found, await self._fetch(page, view, iso2709=iso2709) if page else []

    async def scan(
        self, ixs: Sequence[int], start: str, *, before: int, after: int
    ) -> list[ScanTerm]:
        below: list[ScanTerm] = []
        if before > 0:
            rows = await self.fetch_rows(
                "SELECT term, count(*) FROM terms WHERE ix = ANY($1::int[]) AND term < $2"
                " GROUP BY term ORDER BY term DESC LIMIT $3",
                list(ixs),
                start,
                before,
            )
            below = [ScanTerm(r[0], r[1]) for r in reversed(rows)]
        rows = await self.fetch_rows(
            "SELECT term, count(*) FROM terms WHERE ix = ANY($1::int[]) AND term >= $2"
            " GROUP BY term ORDER BY term LIMIT $3",
            list(ixs),
            start,
            after,
        )
        return below + [ScanTerm(r[0], r[1]) for r in rows]

    async def counts(self) -> tuple[int, int]:
        rows = await self.fetch_rows(
            "SELECT count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted)"
            " FROM records"
        )
        return int(rows[0][0]), int(rows[0][1])

    async def earliest_datestamp(self) -> int | None:
        rows = await self.fetch_rows(
            "SELECT extract(epoch FROM (SELECT min(datestamp) FROM records))::bigint"
        )
        return None if rows[0][0] is None else int(rows[0][0])

    async def seq_floor(self, since: int | None) -> int:
        """The last seq before `since`: datestamps never decrease along seq, so scans start here."""
        if since is None:
            return 0
        rows = await self.fetch_rows(
            "SELECT seq FROM records WHERE datestamp >= to_timestamp($1)"
            " ORDER BY datestamp, seq LIMIT 1",
            since,
        )
        if not rows:
            await self.refresh()
            return self._seq
        return int(rows[0][0]) - 1

    @staticmethod
    def _changes_where(
        after_seq: int, since: int | None, until: int | None, set_term: tuple[int, str] | None
    ) -> tuple[str, list[object]]:
        clauses = ["seq > $1"]
        params: list[object] = [after_seq]
        if since is not None:
            params.append(since)
            clauses.append(f"datestamp >= to_timestamp(${len(params)})")
        if until is not None:
            params.append(until)
            clauses.append(f"datestamp <= to_timestamp(${len(params)})")
        if set_term is not None:
            params.extend(set_term)
            clauses.append(
                f"id IN (SELECT rec FROM terms WHERE ix = ${len(params) - 1}"
                f" AND term = ${len(params)})"
            )
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
        """A page of changes in seq order after `after_seq` (keyset paging: no OFFSET)."""
        where, params = self._changes_where(after_seq, since, until, set_term)
        rows = await self.fetch_rows(
            f"SELECT {_changes_columns(view, ready)} FROM records"
            f" WHERE {where} ORDER BY seq LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [
            StoredRecord(r[0], r[1], r[2], bool(r[3]), r[4], view, None, r[5], r[6]) for r in rows
        ]

    async def count_changes(
        self,
        *,
        after_seq: int,
        since: int | None,
        until: int | None,
        set_term: tuple[int, str] | None,
    ) -> int:
        where, params = self._changes_where(after_seq, since, until, set_term)
        rows = await self.fetch_rows(f"SELECT count(*) FROM records WHERE {where}", *params)
        return int(rows[0][0])

    async def set_terms(self) -> tuple[list[str], list[str]]:
        """(LOW codes in use, named OAI sets with members), each sorted."""
        result: list[list[str]] = []
        for ix in (IX_LOW, IX_OAISET):
            rows = await self.fetch_rows(
                "SELECT DISTINCT term FROM terms WHERE ix = $1 ORDER BY term", ix
            )
            result.append([r[0] for r in rows])
        return result[0], result[1]

    async def term_pairs(self, ix: int, terms: set[str]) -> set[tuple[str, int]]:
        rows = await self.fetch_rows(
            "SELECT term, rec FROM terms WHERE ix = $1 AND term = ANY($2::text[])",
            ix,
            sorted(terms),
        )
        return {(r[0], r[1]) for r in rows}

    async def existing_ids(self, ids: Sequence[int]) -> set[int]:
        rows = await self.fetch_rows(
            "SELECT id FROM records WHERE id = ANY($1::bigint[])", list(ids)
        )
        return {r[0] for r in rows}

    async def ids_with_term(self, ix: int, term: str) -> list[int]:
        rows = await self.fetch_rows(
            "SELECT rec FROM terms WHERE ix = $1 AND term = $2 ORDER BY rec", ix, term
        )
        return [r[0] for r in rows]

    async def export(self, view: View, batch: int = 1000) -> AsyncIterator[StoredRecord]:
        """Every record in id order, `batch` a statement (keyset: id > the last one)."""
        last = 0
        while True:
            rows = await self.fetch_rows(
                f"SELECT id, seq, {_EPOCH}, deleted, {_column(view)} FROM records"
                " WHERE id > $1 ORDER BY id LIMIT $2",
                last,
                batch,
            )
            if not rows:
                return
            for r in rows:
                yield _stored(r, view)
            last = rows[-1][0]

    async def index_pairs(self, ix: int) -> list[tuple[str, int]]:
        """Every (term, record) of index `ix`, by term."""
        rows = await self.fetch_rows(
            "SELECT term, rec FROM terms WHERE ix = $1 ORDER BY term, rec", ix
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def significant_changes(
        self, *, after_seq: int, limit: int, record_id: int | None = None
    ) -> list[dict[str, Any]]:
        rows = await self.fetch_rows(
            'SELECT seq, rec, extract(epoch FROM at)::bigint, "user", library, fields::text'
            " FROM significant_changes WHERE seq > $1 AND ($3::bigint IS NULL OR rec = $3)"
            " ORDER BY seq DESC LIMIT $2",
            after_seq,
            limit,
            record_id,
        )
        return [significant_change(r) for r in rows]

    # --- libraries -----------------------------------------------------------------------------
    async def library_row(self, code: str) -> tuple[Library, str] | None:
        """The library and its password hash."""

        async def work(conn: asyncpg.Connection) -> tuple[Library, str] | None:
            row = await conn.fetchrow(
                f"SELECT {LIBRARY_COLUMNS} FROM libraries WHERE code = $1",
                code.upper(),
            )
            if row is None:
                return None
            lows = await conn.fetch(
                "SELECT low FROM library_lows WHERE code = $1 ORDER BY low", row[0]
            )
            keys = await conn.fetch("SELECT key FROM ssh_keys WHERE code = $1 ORDER BY key", row[0])
            return library_with_hash(row, (r[0] for r in lows), (r[0] for r in keys))

        return await self._retrying(work)

    async def library_rows(self) -> list[tuple[Library, str]]:
        """Every library with its password hash, by code, in one read."""

        async def work(conn: BaseConnection) -> list[tuple[Library, str]]:
            return libraries_with_hashes(
                await conn.fetch(f"SELECT {LIBRARY_COLUMNS} FROM libraries ORDER BY code"),
                await conn.fetch("SELECT code, low FROM library_lows ORDER BY code, low"),
                await conn.fetch("SELECT code, key FROM ssh_keys ORDER BY code, key"),
            )

        return await self._retrying(work)

    async def library_codes(self) -> list[str]:
        return [r[0] for r in await self.fetch_rows("SELECT code FROM libraries ORDER BY code")]

    async def save_library(self, library: Library, password_hash: str | None) -> None:
        async with self.transaction() as txn:
            await txn.execute(
                "INSERT INTO libraries (code, name, sid_code, level, privileged, password_hash)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET"
                " name = excluded.name, sid_code = excluded.sid_code, level = excluded.level,"
                " privileged = excluded.privileged, password_hash = CASE WHEN $7"
                " THEN excluded.password_hash ELSE libraries.password_hash END",
                library.code,
                library.name,
                library.sid_code,
                library.level,
                library.privileged,
                password_hash or "",
                password_hash is not None,
            )
            await txn.execute("DELETE FROM library_lows WHERE code = $1", library.code)
            for low in library.lows:
                await txn.execute(
                    "INSERT INTO library_lows (code, low) VALUES ($1, $2)", library.code, low
                )
            for key in library.ssh_keys:
                await txn.execute(
                    "INSERT INTO ssh_keys (code, key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    library.code,
                    key,
                )

    async def delete_library(self, code: str) -> bool:
        async with self.transaction() as txn:
            await txn.execute("DELETE FROM libraries WHERE code = $1", code.upper())
        return True

    @property
    def high_id(self) -> int:
        """The highest Melinda ID ever given, as last read (ids are never reused)."""
        return self._high_id

    @property
    def latest_datestamp(self) -> int:
        return self._datestamp

    async def harvest_rows(self, harvest_id: int | None = None, limit: int = 100) -> list[str]:
        """The JSON of harvest `harvest_id`, or of the latest `limit` harvests, newest first."""
        if harvest_id is not None:
            rows = await self.fetch_rows("SELECT run FROM harvests WHERE id = $1", harvest_id)
        else:
            rows = await self.fetch_rows(
                "SELECT run FROM harvests ORDER BY id DESC LIMIT $1", limit
            )
        return [str(r[0]) for r in rows]

    async def pending_relinks(self) -> list[tuple[int, int]]:
        rows = await self.fetch_rows("SELECT authority, since FROM asteri_relinks ORDER BY since")
        return [(int(r[0]), int(r[1])) for r in rows]

    async def relink_done(self, authority_id: int, seq: int) -> None:
        async with self.transaction() as txn:
            await txn.execute(
                "DELETE FROM asteri_relinks WHERE authority = $1 AND since <= $2", authority_id, seq
            )

    async def harvested(
        self, library: str, local_ids: Sequence[str]
    ) -> dict[str, tuple[int, str, str]]:
        """OAI identifier -> (record id, how, digest) for those of `local_ids` harvested before."""
        rows = await self.fetch_rows(
            "SELECT identifier, rec, how, digest FROM harvested"
            " WHERE library = $1 AND identifier = ANY($2::text[])",
            library,
            list(local_ids),
        )
        return {r[0]: (int(r[1]), str(r[2]), str(r[3])) for r in rows}

    async def low_counts(self) -> list[tuple[str, int]]:
        rows = await self.fetch_rows(
            "SELECT term, count(*) FROM terms WHERE ix = $1 GROUP BY term ORDER BY term", IX_LOW
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    # --- snapshots: a copy of the tables in a schema of their own, named by a small file ----------
    async def snapshot(self, path: str) -> None:
        """Copy the whole store into the schema named after `path`, consistent (under the
        writers' lock); the file `path` names that schema, so snapshots list as on SQLite."""
        if self._prefix:  # one snapshot holds every base
            return await self.base(BIB_BASE).snapshot(path)
        schema = snapshot_schema(path)
        async with self.transaction() as txn:
            await txn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await txn.execute(f"CREATE SCHEMA {schema}")
            for table in SNAPSHOT_TABLES:
                await txn.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM {table}")
            for store in self._shared.bases.values():
                await txn.execute(
                    f"CREATE TABLE {schema}.{store._prefix}change_seq AS"
                    " SELECT $1::bigint AS last_value",
                    store._seq,
                )
        await asyncio.to_thread(Path(path).write_text, f"{SNAPSHOT_MARK}schema {schema}\n")

    async def restore(self, path: str) -> None:
        """Replace the whole store with a snapshot's tables, in one transaction."""
        if self._prefix:
            return await self.base(BIB_BASE).restore(path)
        text = await asyncio.to_thread(Path(path).read_text)
        if not text.startswith(SNAPSHOT_MARK):
            raise ValueError(f"{path} is not a PostgreSQL store's snapshot")
        schema = text[len(SNAPSHOT_MARK) :].split()[1]
        async with self.transaction() as txn:
            await txn.execute(f"TRUNCATE {', '.join(SNAPSHOT_TABLES)}")
            for table in SNAPSHOT_TABLES:
                # a snapshot taken before a table was added has none: it stays empty
                if await txn.fetchval("SELECT to_regclass($1)", f"{schema}.{table}") is None:
                    continue
                await txn.execute(f"INSERT INTO {table} SELECT * FROM {schema}.{table}")
            for store in self._shared.bases.values():
                seq = await txn._conn.fetchval(
                    f"SELECT last_value FROM {schema}.{store._prefix}change_seq"
                )
                row = await txn._conn.fetchrow(in_base(_COUNTERS_SQL, store._prefix))
                store._set_counters(row, exact=True)
                store._seq = int(seq)
            await _renumber_ill(txn)

    async def reset(self) -> None:
        """Empty the records (libraries stay) and restart ids and the change sequence."""
        if self._prefix:  # every base is emptied together, as on SQLite
            return await self.base(BIB_BASE).reset()
        async with self.transaction() as txn:
            await txn.execute(
                "TRUNCATE records, terms, aut_records, aut_terms, significant_changes,"
                " publishing_log, harvests, harvested, ill_requests, ill_messages, asteri_relinks"
            )
            await txn.execute("UPDATE counters SET high_id = 0, aut_high_id = 0")
            for store in self._shared.bases.values():
                await txn.execute(f"SELECT setval('{store._prefix}change_seq', 1, false)")
                store._seq = 0
                store._high_id = 0
                store._datestamp = 0

    # --- copy-store: whole tables out and in (gateway.store.copying) -----------------------------
    async def copy_out(
        self, table: TableSpec, after: tuple[Any, ...] | None, limit: int
    ) -> list[tuple[Any, ...]]:
        names = [f'"{name}"' for name in table.key]
        columns = ", ".join(_out_column(name, kind) for name, kind in table.columns)
        where = ""
        params: list[object] = []
        if after is not None:
            marks = ", ".join(f"${i + 1}" for i in range(len(after)))
            where = f" WHERE ({', '.join(names)}) > ({marks})"
            params = list(after)
        rows = await self.fetch_rows(
            f"SELECT {columns} FROM {table.name}{where} ORDER BY {', '.join(names)}"
            f" LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [tuple(row) for row in rows]

    async def copy_in(self, table: TableSpec, rows: Sequence[tuple[Any, ...]]) -> None:
        names = ", ".join(f'"{name}"' for name in table.names)
        marks = ", ".join(_in_mark(i + 1, kind) for i, (_, kind) in enumerate(table.columns))
        async with self.transaction() as txn:
            await txn._conn.executemany(
                f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows
            )

    async def count_rows(self, table: TableSpec) -> int:
        rows = await self.fetch_rows(f"SELECT count(*) FROM {table.name}")
        return int(rows[0][0])

    async def copy_finish(self, high_id: int) -> None:
        async with self.transaction() as txn:
            row = await txn._conn.fetchrow(_COUNTERS_SQL)
            self._set_counters(row, exact=True)
            seq = await txn._conn.fetchval("SELECT coalesce(max(seq), 0) FROM records")
            await _renumber_ill(txn)
            self._seq = int(seq)
            self._high_id = max(self._high_id, high_id)


async def _renumber_ill(txn: PostgresWriteTxn) -> None:
    """ILL ids were copied in whole: new requests and messages are numbered after them."""
    for table in ("ill_requests", "ill_messages"):
        await txn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )


def _out_column(name: str, kind: str) -> str:
    if kind == TIME:
        return f'extract(epoch FROM "{name}")::bigint'
    if kind == JSON:
        return f'"{name}"::text'
    return f'"{name}"'


def _in_mark(number: int, kind: str) -> str:
    if kind == TIME:
        return f"to_timestamp(${number})"
    if kind == JSON:
        return f"${number}::jsonb"
    return f"${number}"


def tls_of(url: str) -> tuple[str, ssl.SSLContext | bool]:
    """The URL without `sslmode`, and what to connect with: no TLS unless `sslmode` is
    require (encrypted), verify-ca or verify-full (the server's certificate checked against
    the system's authorities, or `sslrootcert`; verify-full also its name)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    mode = query.pop("sslmode", "disable")
    root = query.pop("sslrootcert", None)
    bare = urlunsplit(parts._replace(query=urlencode(query)))
    if mode in ("disable", "allow", "prefer"):
        return bare, False
    context = ssl.create_default_context(cafile=root)
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = mode == "verify-full"
    return bare, context


def pgpass_password(url: str) -> str:
    """The URL's password, else the matching line of the password file (PGPASSFILE or
    ~/.pgpass: host:port:database:user:password, `*` matching anything), else ''."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    passfile = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    try:
        lines = passfile.read_text().splitlines()
    except OSError:
        return ""
    wanted = (
        parts.hostname or "localhost",
        str(parts.port or 5432),
        parts.path.lstrip("/") or (parts.username or ""),
        unquote(parts.username or ""),
    )
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        fields = re.split(r"(?<!\\):", line, maxsplit=4)
        if len(fields) == 5 and all(f in ("*", w) for f, w in zip(fields, wanted, strict=False)):
            return fields[4].replace("\\:", ":").replace("\\\\", "\\")
    return ""


def snapshot_schema(path: str) -> str:
    """The schema a snapshot file names: its stem made safe, and a hash of the whole path."""
    stem = re.sub(r"[^a-z0-9_]", "_", Path(path).stem.lower())[:40]
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    return f"snapshot_{stem}_{digest}"


def _search_sql(query: Query, sort: Sequence[SortKey], cap: int) -> tuple[str, list[object]]:
    sql, params = compile_query(query, nested=True)
    order = order_by(sort)
    if sql == EQ_SQL and order is None:
        # one exact term: the index yields it unique and in id order
        select = f"SELECT rec, count(*) OVER () FROM ({sql}) AS q ORDER BY rec LIMIT ?"
    elif order is None:
        select = (
            f"SELECT rec, count(*) OVER () FROM (SELECT DISTINCT rec FROM ({sql}) AS q) AS d"
            " ORDER BY rec LIMIT ?"
        )
    else:
        select = (
            f"SELECT r.id, count(*) OVER () FROM records r"
            f" JOIN (SELECT DISTINCT rec FROM ({sql}) AS q) AS d ON d.rec = r.id"
            f" ORDER BY {order}, r.id LIMIT ?"
        )
    return dollar_params(select), [*params, max(cap, 1)]


def _result_set(rows: list[Any], cap: int) -> ResultSet:
    if not rows:
        return ResultSet([], 0)
    return ResultSet([row[0] for row in rows[:cap]], int(rows[0][1]))


async def _migrate(conn: asyncpg.Connection) -> None:
    """Run the migrations not yet run, one process at a time. A current schema is only read
    (so a read-only replica opens too)."""
    if await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
        current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        if current >= len(MIGRATIONS):
            return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        version = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
