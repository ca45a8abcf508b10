"""Z39.50 under hostile peers: silent connections, one address hogging the cap, huge nested PDUs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from protocols.z3950 import pdu as z
from protocols.z3950.ber import CONTEXT
from tests.conftest import test_settings as settings_for
from tests.protocols.z3950.conftest import CATALOGUE, Origin, book_record, close_reason, yaz_client
from tests.protocols.z3950.test_associations import accepted, default_diagnostics

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def gateway_with(tmp_path: Path, **settings: object) -> AsyncIterator[Gateway]:
    async with running_gateway(settings_for(tmp_path / "data", **settings)) as gateway:
        await gateway.catalog.load([book_record(book) for book in CATALOGUE[:3]])
        yield gateway


async def origin_from(gateway: Gateway, address: str) -> Origin:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", gateway.ports["z3950"], local_addr=(address, 0)
    )
    return Origin(reader, writer)


async def test_silent_connections_do_not_lock_real_clients_out(tmp_path: Path) -> None:
    async with gateway_with(tmp_path, z3950_max_associations=100, z3950_init_timeout=2) as gw:
        silent = [
            await asyncio.open_connection("127.0.0.1", gw.ports["z3950"]) for _ in range(100)
        ]
        output = await yaz_client(gw, "find @attr 1=1003 kivi")
        assert "Connection accepted by v3 target" in output, output
        assert "Number of hits: 2" in output
        # past the Init deadline every silent connection is closed by the target
        async with asyncio.timeout(10):
            ends = await asyncio.gather(*(reader.read(1) for reader, _ in silent))
        assert ends == [b""] * 100
        for _, writer in silent:
            writer.close()


async def test_an_init_after_the_deadline_finds_the_connection_closed(tmp_path: Path) -> None:
    async with gateway_with(tmp_path, z3950_init_timeout=1) as gateway:
        origin = await Origin.connect(gateway)
        await asyncio.sleep(1.5)
        assert await origin.closed_by_target(timeout=5)
        await origin.close()


async def test_one_address_gets_only_its_share_of_the_cap(tmp_path: Path) -> None:
    # cap 4, share 50 %: two associations per address
    async with gateway_with(tmp_path, z3950_max_associations=4, z3950_address_share=50) as gw:
        mine = [await origin_from(gw, "127.0.0.1") for _ in range(3)]
        assert accepted(await mine[0].init())
        assert accepted(await mine[1].init())
        refusal = await mine[2].init()
        assert not accepted(refusal)
        assert default_diagnostics(refusal) == [(1018, "too many associations from 127.0.0.1")]
        other = await origin_from(gw, "127.0.0.2")
        assert accepted(await other.init())
        for origin in (*mine, other):
            await origin.close()


async def test_uninitialised_connections_do_not_count_against_the_cap(tmp_path: Path) -> None:
    async with gateway_with(tmp_path, z3950_max_associations=2, z3950_address_share=100) as gw:
        waiting = [await Origin.connect(gw) for _ in range(5)]  # connected, no Init yet
        first, second = waiting[3], waiting[4]
        assert accepted(await first.init())
        assert accepted(await second.init())
        refusal = await waiting[0].init()
        assert default_diagnostics(refusal) == [(1018, "too many associations")]
        for origin in waiting:
            await origin.close()


async def test_a_huge_deeply_nested_pdu_gets_a_close_not_a_reset(catalogue: Gateway) -> None:
    origin = await Origin.connect(catalogue)
    assert accepted(await origin.init())
    nested = b"\xa1\x80" * 200_000  # 400 KB of indefinite-length elements, never ending
    await origin.send(nested)
    reply = await origin.receive(timeout=15)
    assert reply.is_tag(CONTEXT, z.PduTag.CLOSE)
    assert close_reason(reply) == z.CloseReason.PROTOCOL_ERROR
    assert await origin.closed_by_target(timeout=15)  # an orderly end: EOF, not a reset
    await origin.close()


async def test_a_huge_nested_pdu_sent_in_pieces_still_gets_its_close(catalogue: Gateway) -> None:
    origin = await Origin.connect(catalogue)
    assert accepted(await origin.init())
    nested = b"\xa1\x80" * 200_000
    for start in range(0, len(nested), 50_000):
        with contextlib.suppress(ConnectionError):
            await origin.send(nested[start : start + 50_000])
        await asyncio.sleep(0.05)
    reply = await origin.receive(timeout=15)
    assert close_reason(reply) == z.CloseReason.PROTOCOL_ERROR
    assert await origin.closed_by_target(timeout=15)
    await origin.close()


async def test_rpn_with_100_terms_is_answered_and_too_many_is_a_diagnostic(
    catalogue: Gateway,
) -> None:
    hundred = "@and " * 99 + " ".join(["@attr 1=1003 kivi"] * 100)
    mixed = "@or " * 99 + " ".join([f"@attr 1=1003 x{n}" for n in range(99)] + ["kivi"])
    too_many = "@and " * 299 + " ".join(["kivi"] * 300)
    output = await yaz_client(catalogue, f"find {hundred}\nfind {mixed}\nfind {too_many}")
    assert output.count("Number of hits: 2") == 2, output
    assert "query too complex" in output, output
