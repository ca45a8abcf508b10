"""The write transaction queues its writes: reads still see them, failures still undo them all."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import records
from gateway.catalog import Catalog, prepare_write
from gateway.model import User
from gateway.store import RowChangedError
from tests.unit.test_catalog import book

HELKA = User("HELKA", "HELKA", 30, frozenset({"HELKA"}))


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    catalog = await Catalog.open(str(tmp_path / "melinda.sqlite"))
    try:
        yield catalog
    finally:
        await catalog.close()


async def test_a_read_in_the_transaction_sees_its_queued_writes(catalog: Catalog) -> None:
    async with catalog.store.transaction() as txn:
        record_id = txn.next_id()
        record = book("Jonossa.")
        records.set_melinda_id(record, record_id)
        (seq,) = await txn.save([prepare_write(record, record_id, 1_000)], {})
        row = await txn.get_row(record_id)
        assert row is not None and row.seq == seq
        assert record_id in await txn.existing_rows([record_id, 99])
    assert (await catalog.get(record_id)).seq == seq


async def test_an_error_after_a_read_undoes_every_write(catalog: Catalog) -> None:
    with pytest.raises(RuntimeError):
        async with catalog.store.transaction() as txn:
            record_id = txn.next_id()
            record = book("Peruttu.")
            records.set_melinda_id(record, record_id)
            await txn.save([prepare_write(record, record_id, 1_000)], {})
            assert await txn.get_row(record_id) is not None  # the writes reached the store
            raise RuntimeError("the caller fails")
    assert await catalog.record_counts() == (0, 0)
    assert catalog.high_id == 0
    assert (await catalog.create(book("Seuraava."))).id == 1  # counters were restored


async def test_a_failing_statement_at_commit_undoes_the_writes_before_it(
    catalog: Catalog,
) -> None:
    with pytest.raises(sqlite3.OperationalError):
        async with catalog.store.transaction() as txn:
            record_id = txn.next_id()
            record = book("Kesken.")
            records.set_melinda_id(record, record_id)
            await txn.save([prepare_write(record, record_id, 1_000)], {})
            await txn.execute("INSERT INTO no_such_table VALUES (1)")
    assert await catalog.record_counts() == (0, 0)
    assert (await catalog.create(book("Sitten."))).id == 1


async def test_expect_seq_refuses_a_write_computed_from_an_older_row(catalog: Catalog) -> None:
    created = await catalog.create(book("Vanha rivi."))
    row = await catalog.store.get_row(created.id)
    assert row is not None
    await catalog.update(created.id, book("Välissä."))  # the record changes meanwhile
    record = records.parse_marcxml(row.xml)
    record["245"]["a"] = "Myöhässä."
    with pytest.raises(RowChangedError):
        async with catalog.store.transaction() as txn:
            txn.expect_seq(created.id, row.seq)
            await txn.save([prepare_write(record, created.id, row.version + 10)], {})
    assert (await catalog.get(created.id)).record()["245"]["a"] == "Välissä."
    async with catalog.store.transaction() as txn:  # the current seq passes
        current = await catalog.store.get_row(created.id)
        assert current is not None
        txn.expect_seq(created.id, current.seq)
        await txn.save([prepare_write(record, created.id, current.version + 10)], {})
    assert (await catalog.get(created.id)).record()["245"]["a"] == "Myöhässä."


@pytest.fixture
async def other_process(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Catalog]:
    """A second catalog over the same file: its own connections, as another worker has."""
    other = await Catalog.open(str(tmp_path / "melinda.sqlite"))
    try:
        yield other
    finally:
        await other.close()


async def test_an_optimistic_transaction_holds_no_lock_until_its_commit(
    catalog: Catalog, other_process: Catalog
) -> None:
    """Its body runs without SQLite's write lock: another process saves meanwhile (it would
    wait for this transaction's commit, and this one for it), and this transaction's rows
    take change sequence numbers after that save's."""
    created = await catalog.create(book("Ennen."))
    row = await catalog.store.get_row(created.id)
    assert row is not None
    record = records.parse_marcxml(row.xml)
    record["245"]["a"] = "Jälkeen."
    async with catalog.store.transaction(optimistic=True) as txn:
        txn.expect_seq(created.id, row.seq)
        (assumed,) = await txn.save([prepare_write(record, created.id, row.version + 1)], {})
        await txn.log_significant_change(assumed, created.id, row.version + 1, "HELKA", "HELKA", [])
        other = await asyncio.wait_for(other_process.create(book("Välissä.")), 5)
    between = await other_process.get(other.id)
    saved = await catalog.get(created.id)
    assert between.seq == assumed  # the other process took the seq this one assumed
    assert saved.seq == between.seq + 1
    assert saved.record()["245"]["a"] == "Jälkeen."
    logged = await catalog.significant_changes(after_seq=0, limit=10, record_id=created.id)
    assert saved.seq in [entry["seq"] for entry in logged]
    # the counters followed: the next save comes after both
    later = await catalog.create(book("Viimeinen."))
    assert (await catalog.get(later.id)).seq == saved.seq + 1


async def test_an_optimistic_transaction_refuses_a_datestamp_before_another_process_save(
    catalog: Catalog, other_process: Catalog
) -> None:
    created = await catalog.create(book("Alku."))
    row = await catalog.store.get_row(created.id)
    assert row is not None
    record = records.parse_marcxml(row.xml)
    with pytest.raises(RowChangedError):
        async with catalog.store.transaction(optimistic=True) as txn:
            txn.expect_seq(created.id, row.seq)
            await txn.save([prepare_write(record, created.id, row.datestamp)], {})
            later = book("Myöhemmin.")
            async with other_process.store.transaction() as other:
                other_id = other.next_id()
                records.set_melinda_id(later, other_id)
                await other.save([prepare_write(later, other_id, row.datestamp + 100)], {})
    assert (await catalog.get(created.id)).seq == row.seq  # nothing of it was saved
    # the store is usable at once: the next update redoes the write the ordinary way
    await catalog.update(created.id, book("Alku, uudestaan."))
    assert (await catalog.get(created.id)).record()["245"]["a"] == "Alku, uudestaan."


async def test_update_goes_on_after_another_process_saved(
    catalog: Catalog, other_process: Catalog
) -> None:
    """Saves alternating between two processes keep one rising change sequence."""
    first = await catalog.create(book("Yksi."))
    for n in range(5):
        await other_process.create(book(f"Toinen {n}."))
        await catalog.update(first.id, book(f"Yksi, kerta {n}."))
    seqs = [r.seq for r in await catalog.fetch(list(range(1, 7)))]
    assert len(set(seqs)) == 6
    assert (await catalog.get(first.id)).seq == max(seqs) == 11  # one seq for each save


async def test_the_counters_are_read_off_index_ends_not_by_a_scan(catalog: Catalog) -> None:
    """Every write transaction after another process's commit reads them: a table scan there
    cost each save tens of milliseconds under the write lock at 50,000 records."""
    from gateway.store.sqlite.store import BASE_PREFIXES, COUNTERS_SQL

    for prefix in BASE_PREFIXES.values():
        sql = "EXPLAIN QUERY PLAN " + COUNTERS_SQL.replace("records", f"{prefix}records")
        plan = await catalog.store.read(lambda conn, sql=sql: conn.execute(sql).fetchall())
        steps = [str(row[3]) for row in plan]
        assert not [s for s in steps if s.startswith("SCAN") and "CONSTANT" not in s], steps
        assert sum(s.startswith("SEARCH") for s in steps) == 3, steps
