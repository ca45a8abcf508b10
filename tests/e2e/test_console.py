"""The console in headless Chromium, used as a person would: search, open a record, read both
views and its history, inject a fault and watch it hit a yaz-client request in the live traffic
table, take and restore a snapshot. Screenshots go to test-artifacts/console-*.png."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from tests.conftest import ROOT, require_tool
from tests.e2e.browser import Page, browser
from tests.protocols.xserver.helpers import XClient, book, saved_id

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n"


async def shoot(page: Page, name: str) -> None:
    """Screenshots at the two widths the console is made for; each must be a real picture."""
    for width in (1400, 800):
        data = await page.screenshot(ARTIFACTS / f"console-{name}-{width}.png", width)
        assert data[:8] == PNG and len(data) > 10_000
        overflow = await page.js("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {width} px by {overflow} px"
    await page.set_width(1400)


async def catalogued(gateway: Gateway) -> tuple[str, str]:
    """A library catalogues a new book over the X-server and then corrects its title:
    (the record's Melinda ID, the corrected title)."""
    await gateway.catalog.add_library("KVP", password="salasana", lows=["KVP"], sid_code="kvp")
    corrected = "Konsolin koekirja : korjattu painos"
    async with aiohttp.ClientSession() as http:
        client = XClient(http, gateway.http_url)
        created = saved_id(
            await client.update(
                "000000000",
                book("Konsolin koekirja", isbn="9789510000002", lows=("KVP",)),
                user="KVP",
                password="salasana",
            )
        )
        stored = await client.find_doc(created)
        fixed = stored.without("245").with_field(
            "245", "1", "0", [("a", "Konsolin koekirja :"), ("b", "korjattu painos")]
        )
        saved_id(await client.update(created, fixed, user="KVP", password="salasana"))
    return created, corrected


async def test_search_open_a_record_and_read_both_views_and_its_history(
    gateway: Gateway, tmp_path: Path
) -> None:
    binary = require_tool("chromium")
    await gateway.catalog.load(list(generate_records(40, 1)))
    melinda_id, title = await catalogued(gateway)
    async with browser(binary, tmp_path / "profile") as page:
        await page.goto(gateway.http_url + "/")
        assert await page.text("h1") == "Melinda gateway"
        await page.press_tab()  # the keyboard's first stop skips the navigation
        assert await page.js("document.activeElement.textContent") == "Skip to content"
        live, deleted = await gateway.catalog.record_counts()
        assert await page.text("#count-records") == str(live)
        assert await page.text("#count-deleted") == str(deleted)
        await shoot(page, "home")

        await page.type("#q", "konsolin koekirja")  # plain words, not CQL
        await page.press_enter()
        assert "/search?q=konsolin+koekirja" in await page.js("location.href")
        assert await page.text("#hits") == "1 record; 1–1 shown."
        assert await page.texts("#results .title") == ["Konsolin koekirja : korjattu painos"]
        assert await page.texts("#results .melinda-id") == [melinda_id]
        assert await page.texts("#results .lows") == ["1"]
        assert await page.texts("#results .year") == ["2020"]
        assert await page.texts("#results .author") == ["Kivi, Aleksis"]

        await page.type("#q", "dc.title=koekirja or dc.title=historia")  # CQL
        await page.press_enter()
        hits = int((await page.text("#hits")).split()[0])
        shown = await page.texts("#results .title")
        assert 1 < len(shown) == hits
        assert all("historia" in t.lower() or "koekirja" in t.lower() for t in shown)
        await shoot(page, "search")

        await page.type("#q", "konsolin koekirja")
        await page.press_enter()
        await page.click("#results .title")
        assert (await page.js("location.pathname")) == f"/records/{melinda_id}"
        assert await page.text("#record-title") == title
        lines = (await page.text("#aleph-lines")).splitlines()
        assert lines[0].startswith("LDR    ")
        assert f"001    {melinda_id}" in lines
        assert "245 10 $$aKonsolin koekirja :$$bkorjattu painos" in lines
        assert "LOW    $$aKVP" in lines
        # fin01alma carries the staleness stamp that fin01 has not: marked as only there
        added = await page.texts("#views-table tr.added td:last-child code")
        assert any(t.strip().startswith(f"024 8  $$a{melinda_id}$$d") for t in added)
        both = await page.texts("#views-table tr.same td:first-child code")
        assert "245 10 $$aKonsolin koekirja :$$bkorjattu painos" in [t.strip() for t in both]
        assert await page.texts("#lows li") == ["KVP"]
        cats = await page.texts("#cat-timeline li")
        assert len(cats) == 2 and all("KVP" in c for c in cats)
        changes = await page.texts("#significant > li")
        assert len(changes) == 2  # created, then the title corrected
        await page.js("document.querySelector('#significant details').open = true")
        newest = await page.text("#significant > li")
        assert "245" in newest and "Before" in newest and "After" in newest
        assert "Konsolin koekirja" in newest and "korjattu painos" in newest
        links = await page.texts("#record-links li")
        assert any("GetRecord" in link and melinda_id in link for link in links)
        assert any("find-doc" in link and melinda_id in link for link in links)
        z3950 = await page.text("#z3950-command")
        assert f"{gateway.ports['z3950']}/fin01" in z3950 and melinda_id in z3950
        await shoot(page, "record")
        await page.click("#find-matches")  # Melinda's record matching, from the page
        assert await page.js("location.pathname") == f"/records/{melinda_id}/match"
        assert await page.text("#record-title") == title
        assert (await page.text("#no-candidates")).startswith("No candidates")
        await page.goto(f"{gateway.http_url}/records/{melinda_id}")

        # the SRU link answers with this record
        sru = await page.js("document.querySelector('#record-links a').href")
        async with aiohttp.ClientSession() as http, http.get(sru) as response:
            body = await response.text()
        assert "<zs:numberOfRecords>1</zs:numberOfRecords>" in body
        assert f">{melinda_id}</controlfield>" in body

        await page.click("nav a[href='/libraries']")
        assert await page.text("#library-h-KVP") == "KVP KVP"
        assert "1 record" in await page.text("#library-KVP")
        await shoot(page, "libraries")


async def yaz_client(target: str, *commands: str) -> str:
    process = await asyncio.create_subprocess_exec(
        require_tool("yaz-client"),
        target,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(
        process.communicate("\n".join([*commands, "quit", ""]).encode()), 60
    )
    return out.decode("utf-8", "replace")


async def test_a_fault_added_in_the_console_hits_yaz_client_in_the_live_traffic_table(
    gateway: Gateway, tmp_path: Path
) -> None:
    binary = require_tool("chromium")
    require_tool("yaz-client")
    await gateway.catalog.load(list(generate_records(20, 2)))
    async with browser(binary, tmp_path / "profile") as page:
        await page.goto(gateway.http_url + "/controls")
        await page.select("#fault-interface", "z3950")
        await page.select("#fault-kind", "error")
        await page.type("#fault-operation", "search")
        await page.type("#fault-count", "1")
        await page.type("#fault-message", "Konsolin vika <b>")
        await page.click("#fault-form button[type=submit]")
        assert await page.text("#outcome") == "Fault 1 added: error on z3950 search."
        assert await page.texts("#faults tbody td:nth-child(2)") == ["z3950"]
        await shoot(page, "controls-fault")

        await page.goto(gateway.http_url + "/traffic")
        assert "Live" in await page.text("#live-status")  # the script is running
        before = len(await page.texts("#journal-rows tr"))
        target = f"127.0.0.1:{gateway.ports['z3950']}/fin01"
        out = await yaz_client(target, "find @attr 1=4 historia", "find @attr 1=4 historia")
        assert "Konsolin vika <b>" in out  # the diagnostic's text reaches the client
        assert "Number of hits:" in out  # the second search is served again
        # no reload: the live table shows the faulted search on top
        await page.wait_for(
            "Array.from(document.querySelectorAll('#journal-rows tr')).some("
            "r => r.querySelector('.interface').innerText === 'z3950'"
            " && r.querySelector('.outcome').innerText.startsWith('fault:'))"
        )
        rows = await page.js(
            "Array.from(document.querySelectorAll('#journal-rows tr')).map("
            "r => [r.querySelector('.interface').innerText, r.querySelector('.operation').innerText,"
            " r.querySelector('.outcome').innerText])"
        )
        assert len(rows) > before
        searches = [r for r in rows if r[0] == "z3950" and r[1] == "search"]
        assert searches[-1][2].startswith("fault:")  # the older of the two: faulted
        assert searches[0][2] == "ok"
        assert await page.js("location.pathname") == "/traffic"  # the page was never reloaded
        await page.goto(gateway.http_url + "/traffic")  # the charts are drawn by the server
        assert await page.js("document.querySelectorAll('svg.chart rect').length") >= 3
        await shoot(page, "traffic")

        # without JavaScript the same table is there, only not live
        await page.send("Emulation.setScriptExecutionDisabled", value=True)
        await page.goto(gateway.http_url + "/traffic")
        assert "Showing the newest" in await page.text("#live-status")
        assert len(await page.texts("#journal-rows tr")) == len(rows)
        await page.send("Emulation.setScriptExecutionDisabled", value=False)
        await page.click("#journal-rows tr.failed a")
        assert (await page.text("#entry-outcome")).startswith("fault:")
        assert "historia" in await page.text("#parameters")
        await page.goto(gateway.http_url + "/traffic?interface=z3950&outcome=failed")
        assert {r.split("\t")[2] for r in await page.texts("#journal-rows tr")} == {"z3950"}


async def test_take_and_restore_a_snapshot_and_reset_with_confirmation(
    gateway: Gateway, tmp_path: Path
) -> None:
    binary = require_tool("chromium")
    await gateway.catalog.load(list(generate_records(12, 7)))
    live, deleted = await gateway.catalog.record_counts()
    async with browser(binary, tmp_path / "profile") as page:
        await page.goto(gateway.http_url + "/controls")
        await page.type("#snapshot-name", "ennen")
        await page.press_enter()
        assert (await page.text("#outcome")).startswith("Snapshot ennen taken")
        assert await page.texts("#snapshots tbody td:first-child") == ["ennen"]

        await page.type("#seed-count", "30")
        await page.click("#seed-form button")
        assert await page.text("#outcome") == "30 generated records loaded (0 replaced)."

        await page.click("#reset")  # asks first
        assert "Empty the store?" in await page.text("#confirm-h")
        assert sum(await gateway.catalog.record_counts()) == live + deleted + 30
        await page.click("#confirm-reset")
        assert (await page.text("#outcome")).startswith("The store was emptied")
        assert (await gateway.catalog.record_counts())[0] == 0

        await page.click("#snapshots button[aria-label='Restore snapshot ennen']")
        restored = f"Snapshot ennen restored: {live} records, {deleted} deleted."
        assert await page.text("#outcome") == restored
        await shoot(page, "controls-snapshot")

        await page.type("#restore-name", "puuttuu")  # no such snapshot: said in the page
        await page.press_enter()
        assert await page.text("#outcome") == "no snapshot named puuttuu"
        assert await page.text("h1") == "Controls"

        await page.goto(gateway.http_url + "/")
        assert await page.text("#count-records") == str(live)


@pytest.mark.parametrize(
    ("path", "section", "title", "message"),
    [
        ("/records/kissa", "/", "Not a Melinda ID", "&#39;kissa&#39; is not a Melinda ID"),
        ("/records/123456789", "/", "No such record", "There is no record 123456789."),
        ("/traffic/999999", "/traffic", "No such request", "The journal holds no request 999999"),
    ],
)
async def test_what_is_not_there_is_a_404_page_in_its_section(
    gateway: Gateway, path: str, section: str, title: str, message: str
) -> None:
    async with aiohttp.ClientSession() as http, http.get(gateway.http_url + path) as response:
        page = await response.text()
    assert response.status == 404
    assert f"<h1>{title}</h1>" in page and message in page
    assert f'<a href="{section}" aria-current="page">' in page
