"""Quick reads (gateway/store/sqlite/quick.py): a lookup by identifier runs on the loop's own
thread only while no other read or write of the store is in flight, gives what a reader
thread gives, and a read past its budget is redone on a reader thread. Also which queries
count as lookups (`gateway.query.names_few`)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.emulator.generator import generate_records
from gateway.query import And, Or, Relation, Term, Truncation, names_few
from gateway.store.sqlite.quick import LoopReader
from gateway.store.sqlite.store import SqliteStore


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = await Catalog.open(str(tmp_path / "melinda.sqlite"))
    try:
        await opened.load(list(generate_records(20, 7)))
        yield opened
    finally:
        await opened.close()


def sqlite_store(catalog: Catalog) -> SqliteStore:
    store = catalog.store
    assert isinstance(store, SqliteStore)
    return store


def loop_reader(catalog: Catalog) -> LoopReader:
    here = sqlite_store(catalog)._conns.here
    assert here is not None
    return here


async def melinda_id(catalog: Catalog, record_id: int) -> str:
    return (await catalog.get(record_id)).melinda_id


async def test_an_identifier_lookup_runs_on_the_loop_when_nothing_else_is_in_flight(
    catalog: Catalog,
) -> None:
    here = loop_reader(catalog)
    wanted = await melinda_id(catalog, 5)
    before = here.reads
    found, records = await catalog.search_page(Term("rec.id", wanted), count=10)
    assert found.ids == [5] and [r.id for r in records] == [5]
    assert records[0].melinda_id == wanted
    assert here.reads == before + 1
    # a word search is not a lookup: it goes to a reader thread
    await catalog.search_page(Term("dc.title", "a"), count=10)
    assert here.reads == before + 1


async def test_a_lookup_goes_to_a_reader_thread_while_another_read_is_in_flight(
    catalog: Catalog,
) -> None:
    here, store = loop_reader(catalog), sqlite_store(catalog)
    wanted = await melinda_id(catalog, 3)
    started, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> int:
        started.set()
        release.wait(10)
        return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])

    in_flight = asyncio.ensure_future(store.read(slow))
    await asyncio.to_thread(started.wait, 10)
    before = here.reads
    found, records = await catalog.search_page(Term("rec.id", wanted), count=10)
    assert found.ids == [3] and [r.id for r in records] == [3]
    assert here.reads == before  # answered by a reader thread, beside the slow read
    release.set()
    assert await in_flight == 20
    await catalog.search_page(Term("rec.id", wanted), count=10)
    assert here.reads == before + 1  # and on the loop again once nothing is in flight


async def test_a_read_past_its_budget_is_redone_on_a_reader_thread(catalog: Catalog) -> None:
    here, store = loop_reader(catalog), sqlite_store(catalog)
    long_count = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
        " SELECT count(*) FROM n"
    )
    before = here.handed_on, here.reads

    def work(conn: sqlite3.Connection) -> int:
        return int(conn.execute(long_count).fetchone()[0])

    assert await store._read(work, quick=True) == 3000000
    assert (here.handed_on, here.reads) == (before[0] + 1, before[1])


async def test_quick_reads_follow_a_restored_file(catalog: Catalog, tmp_path: Path) -> None:
    await catalog.snapshot(str(tmp_path / "twenty.sqlite"))
    await catalog.load(list(generate_records(1, 8, start_id=100)))
    newcomer = await melinda_id(catalog, 100)
    assert (await catalog.search(Term("rec.id", newcomer))).ids == [100]
    await catalog.restore(str(tmp_path / "twenty.sqlite"))
    here = loop_reader(catalog)
    before = here.reads
    assert (await catalog.search(Term("rec.id", newcomer))).ids == []
    assert here.reads == before + 1  # the loop's connection reads the file now in place


def test_which_queries_are_lookups() -> None:
    melinda_id = Term("rec.id", "000123456")
    isbn = Term("bath.isbn", "9789510123456")
    title = Term("dc.title", "veljestä")
    assert names_few(melinda_id) and names_few(isbn)
    assert names_few(Term("melinda.melindaid", "(FI-MELINDA)000123456", Relation.EXACT))
    assert names_few(Or(melinda_id, isbn)) and names_few(And(isbn, melinda_id))
    assert not names_few(title)
    assert not names_few(Term("melinda.low", "KV"))  # a key many records share
    assert not names_few(Term("bath.isbn", "978951", truncation=Truncation.RIGHT))
    assert not names_few(And(melinda_id, title))
    assert not names_few(Term("rec.id", "000123456", Relation.GT))
