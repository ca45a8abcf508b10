"""The admin API over the wire: reset, seed, snapshots, journal, faults, changes, the token."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.emulator.app import running_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.records import record_to_marcxml
from tests.conftest import test_settings as settings_for
from tests.protocols.xserver.helpers import book


async def call(
    gateway: Gateway, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, gateway.http_url + path, **kwargs) as response,
    ):
        return response.status, await response.json()


def marcxml_collection(count: int, seed: int = 7) -> bytes:
    body = b"".join(record_to_marcxml(r) for r in generate_records(count, seed, start_id=500))
    return b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + body + b"</collection>"


async def test_seed_generated_then_reset(gateway: Gateway) -> None:
    status, seeded = await call(gateway, "POST", "/_admin/seed", json={"count": 25, "seed": 3})
    assert status == 200, seeded
    assert seeded["loaded"] == 25
    assert await gateway.catalog.record_counts() == (25, 0)
    # a second seed continues the ids instead of replacing records
    await call(gateway, "POST", "/_admin/seed", json={"count": 5, "seed": 4})
    assert await gateway.catalog.record_counts() == (30, 0)
    status, body = await call(gateway, "POST", "/_admin/reset")
    assert status == 200 and body["records"] == 0
    assert await gateway.catalog.record_counts() == (0, 0)


async def test_seed_marcxml_body(gateway: Gateway) -> None:
    status, body = await call(
        gateway,
        "POST",
        "/_admin/seed",
        data=marcxml_collection(4),
        headers={"Content-Type": "application/marcxml+xml"},
    )
    assert status == 200, body
    assert body["loaded"] == 4 and body["rejected"] == []
    assert [r.id for r in await gateway.catalog.fetch([500, 503])] == [500, 503]


@pytest.mark.parametrize(
    ("payload", "kwargs"),
    [
        ("json", {"json": {"count": 0}}),
        ("json", {"json": {"count": "many"}}),
        ("garbage", {"data": b"this is not a record"}),
        ("empty", {"data": b""}),
    ],
)
async def test_seed_refuses_bad_input(
    gateway: Gateway, payload: str, kwargs: dict[str, Any]
) -> None:
    status, body = await call(gateway, "POST", "/_admin/seed", **kwargs)
    assert status == 400, (payload, body)
    assert body.get("error") or body.get("rejected")


async def test_reset_to_demo_data(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", demo_count=30)
    async with running_gateway(settings) as gateway:
        status, body = await call(gateway, "POST", "/_admin/reset?demo=1")
        assert status == 200, body
        assert body["loaded"] == 30
        live, deleted = await gateway.catalog.record_counts()
        assert live + deleted == 30 and live > 0
        assert await gateway.catalog.libraries()  # the demo libraries came back too


async def test_snapshot_and_restore(gateway: Gateway) -> None:
    await call(gateway, "POST", "/_admin/seed", json={"count": 10, "seed": 1})
    status, taken = await call(gateway, "POST", "/_admin/snapshots/ten")
    assert status == 200 and taken["bytes"] > 0
    await call(gateway, "POST", "/_admin/seed", json={"count": 7, "seed": 2})
    await gateway.catalog.add_library("KVP", password="salasana")
    assert await gateway.catalog.record_counts() == (17, 0)

    status, restored = await call(gateway, "POST", "/_admin/snapshots/ten/restore")
    assert status == 200, restored
    assert restored["records"] == 10
    assert await gateway.catalog.record_counts() == (10, 0)
    assert [lib.code for lib in await gateway.catalog.libraries()] == []
    # counters come back with the data: the next new record gets id 11, not 18
    created = await gateway.catalog.create(next(iter(generate_records(1, 9, start_id=99))))
    assert created.id == 11
    status, listed = await call(gateway, "GET", "/_admin/snapshots")
    assert [s["name"] for s in listed["snapshots"]] == ["ten"]


@pytest.mark.parametrize("name", ["../etc", ".hidden", "a" * 65, "with space"])
async def test_snapshot_names_are_checked(gateway: Gateway, name: str) -> None:
    async with aiohttp.ClientSession() as session:
        url = gateway.http_url + "/_admin/snapshots/" + name.replace(" ", "%20")
        async with session.post(url) as response:
            assert response.status in (400, 404)


async def test_restore_of_unknown_snapshot_is_404(gateway: Gateway) -> None:
    status, body = await call(gateway, "POST", "/_admin/snapshots/nope/restore")
    assert status == 404 and "nope" in body["error"]


async def test_journal_records_http_requests_with_masked_passwords(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            gateway.http_url + "/sru/bib",
            params={"version": "1.2", "operation": "searchRetrieve", "query": "dc.title=kissa"},
        ) as response:
            assert response.status == 200
        async with session.post(
            gateway.http_url + "/X",
            data={"op": "user-auth", "staff_user": "NOBODY", "staff_pass": "sekret123"},
        ) as response:
            reply = await response.text()
            assert "<user-auth>" in reply  # the body still reached the X-server
        async with session.get(
            gateway.http_url + "/oai-pmh/bib", params={"verb": "Identify"}
        ) as response:
            assert response.status == 200
    status, body = await call(gateway, "GET", "/_admin/journal")
    assert status == 200
    seen = [(e["interface"], e["operation"]) for e in body["entries"]]
    assert seen == [("sru", "searchRetrieve"), ("xserver", "user-auth"), ("oai-pmh", "Identify")]
    xserver = body["entries"][1]
    assert xserver["parameters"]["staff_pass"] == "***"
    assert "sekret123" not in str(body)
    assert xserver["outcome"].startswith("error:")
    assert xserver["client"].startswith("127.0.0.1:")
    assert all(e["duration_ms"] >= 0 for e in body["entries"])

    status, only_oai = await call(gateway, "GET", "/_admin/journal?interface=oai-pmh")
    assert [e["operation"] for e in only_oai["entries"]] == ["Identify"]
    status, later = await call(
        gateway, "GET", f"/_admin/journal?since={body['entries'][-1]['time'] + 60}"
    )
    assert later["entries"] == []
    status, _ = await call(gateway, "DELETE", "/_admin/journal")
    assert status == 200
    # what is left is the clearing itself: admin calls that change state are journaled too
    assert [(e.interface, e.operation) for e in gateway.journal.entries()] == [
        ("admin", "DELETE /journal")
    ]


async def test_journal_refuses_unknown_interface(gateway: Gateway) -> None:
    status, body = await call(gateway, "GET", "/_admin/journal?interface=gopher")
    assert status == 400 and "gopher" in body["error"]


async def test_faults_api_adds_lists_and_clears(gateway: Gateway) -> None:
    status, body = await call(
        gateway, "POST", "/_admin/faults", json={"interface": "sru", "kind": "error", "count": 2}
    )
    assert status == 200, body
    assert body["faults"][0]["count"] == 2
    status, body = await call(
        gateway, "POST", "/_admin/faults", json={"interface": "sru", "kind": "explode"}
    )
    assert status == 400 and "kind" in body["error"]
    status, body = await call(gateway, "GET", "/_admin/faults")
    assert len(body["faults"]) == 1
    status, body = await call(gateway, "DELETE", "/_admin/faults")
    assert body["faults"] == []


async def test_json_sent_as_a_form_is_read_as_json(gateway: Gateway) -> None:
    """`curl -d '{...}'` labels its JSON a form; the README's examples send it that way."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = b'{"interface": "oai-pmh", "kind": "error", "count": 1, "retry_after": 7}'
    status, added = await call(gateway, "POST", "/_admin/faults", data=body, headers=form)
    assert status == 200, added
    assert added["added"][0]["interface"] == "oai-pmh" and added["added"][0]["retry_after"] == 7
    status, seeded = await call(
        gateway, "POST", "/_admin/seed", data=b'{"count": 3, "seed": 2}', headers=form
    )
    assert status == 200 and seeded["loaded"] == 3, seeded


async def test_latency_fault_delays_the_answer(gateway: Gateway) -> None:
    await call(
        gateway,
        "POST",
        "/_admin/faults",
        json={"interface": "oai-pmh", "kind": "latency", "latency_ms": 300, "count": 1},
    )
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.get(gateway.http_url + "/oai-pmh/bib?verb=Identify") as response:
            assert response.status == 200
        slow = time.perf_counter() - started
        started = time.perf_counter()
        async with session.get(gateway.http_url + "/oai-pmh/bib?verb=Identify") as response:
            assert response.status == 200
        fast = time.perf_counter() - started
    assert slow >= 0.3 > fast
    first = gateway.journal.entries(interface="oai-pmh")[0]
    assert first.outcome.startswith("fault: latency 300 ms")
    assert first.duration_ms >= 300


async def raw_get(gateway: Gateway, target: str) -> bytes:
    """One HTTP/1.1 GET over a bare socket: what comes back, b"" when the server hung up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.ports["http"])
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return data


async def test_drop_fault_closes_the_connection(gateway: Gateway) -> None:
    gateway.faults.add({"interface": "xserver", "kind": "drop", "operation": "find", "count": 1})
    # aiohttp's client would quietly retry a dropped GET: a bare socket shows the hang-up
    assert await raw_get(gateway, "/X?op=find-doc&doc_num=1") != b""  # not `find`: answered
    assert await raw_get(gateway, "/X?op=find&request=WRD%3Dkissa") == b""
    assert b"<find>" in await raw_get(gateway, "/X?op=find&request=WRD%3Dkissa")  # once only
    outcomes = [e.outcome for e in gateway.journal.entries(interface="xserver", operation="find")]
    assert outcomes == ["fault: connection dropped", "error: empty set"]


async def test_xserver_error_fault_is_aleph_error_text(gateway: Gateway) -> None:
    gateway.faults.add({"interface": "xserver", "kind": "error", "count": 1, "message": "Boom"})
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.http_url + "/X", params={"op": "find-doc", "doc_num": "1"}) as response,
    ):
        text = await response.text()
    assert response.status == 200
    assert "<find-doc>" in text and "<error>Boom</error>" in text


async def test_changes_feed_shows_significant_edits(gateway: Gateway) -> None:
    from gateway.records import parse_marcxml

    record = parse_marcxml(record_to_marcxml_of_book())
    created = await gateway.catalog.create(record)
    status, body = await call(gateway, "GET", "/_admin/changes")
    assert status == 200
    assert body["changes"][0]["record"] == f"{created.id:09d}"
    assert "245" in [f["tag"] for f in body["changes"][0]["fields"]]
    status, body = await call(
        gateway, "GET", f"/_admin/changes?after_seq={body['changes'][0]['seq']}"
    )
    assert body["changes"] == []


def record_to_marcxml_of_book() -> bytes:
    """A valid new book as MARCXML (via the X-server test helper's oai_marc)."""
    from gateway.records import parse_oai_marc

    return record_to_marcxml(
        parse_oai_marc(book("Seitsemän veljestä", isbn="9789510000001").to_xml().encode())
    )


async def test_shared_gateway_needs_the_token(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", shared=True, admin_token="s3cret")
    async with running_gateway(settings) as gateway:
        status, _ = await call(gateway, "GET", "/_admin/journal")
        assert status == 401
        status, _ = await call(
            gateway, "GET", "/_admin/journal", headers={"Authorization": "Bearer wrong"}
        )
        assert status == 401
        status, _body = await call(
            gateway, "GET", "/_admin/journal", headers={"Authorization": "Bearer s3cret"}
        )
        assert status == 200


async def test_shared_gateway_without_token_has_no_admin_api(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", shared=True)
    async with running_gateway(settings) as gateway:
        status, _body = await call(gateway, "POST", "/_admin/reset")
        assert status == 403
