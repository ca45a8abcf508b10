"""The journal the workers share, on both backs of the shared state (the workers' SQLite file
and a PostgreSQL database): entries handed on in batches come back whole, in hand-on order,
through any worker; the shared journal keeps the newest entries and drops older batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.emulator.faults import Faults
from gateway.emulator.journal import Journal
from gateway.emulator.shared import SharedState, SharedStore
from gateway.emulator.worker_sync import TRIM_EVERY, WorkerSync
from gateway.store.postgresql import PostgresSharedState, PostgresStore
from tests.stores import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedStore]:
    if request.param == "sqlite":
        state = await SharedState.open(tmp_path)
        try:
            yield state
        finally:
            await state.close()
        return
    async with fresh_database() as url:
        store = await PostgresStore.open(url)
        try:
            yield PostgresSharedState(store)
        finally:
            await store.close()


def _worker(shared: SharedStore, number: int, size: int = 100) -> WorkerSync:
    return WorkerSync(shared, Journal(size), Faults(), number)


async def test_every_workers_entries_come_back_whole_in_hand_on_order(
    shared: SharedStore,
) -> None:
    first, second = _worker(shared, 0), _worker(shared, 1)
    first.journal.record(
        "sru",
        "searchRetrieve",
        client="10.0.0.1:5000",
        parameters={"query": 'dc.title="Äänikirja"', "user_password": "salainen"},
        response="<searchRetrieveResponse/>",
        outcome="ok: 3 records",
        duration_ms=1.25,
        at=1_767_000_000.5,
    )
    second.journal.record("z3950", "search", parameters={"user": "helka"}, at=1_767_000_001.0)
    await first.flush_journal()
    await second.flush_journal()
    first.journal.record(
        "xserver", "find-doc", parameters={"doc_num": "000000001"}, at=1_767_000_002.0
    )
    merged = await second.whole_journal()  # hands on its own first, then reads all
    entries = merged.entries()
    assert [(e.number, e.interface, e.operation) for e in entries] == [
        (1, "sru", "searchRetrieve"),
        (2, "z3950", "search"),
    ]  # worker 0's find-doc is not handed on until worker 0 syncs
    sru = entries[0]
    assert sru.client == "10.0.0.1:5000"
    assert sru.parameters == {"query": 'dc.title="Äänikirja"', "user_password": "***"}
    assert (sru.response, sru.outcome, sru.duration_ms, sru.time) == (
        "<searchRetrieveResponse/>",
        "ok: 3 records",
        1.25,
        1_767_000_000.5,
    )
    assert entries[1].user == "HELKA"
    await first.flush_journal()
    assert [e.operation for e in (await first.whole_journal()).entries()] == [
        "searchRetrieve",
        "search",
        "find-doc",
    ]
    await second.clear_journal()
    assert (await first.whole_journal()).entries() == []


async def test_the_shared_journal_keeps_the_newest_entries(shared: SharedStore) -> None:
    size = 50
    workers = [_worker(shared, n, size) for n in range(2)]
    made = 0
    for round_ in range(3 * TRIM_EVERY):
        worker = workers[round_ % 2]
        for _ in range(7):
            made += 1
            worker.journal.record("sru", f"op{made}", at=float(made))
        await worker.flush_journal()
    kept = await shared.journal()
    # whole batches of 7 are kept back to the one that holds the newest 50th: 8 of them (or
    # a few more since the last trim), never the 24 handed on
    assert 8 <= len(kept) < 8 + TRIM_EVERY
    merged = (await workers[0].whole_journal()).entries()
    assert [e.operation for e in merged] == [f"op{n}" for n in range(made - size + 1, made + 1)]
