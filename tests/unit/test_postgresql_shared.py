"""What gateway processes share through PostgreSQL besides the catalog: keyed values with an
expiry, numbers taken once, singleton work under an advisory lock taken over when its holder's
connection dies; and the store's own behaviour across two stores on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway.catalog import Catalog
from gateway.model import User
from gateway.store.postgresql import AdvisoryLock, PostgresSharedState, PostgresStore
from gateway.store.postgresql.store import pgpass_password, tls_of
from tests.stores import cluster_url, fresh_database
from tests.unit.test_catalog import book

HELKA = User("HELKA", "HELKA", 30, frozenset({"HELKA"}))


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_database() as found:
        yield found


async def test_shared_values_are_seen_by_another_store_and_expire(url: str) -> None:
    first, second = await PostgresStore.open(url), await PostgresStore.open(url)
    try:
        mine, theirs = PostgresSharedState(first), PostgresSharedState(second)
        await mine.put("xserver-session", "S1", b"\x00state", ttl=30)
        assert await theirs.get("xserver-session", "S1") == b"\x00state"
        assert await theirs.get("xserver-set", "S1") is None  # spaces are apart
        await mine.put("xserver-session", "S2", b"brief", ttl=0.2)
        await asyncio.sleep(0.4)
        assert await theirs.get("xserver-session", "S2") is None
    finally:
        await first.close()
        await second.close()


async def test_shared_numbers_are_taken_once_across_stores_and_wrap(url: str) -> None:
    first, second = await PostgresStore.open(url), await PostgresStore.open(url)
    try:
        states = [PostgresSharedState(first), PostgresSharedState(second)]
        taken = await asyncio.gather(
            *(states[n % 2].next_number("sets", wrap=1000) for n in range(60))
        )
        assert sorted(taken) == list(range(1, 61))
        small = [await states[n % 2].next_number("small", wrap=3) for n in range(5)]
        assert small == [1, 2, 3, 1, 2]
    finally:
        await first.close()
        await second.close()


async def test_singleton_lock_is_held_once_and_taken_over_when_its_holder_dies() -> None:
    base = cluster_url()
    first, second = AdvisoryLock(base, "sftp-inbox"), AdvisoryLock(base, "sftp-inbox")
    try:
        assert await first.try_take()
        assert not await second.try_take()
        # the holder's process dies: the database ends its session, and the lock with it
        admin = await asyncpg.connect(base)
        try:
            assert first._conn is not None
            pid = first._conn.get_server_pid()
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        for _ in range(50):
            if await second.try_take():
                break
            await asyncio.sleep(0.1)
        assert second.held
    finally:
        await first.release()
        await second.release()


async def test_a_write_through_one_store_is_read_through_another_at_once(url: str) -> None:
    first, second = await Catalog.open(url), await Catalog.open(url)
    try:
        await first.add_library("HELKA", password="pw", sid_code="helka")
        created = await first.create(book("Toisen prosessin kirja."), user=HELKA)
        found = await second.get(created.id)
        assert "Toisen prosessin kirja" in found.record()["245"].value()
        # the second store's libraries are read again once the first one has written
        await second.add_library("TAMK", password="pw", sid_code="tamk")
        await asyncio.sleep(0.1)
        assert (await first.library("TAMK")).code == "TAMK"
        # ids stay unique whichever store gives them
        made = await asyncio.gather(
            *((first, second)[n % 2].create(book(f"Kirja {n}."), user=HELKA) for n in range(20))
        )
        assert len({m.id for m in made} | {created.id}) == 21
    finally:
        await first.close()
        await second.close()


def test_store_urls_give_tls_only_when_asked_and_passwords_from_the_url() -> None:
    bare, tls = tls_of("postgresql://u@h:5/db?sslmode=disable&search_path=x")
    assert tls is False and "sslmode" not in bare and "search_path=x" in bare
    _, required = tls_of("postgresql://u@h/db?sslmode=require")
    assert required is not False and not required.check_hostname  # type: ignore[union-attr]
    assert pgpass_password("postgresql://u:s%40lt@h/db") == "s@lt"


async def test_snapshot_is_a_schema_copy_that_restores_records_libraries_and_counters(
    url: str, tmp_path: object
) -> None:
    from pathlib import Path

    catalog = await Catalog.open(url)
    try:
        await catalog.add_library("HELKA", password="pw", sid_code="helka")
        kept = await catalog.create(book("Säilyvä kirja."), user=HELKA)
        mark = Path(str(tmp_path)) / "before.sqlite"
        await catalog.snapshot(str(mark))
        assert "snapshot_before_" in mark.read_text()
        await catalog.create(book("Katoava kirja."), user=HELKA)
        await catalog.reset()
        assert await catalog.store.counts() == (0, 0)
        await catalog.restore(str(mark))
        assert await catalog.store.counts() == (1, 0)
        assert "Säilyvä" in (await catalog.get(kept.id)).record()["245"].value()
        again = await catalog.create(book("Uusi kirja."), user=HELKA)
        assert again.id == kept.id + 1  # ids and the change sequence continue from the snapshot
    finally:
        await catalog.close()


async def test_a_stop_is_not_held_for_ever_by_a_connection_never_given_back(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.store.postgresql import store as pg_store

    monkeypatch.setattr(pg_store, "CLOSE_SECONDS", 0.5)
    store = await PostgresStore.open(url)
    borrowed = await store._pool.acquire()  # as a task that was never stopped would hold one
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(store.close(), timeout=20)
    assert asyncio.get_running_loop().time() - started < 5
    with pytest.raises(asyncpg.InterfaceError):  # cut, not waited for
        await borrowed.fetchval("SELECT 1")
    assert "connections are cut" in caplog.text
