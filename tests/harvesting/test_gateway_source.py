"""A second gateway as the joining library's system: its OAI-PMH provider harvested by the first
gateway through the admin API; bad harvest requests get clear errors; the console shows runs."""

from __future__ import annotations

import copy
from pathlib import Path

import aiohttp

from gateway import records
from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from tests import conftest
from tests.harvesting.helpers import (
    LIBRARY,
    SID_CODE,
    library_source,
    lows_of,
    matchable,
    melinda_with_library,
    new_titles,
    sids_of,
    store_contents,
    wait_for_harvest,
)


async def test_a_second_gateway_is_harvested_as_a_library_system(
    gateway: Gateway, tmp_path: Path
) -> None:
    melinda = list(matchable(10))
    await melinda_with_library(gateway.catalog, copy.deepcopy(melinda))
    async with running_gateway(conftest.test_settings(tmp_path / "library")) as library_system:
        # The library's system holds 6 of Melinda's titles and 5 of its own, under its own ids.
        own = new_titles(5)
        for n, record in enumerate(own, start=101):
            record["001"].data = f"{n:09d}"  # ids of the library's own, apart from Melinda's
            record.remove_fields("035")
        await library_system.catalog.load(copy.deepcopy(melinda[:6]) + own)
        url = f"{library_system.http_url}/oai-pmh/bib"
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{gateway.http_url}/_admin/harvests",
                json={"url": url, "library": LIBRARY, "metadata_prefix": "marc21"},
            ) as resp:
                assert resp.status == 202
                started = await resp.json()
            report = await wait_for_harvest(session, gateway.http_url, started["id"])
            assert report["state"] == "done", report
            c = report["counts"]
            assert (c["seen"], c["merged"], c["created"], c["rejected"]) == (11, 6, 5, 0)
            assert report["records_per_second"] > 0
            async with session.get(f"{gateway.http_url}/_admin/harvests") as resp:
                listed = await resp.json()
            assert [h["id"] for h in listed["harvests"]] == [started["id"]]
            async with session.get(f"{gateway.http_url}/libraries") as resp:
                page = await resp.text()
            assert f'href="/_admin/harvests/{started["id"]}"' in page
            async with session.get(f"{gateway.http_url}/_admin/journal") as resp:
                journal = await resp.json()
            ends = [e for e in journal["entries"] if e["operation"] == "harvest"]
            assert len(ends) == 1 and ends[0]["outcome"].startswith("done: 11 records")
    stored = await store_contents(gateway.catalog)
    vaski = {
        local: rid
        for rid, xml in stored.items()
        for local, code in sids_of(xml)
        if code == SID_CODE
    }
    # The library system's ids (its 001) are the SIDs; Melinda's six records hold them.
    shared = [r["001"].data for r in melinda[:6]]
    assert sorted(vaski) == sorted([*shared, *(f"{n:09d}" for n in range(101, 106))])
    for local_id in shared:
        assert vaski[local_id] == int(local_id)  # merged into Melinda's record of the title
    for local_id, rid in vaski.items():
        record = records.parse_marcxml(stored[rid])
        assert LIBRARY in lows_of(stored[rid])
        if local_id not in shared:  # created: none of the library system's LOW/CAT came along
            assert lows_of(stored[rid]) == [LIBRARY]
            assert [f["a"] for f in record.get_fields("CAT")] == [f"IMP_{LIBRARY}"]


async def test_bad_harvest_requests_get_clear_errors(gateway: Gateway) -> None:
    await melinda_with_library(gateway.catalog, [])
    base = f"{gateway.http_url}/_admin/harvests"
    async with aiohttp.ClientSession() as session:
        for body, status, words in [
            (b"not json", 400, "expected"),
            (b'{"library": "VASKI"}', 400, "url"),
            (b'{"url": "ftp://x", "library": "VASKI"}', 400, "url"),
            (b'{"url": "http://127.0.0.1:9/oai"}', 400, "library"),
            (
                b'{"url": "http://127.0.0.1:9/oai", "library": "VASKI", "metadata_prefix": "dc"}',
                400,
                "metadata_prefix",
            ),
            (b'{"url": "http://127.0.0.1:9/oai", "library": "NOSUCH"}', 404, "NOSUCH"),
            (
                b'{"url": "http://127.0.0.1:9/oai", "library": "VASKI", "colour": "red"}',
                400,
                "colour",
            ),
        ]:
            async with session.post(
                base, data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == status, (body, await resp.text())
                assert words in (await resp.json())["error"]
        for path, status in [(f"{base}/99", 404), (f"{base}/abc", 404)]:
            async with session.get(path) as resp:
                assert resp.status == status
                assert "no harvest" in (await resp.json())["error"]
        async with session.post(f"{base}/99/stop") as resp:
            assert resp.status == 409
        async with session.get(base) as resp:
            assert (await resp.json()) == {"harvests": []}


async def test_a_running_harvest_is_stopped_through_the_admin_api_and_resumed(
    gateway: Gateway,
) -> None:
    await melinda_with_library(gateway.catalog, [])
    _source, server, _copies = library_source([], new_titles(30), page_size=2)
    server.faults.unavailable = 1000  # busy: the run waits on Retry-After
    server.faults.retry_after = "5"
    base = f"{gateway.http_url}/_admin/harvests"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(base, json={"url": server.url, "library": LIBRARY}) as resp:
                started = await resp.json()
            async with session.post(base, json={"url": server.url, "library": LIBRARY}) as resp:
                assert resp.status == 409  # the same harvest is running
            async with session.post(f"{base}/{started['id']}/stop") as resp:
                assert resp.status == 202
            stopped = await wait_for_harvest(session, gateway.http_url, started["id"])
            assert stopped["state"] == "stopped" and stopped["counts"]["seen"] == 0
            server.faults.unavailable = 0
            async with session.post(base, json={"url": server.url, "library": LIBRARY}) as resp:
                again = await resp.json()
            assert again["id"] == started["id"]
            done = await wait_for_harvest(session, gateway.http_url, started["id"])
            assert done["state"] == "done" and done["counts"]["created"] == 30
            assert done["resumed"] == 1
    finally:
        server.close()
