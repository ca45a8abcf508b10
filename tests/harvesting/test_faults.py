"""A source that misbehaves: 503 with Retry-After, a connection dropped mid-page, an expired
resumption token, a silent source, malformed records; and a clean stop then resume."""

from __future__ import annotations

import asyncio
import copy
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import harvesting
from gateway.catalog import Catalog
from gateway.records import record_to_marcxml
from tests.harvesting.helpers import (
    LIBRARY,
    SID_CODE,
    library_source,
    matchable,
    melinda_with_library,
    new_titles,
    sids_of,
    store_contents,
)

QUICK = harvesting.Politeness(backoff=0.05, max_backoff=0.2, read_timeout=5, retries=4)


@pytest.fixture
async def catalog(tmp_path: Path) -> Catalog:
    catalog = await Catalog.open(str(tmp_path / "store.db"))
    await melinda_with_library(catalog, list(matchable(6)))
    yield catalog  # type: ignore[misc]
    await catalog.close()


async def _holders(catalog: Catalog) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for rid, xml in (await store_contents(catalog)).items():
        for local_id, code in sids_of(xml):
            if code == SID_CODE:
                found.setdefault(local_id, []).append(rid)
    return found


def _source(page_size: int = 5) -> tuple:  # type: ignore[type-arg]
    return library_source(list(matchable(6))[:3], new_titles(17), page_size=page_size)


async def _run(catalog: Catalog, url: str, politeness: harvesting.Politeness = QUICK) -> dict:  # type: ignore[type-arg]
    run = await harvesting.prepare_run(catalog, harvesting.HarvestSpec(url, LIBRARY))
    return await harvesting.Harvester(catalog, run, politeness=politeness)()


async def _all_once(catalog: Catalog) -> None:
    holders = await _holders(catalog)
    assert sorted(holders) == [f"L{n:07d}" for n in range(1, 21)]
    assert all(len(ids) == 1 for ids in holders.values())


async def test_503_with_retry_after_is_waited_out(catalog: Catalog) -> None:
    _src, server, _copies = _source()
    server.faults.unavailable = 2
    server.faults.retry_after = "1"
    try:
        began = time.monotonic()
        report = await _run(catalog, server.url)
        elapsed = time.monotonic() - began
    finally:
        server.close()
    assert report["state"] == "done", report
    assert report["retries"] == 2
    assert elapsed >= 2.0  # Retry-After: 1, twice (the backoff alone would be 0.15 s)
    await _all_once(catalog)


async def test_a_connection_dropped_mid_page_is_fetched_again(catalog: Catalog) -> None:
    _src, server, _copies = _source()
    server.faults.drop_on_request = {2, 3}
    try:
        report = await _run(catalog, server.url)
    finally:
        server.close()
    assert report["state"] == "done", report
    assert report["retries"] == 2 and report["counts"]["seen"] == 20
    await _all_once(catalog)


async def test_an_expired_token_falls_back_to_the_last_datestamp(catalog: Catalog) -> None:
    _src, server, _copies = _source()
    server.faults.expire_tokens_after = 2
    try:
        report = await _run(catalog, server.url)
    finally:
        server.close()
    assert report["state"] == "done", report
    assert report["token_fallbacks"] == 1
    # Pages after the fallback start at the last datestamp of the first page (inclusive).
    assert any("from" in line for line in server.faults.log[2:])
    await _all_once(catalog)
    assert report["counts"]["seen"] > 20 and report["counts"]["unchanged"] >= 1


@pytest.fixture
def silent_source() -> Iterator[str]:
    """A source that accepts the connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/oai"
    listener.close()


async def test_a_silent_source_times_out_and_the_run_stays_resumable(
    catalog: Catalog, silent_source: str
) -> None:
    impatient = harvesting.Politeness(read_timeout=0.3, retries=1, backoff=0.01)
    report = await _run(catalog, silent_source, impatient)
    assert report["state"] == "failed"
    assert "timeout" in report["error"] and "2 attempts" in report["error"]
    again = await harvesting.prepare_run(catalog, harvesting.HarvestSpec(silent_source, LIBRARY))
    assert again["id"] == report["id"] and again["resumed"] == 1


async def test_malformed_records_are_reported_and_skipped(catalog: Catalog) -> None:
    source, server, _copies = _source()
    no_id = copy.deepcopy(new_titles(1)[0])
    no_id.remove_fields("001")
    source.put("X1", no_id)
    no_title = copy.deepcopy(new_titles(1)[0])
    no_title["001"].data = "X2"
    no_title.remove_fields("245")
    source.put("X2", no_title)
    malformed = copy.deepcopy(new_titles(1)[0])
    malformed["001"].data = "X3"
    source.put("X3", malformed)
    source.records["oai:library.example:X3"].xml = record_to_marcxml(malformed).replace(
        b'<subfield code="a">', b"<subfield>", 1
    )
    try:
        report = await _run(catalog, server.url)
    finally:
        server.close()
    assert report["state"] == "done", report
    assert report["counts"]["rejected"] == 3
    reasons = {r["identifier"]: (r["position"], r["reason"]) for r in report["rejections"]}
    assert "no 001" in reasons["oai:library.example:X1"][1]
    assert reasons["oai:library.example:X1"][0].startswith("record 21 ")
    assert "no 245" in reasons["oai:library.example:X2"][1]
    assert "subfield without a code" in reasons["oai:library.example:X3"][1]
    await _all_once(catalog)  # the rest went in


async def test_a_stop_leaves_a_resumable_run_that_ends_as_an_uninterrupted_one(
    catalog: Catalog, tmp_path: Path
) -> None:
    _src, server, _copies = _source(page_size=2)
    try:
        run = await harvesting.prepare_run(catalog, harvesting.HarvestSpec(server.url, LIBRARY))
        pages: list[int] = []
        harvester = harvesting.Harvester(catalog, run, politeness=QUICK)
        harvester.on_page = lambda r: (
            pages.append(r["counts"]["seen"]),
            len(pages) == 3 and harvester.stop(),
        )
        first = await harvester()
        assert first["state"] == "stopped" and first["counts"]["seen"] == 6
        assert first["token"]
        second = await _run(catalog, server.url)
        assert second["id"] == first["id"] and second["state"] == "done"
        assert second["counts"]["seen"] == 20
    finally:
        server.close()
    await _all_once(catalog)
    await asyncio.sleep(0)
