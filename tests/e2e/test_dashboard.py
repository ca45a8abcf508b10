"""The dashboard in headless Chromium: counts, a record saved over the X-server, a screenshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from lxml import html

from gateway.emulator.host import Gateway
from gateway.rules.fields import record_from_lines
from tests.conftest import ROOT, require_tool
from tests.protocols.xserver.helpers import XClient, book, saved_id

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts"


async def chromium(binary: str, profile: Path, *args: str) -> bytes:
    """Run headless Chromium once (no sandbox: tests may run as root in a container)."""
    process = await asyncio.create_subprocess_exec(
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode("utf-8", "replace")[-2000:]
    return out


def cell_texts(page: html.HtmlElement, table_id: str) -> list[list[str]]:
    rows = page.xpath(f'//table[@id="{table_id}"]//tr[td]')
    return [[td.text_content().strip() for td in row.xpath("td")] for row in rows]


async def test_dashboard_shows_counts_and_an_xserver_save(gateway: Gateway, tmp_path: Path) -> None:
    binary = require_tool("chromium")
    from gateway.emulator.generator import generate_records
    from gateway.records.aleph import mark_deleted

    batch = list(generate_records(12, 3))
    mark_deleted(batch[-1])
    await gateway.catalog.load(batch)
    live, deleted = await gateway.catalog.record_counts()
    await gateway.catalog.authorities.load(
        [
            record_from_lines(f"100 1_$a{name}", leader="00000nz  a2200000n  4500")
            for name in ("Kivi, Aleksis,", "Linna, Väinö,")
        ]
    )
    await gateway.catalog.add_library("KVP", password="salasana", lows=["KVP"])
    async with aiohttp.ClientSession() as http:
        reply = await XClient(http, gateway.http_url).update(
            "000000000",
            book("Dashboardin koekirja", isbn="9789510000002", lows=("KVP",)),
            user="KVP",
            password="salasana",
        )
    created = saved_id(reply)

    dom = await chromium(binary, tmp_path / "profile", "--dump-dom", gateway.http_url + "/")
    page = html.fromstring(dom)
    assert page.findtext(".//title") == "Melinda gateway"
    assert page.get_element_by_id("count-records").text_content() == str(live + 1)
    assert page.get_element_by_id("count-deleted").text_content() == str(deleted) == "1"
    assert page.get_element_by_id("count-authorities").text_content() == "2"
    changes = cell_texts(page, "changes")
    assert changes[0][1] == created  # the newest change first
    assert changes[0][3:5] == ["KVP", "KVP"]
    assert "245" in changes[0][5]
    assert ["KVP", "1"] in cell_texts(page, "lows")
    journal = cell_texts(page, "journal")
    assert [journal[0][1], journal[0][3], journal[0][4]] == ["xserver", "update-doc", "ok"]
    interfaces = dict((row[0], row[1]) for row in cell_texts(page, "interfaces"))
    assert interfaces["sru"] == f"{gateway.http_url}/sru/bib"
    assert page.xpath('//form[@action="/_admin/reset?next=/"]')  # actions work without JavaScript

    await asyncio.to_thread(ARTIFACTS.mkdir, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    await asyncio.to_thread(shot.unlink, missing_ok=True)
    await chromium(
        binary,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        gateway.http_url + "/",
    )
    header = await asyncio.to_thread(shot.read_bytes)
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and len(header) > 10_000


async def test_dashboard_counts_both_bases(gateway: Gateway) -> None:
    """Records of the bib base and of Asteri's fin11 are counted apart; reset empties both."""
    from gateway.emulator.generator import generate_records

    await gateway.catalog.load(list(generate_records(3, 1)))
    await gateway.catalog.authorities.load(
        [
            record_from_lines(f"100 1_$a{name}", leader="00000nz  a2200000n  4500")
            for name in ("Kivi, Aleksis,", "Linna, Väinö,")
        ]
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.http_url + "/") as response:
            page = html.fromstring(await response.text())
        assert page.get_element_by_id("count-records").text_content() == "3"
        assert page.get_element_by_id("count-authorities").text_content() == "2"
        async with http.post(gateway.http_url + "/_admin/reset?next=/", data={}) as response:
            page = html.fromstring(await response.text())
    assert page.get_element_by_id("count-authorities").text_content() == "0"


async def test_dashboard_form_posts_come_back_to_the_page(gateway: Gateway) -> None:
    """The no-JavaScript path: a form post runs the action and redirects to `/`."""
    await gateway.catalog.load(__import__("gateway.emulator.generator").emulator.generator.generate_records(3, 1))
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.http_url + "/_admin/reset?next=/", data={}) as response,
    ):
        assert response.status == 200
        assert str(response.url) == gateway.http_url + "/"
        page = html.fromstring(await response.text())
    assert page.get_element_by_id("count-records").text_content() == "0"


async def test_dashboard_fault_form_injects_a_fault(gateway: Gateway) -> None:
    form = {
        "interface": "oai-pmh",
        "kind": "error",
        "operation": "Identify",
        "count": "1",
        "latency_ms": "500",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(gateway.http_url + "/_admin/faults?next=/", data=form) as response:
            assert response.status == 200 and str(response.url) == gateway.http_url + "/"
        async with http.get(gateway.http_url + "/oai-pmh/bib?verb=Identify") as response:
            assert response.status == 503
    assert gateway.faults.rules() == []  # used up


async def test_shared_dashboard_hides_journal_and_controls(tmp_path: Path) -> None:
    from gateway.emulator.app import running_gateway
    from tests.conftest import test_settings as settings_for

    async with (
        running_gateway(settings_for(tmp_path / "data", shared=True)) as gateway,
        aiohttp.ClientSession() as http,
        http.get(gateway.http_url + "/") as response,
    ):
        page = html.fromstring(await response.text())
    assert page.get_element_by_id("count-records").text_content() == "0"
    assert not page.xpath('//table[@id="journal"]')
    assert not page.xpath("//form")
