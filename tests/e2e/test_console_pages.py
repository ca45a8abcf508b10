"""The console over plain HTTP (no JavaScript): what each page shows, that every action answers
in the page, that record content cannot become markup, and sign-in on a shared gateway."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pymarc
import pytest
from lxml import html

from gateway.emulator.app import running_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.records import set_melinda_id
from tests.conftest import test_settings as settings_for
from tests.protocols.xserver.helpers import XClient, book, saved_id

pytestmark = pytest.mark.e2e

HOSTILE = '<script>alert("x")</script><b onmouseover="x()">Lihavoitu</b> & "lainaus"'


def cells(page: html.HtmlElement, table_id: str) -> list[list[str]]:
    rows = page.xpath(f'//table[@id="{table_id}"]//tr[td]')
    return [[td.text_content().strip() for td in row.xpath("td")] for row in rows]


async def get(
    http: aiohttp.ClientSession, url: str, status: int = 200, **kwargs: object
) -> html.HtmlElement:
    async with http.get(url, **kwargs) as response:  # type: ignore[arg-type]
        text = await response.text()
        assert response.status == status, text[:2000]
        assert response.content_type == "text/html"
    return html.fromstring(text)


async def post(
    http: aiohttp.ClientSession, url: str, data: dict[str, str], status: int = 200, **kwargs: object
) -> html.HtmlElement:
    async with http.post(url, data=data, **kwargs) as response:  # type: ignore[arg-type]
        text = await response.text()
        assert response.status == status, text[:2000]
    return html.fromstring(text)


def outcome(page: html.HtmlElement) -> str:
    return str(page.get_element_by_id("outcome").text_content().strip())


async def test_home_shows_counts_changes_and_interfaces_after_an_xserver_save(
    gateway: Gateway,
) -> None:
    from gateway.records.aleph import mark_deleted

    batch = list(generate_records(12, 3))
    mark_deleted(batch[-1])
    await gateway.catalog.load(batch)
    live, deleted = await gateway.catalog.record_counts()
    await gateway.catalog.add_library("KVP", password="salasana", lows=["KVP"])
    async with aiohttp.ClientSession() as http:
        reply = await XClient(http, gateway.http_url).update(
            "000000000",
            book("Konsolin koekirja", isbn="9789510000002", lows=("KVP",)),
            user="KVP",
            password="salasana",
        )
        created = saved_id(reply)
        page = await get(http, gateway.http_url + "/")
        assert page.findtext(".//title") == "Melinda gateway"
        assert page.get_element_by_id("count-records").text_content() == str(live + 1)
        assert page.get_element_by_id("count-deleted").text_content() == str(deleted) == "1"
        changes = cells(page, "changes")
        assert changes[0][1] == created  # the newest change first, linked to its record
        assert page.xpath(f'//table[@id="changes"]//a[@href="/records/{created}"]')
        assert changes[0][3:5] == ["KVP", "KVP"]
        assert "245" in changes[0][5]
        interfaces = dict((row[0], row[1]) for row in cells(page, "interfaces"))
        assert interfaces["sru"] == f"{gateway.http_url}/sru/bib"
        assert interfaces["z3950"] == f"127.0.0.1:{gateway.ports['z3950']}/fin01"
        # the save is in the traffic table, with its user
        traffic = cells(await get(http, gateway.http_url + "/traffic"), "journal")
        assert traffic[0][2:6] == ["xserver", "update-doc", "KVP", "ok"]
        libraries = await get(http, gateway.http_url + "/libraries")
        kvp = libraries.get_element_by_id("library-KVP")
        assert kvp.xpath('.//dd[@data-low="KVP"]')[0].text_content().strip() == "1 record"


async def test_search_pages_by_twenty_and_says_what_went_wrong(gateway: Gateway) -> None:
    await gateway.catalog.load(list(generate_records(45, 4)))
    live, _ = await gateway.catalog.record_counts()
    async with aiohttp.ClientSession() as http:
        first = await get(http, gateway.http_url + "/search?q=cql.allRecords%3D1")
        assert first.get_element_by_id("hits").text_content().startswith(f"{live} records")
        assert len(first.xpath('//ol[@id="results"]/li')) == 20
        (next_link,) = first.xpath('//a[@rel="next"]/@href')
        assert not first.xpath('//a[@rel="prev"]')
        last = await get(http, gateway.http_url + "/search?q=cql.allRecords%3D1&page=3")
        assert len(last.xpath('//ol[@id="results"]/li')) == live - 40
        assert last.xpath('//ol[@id="results"]/@start') == ["41"]
        assert not last.xpath('//a[@rel="next"]')
        second = await get(http, gateway.http_url + next_link)
        ids = [e.text_content() for e in second.xpath('//dd[@class="melinda-id"]')]
        assert ids == sorted(ids) and len(ids) == 20
        # an unknown index is the query's fault: said in the page, with the query kept
        bad = await get(http, gateway.http_url + "/search?q=dc.nosuch%3Dx", status=400)
        assert "could not be run" in bad.xpath('//p[@class="error"]')[0].text_content()
        assert bad.get_element_by_id("q").get("value") == "dc.nosuch=x"
        # a missing record and a non-id are pages, not tracebacks
        missing = await get(http, gateway.http_url + "/records/000999999", status=404)
        assert "There is no record 000999999." in missing.text_content()
        await get(http, gateway.http_url + "/records/abc", status=404)


async def test_record_content_and_journal_values_never_become_markup(gateway: Gateway) -> None:
    record = next(iter(generate_records(1, 9)))
    record.remove_fields("245")
    record.add_ordered_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", HOSTILE)],
        )
    )
    set_melinda_id(record, 7)
    await gateway.catalog.load([record])
    async with aiohttp.ClientSession() as http:
        for url in (
            "/records/000000007",
            "/search?q=" + "lihavoitu",
            "/search?q=" + aiohttp.helpers.quote(HOSTILE, safe=""),
        ):
            async with http.get(gateway.http_url + url) as response:
                raw = await response.text()
            assert "<script>alert" not in raw and "<b onmouseover" not in raw
            page = html.fromstring(raw)
            assert not page.xpath("//script[not(@src)]") and not page.xpath("//*[@onmouseover]")
        page = await get(http, gateway.http_url + "/records/000000007")
        assert page.get_element_by_id("record-title").text_content() == HOSTILE
        # a hostile parameter in the journal is text too
        async with http.get(gateway.http_url + "/sru/bib", params={"query": HOSTILE}) as r:
            assert r.status == 200
        traffic = await get(http, gateway.http_url + "/traffic")
        assert not traffic.xpath("//*[@onmouseover]")
        number = traffic.xpath('//tbody[@id="journal-rows"]/tr/@data-number')[0]
        entry = await get(http, f"{gateway.http_url}/traffic/{number}")
        assert HOSTILE in entry.get_element_by_id("parameters").text_content()
        # the request's answer is kept and shown as text
        response_text = entry.get_element_by_id("response").text_content()
        assert "searchRetrieveResponse" in response_text and "diagnostic" in response_text
        assert not entry.xpath("//*[@onmouseover]")


async def test_controls_answer_in_the_page_errors_included(gateway: Gateway) -> None:
    await gateway.catalog.load(list(generate_records(5, 1)))
    url = gateway.http_url
    async with aiohttp.ClientSession() as http:
        form = {"interface": "oai-pmh", "kind": "error", "operation": "Identify", "count": "1"}
        page = await post(http, url + "/controls/fault", form)
        assert outcome(page) == "Fault 1 added: error on oai-pmh Identify."
        assert cells(page, "faults")[0][:4] == ["1", "oai-pmh", "Identify", "error"]
        async with http.get(url + "/oai-pmh/bib?verb=Identify") as response:
            assert response.status == 503
        assert gateway.faults.rules() == []  # used up
        bad = await post(http, url + "/controls/fault", {**form, "kind": "explode"}, status=400)
        assert outcome(bad).startswith("The fault was not added: kind must be one of")
        latency = {"interface": "sru", "kind": "latency", "latency_ms": "soon", "count": "1"}
        bad = await post(http, url + "/controls/fault", latency, status=400)
        assert outcome(bad) == "latency_ms must be a whole number, not 'soon'"
        gone = await post(http, url + "/controls/fault-remove", {"id": "9"}, status=404)
        assert outcome(gone) == "There is no fault 9 (it may have been used up)."

        missing = await post(http, url + "/controls/snapshot-restore", {"name": "puuttuu"}, 404)
        assert outcome(missing) == "no snapshot named puuttuu"
        assert missing.findtext(".//h1") == "Controls"
        bad_name = await post(http, url + "/controls/snapshot", {"name": "../x"}, 400)
        assert outcome(bad_name) == "snapshot names are letters, digits, _ . - (max 64)"
        taken = await post(http, url + "/controls/snapshot", {"name": "s1"})
        assert outcome(taken).startswith("Snapshot s1 taken")
        deleted = await post(http, url + "/controls/snapshot-delete", {"name": "s1"})
        assert outcome(deleted) == "Snapshot s1 deleted."
        assert deleted.get_element_by_id("no-snapshots") is not None

        # reset asks first, and only a confirmed post empties the store
        asked = await post(http, url + "/controls/reset", {})
        assert "Empty the store?" in asked.get_element_by_id("confirm-h").text_content()
        assert (await gateway.catalog.record_counts())[0] > 0
        done = await post(http, url + "/controls/reset", {"confirm": "yes"})
        assert outcome(done) == "The store was emptied; it holds 0 records."
        seeded = await post(http, url + "/controls/seed", {"count": "7", "seed": "3"})
        assert outcome(seeded) == "7 generated records loaded (0 replaced)."
        too_many = await post(http, url + "/controls/seed", {"count": "0"}, 400)
        assert outcome(too_many) == "count must be between 1 and 1000000"
        await post(http, url + "/controls/nothing", {}, 404)

        # another site's form cannot drive the controls
        forged = await post(
            http,
            url + "/controls/reset",
            {"confirm": "yes"},
            403,
            headers={"Origin": "http://elsewhere.example"},
        )
        assert "not sent from this console" in outcome(forged)
        assert sum(await gateway.catalog.record_counts()) == 7


async def test_shared_gateway_without_token_shows_no_journal_or_controls(tmp_path: Path) -> None:
    async with (
        running_gateway(settings_for(tmp_path / "data", shared=True)) as gateway,
        aiohttp.ClientSession() as http,
    ):
        home = await get(http, gateway.http_url + "/")
        assert home.get_element_by_id("count-records").text_content() == "0"
        assert not home.xpath("//form[@method='post']")
        traffic = await get(http, gateway.http_url + "/traffic", status=403)
        assert not traffic.xpath('//table[@id="journal"]')
        assert "no admin token" in traffic.text_content()
        controls = await post(http, gateway.http_url + "/controls/reset", {"confirm": "yes"}, 403)
        assert not controls.xpath("//form[@method='post']")
        refused = await post(http, gateway.http_url + "/login", {"token": ""}, 403)
        assert "no admin token" in refused.text_content()


async def test_shared_gateway_signs_in_with_the_admin_token(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", shared=True, admin_token="s3cret-token")
    jar = aiohttp.CookieJar(unsafe=True)  # the gateway is an IP address, as in a browser
    async with running_gateway(settings) as gateway, aiohttp.ClientSession(cookie_jar=jar) as http:
        url = gateway.http_url
        page = await get(http, url + "/traffic", status=401)
        assert page.xpath('//a[@href="/login?next=/traffic"]')
        await post(http, url + "/controls/snapshot", {"name": "x"}, 401)
        wrong = await post(http, url + "/login", {"token": "guess", "next": "/traffic"}, 401)
        assert "That is not the admin token." in wrong.text_content()
        async with http.post(
            url + "/login",
            data={"token": "s3cret-token", "next": "/traffic"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/traffic"
            cookie = response.cookies["melinda_admin"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert "s3cret-token" not in cookie.value  # a digest, never the token
        await get(http, url + "/traffic")
        taken = await post(http, url + "/controls/snapshot", {"name": "jaettu"})
        assert outcome(taken).startswith("Snapshot jaettu taken")
        async with http.get(url + "/_admin/snapshots") as response:  # the JSON API too
            assert response.status == 200
            assert [s["name"] for s in (await response.json())["snapshots"]] == ["jaettu"]
        async with http.post(
            url + "/login",
            data={"token": "s3cret-token", "next": "//evil.example"},
            allow_redirects=False,
        ) as response:
            assert response.headers["Location"] == "/"  # only a path here is a way back
        async with http.post(url + "/logout", allow_redirects=False) as response:
            assert response.status == 303
        await get(http, url + "/traffic", status=401)


async def test_traffic_filters_and_live_rows(gateway: Gateway) -> None:
    url = gateway.http_url
    async with aiohttp.ClientSession() as http:
        for verb in ("Identify", "ListSets", "Identify"):
            async with http.get(url + "/oai-pmh/bib", params={"verb": verb}) as response:
                assert response.status == 200
        async with http.get(url + "/sru/bib", params={"query": "dc.nosuch=1"}) as response:
            assert response.status == 200
        rows = cells(await get(http, url + "/traffic?interface=oai-pmh"), "journal")
        assert [r[3] for r in rows] == ["Identify", "ListSets", "Identify"]
        rows = cells(await get(http, url + "/traffic?operation=list"), "journal")
        assert [r[3] for r in rows] == ["ListSets"]
        rows = cells(await get(http, url + "/traffic?outcome=failed"), "journal")
        assert [(r[2], r[5]) for r in rows] == [("sru", "diagnostic 16")]
        latest = gateway.journal.entries()[-1].number
        async with http.get(url + f"/traffic/rows?after={latest}") as response:
            assert response.status == 200 and (await response.text()).strip() == ""
            assert response.headers["X-Journal-Latest"] == str(latest)
        async with http.get(url + "/oai-pmh/bib", params={"verb": "Identify"}) as response:
            assert response.status == 200
        async with http.get(url + f"/traffic/rows?after={latest}") as response:
            fresh = html.fragment_fromstring(await response.text(), create_parent="table")
            assert response.headers["X-Journal-Latest"] == str(latest + 1)
        assert [r.get("data-number") for r in fresh.xpath(".//tr")] == [str(latest + 1)]
        page = await get(http, url + "/traffic")
        assert (
            page.xpath("//svg[@role='img']")
            and len(page.xpath("//table[@id='latency']//tr[td]")) == 2
        )
        await get(http, url + "/traffic/999999", status=404)


async def test_home_counts_both_bases_and_a_reset_empties_both(gateway: Gateway) -> None:
    """Records of the bib base and of Asteri's fin11 are counted apart; reset empties both."""
    from gateway.rules.fields import record_from_lines

    await gateway.catalog.load(list(generate_records(3, 1)))
    await gateway.catalog.authorities.load(
        [
            record_from_lines(f"100 1_$a{name}", leader="00000nz  a2200000n  4500")
            for name in ("Kivi, Aleksis,", "Linna, Väinö,")
        ]
    )
    async with aiohttp.ClientSession() as http:
        home = await get(http, gateway.http_url + "/")
        assert home.get_element_by_id("count-records").text_content() == "3"
        assert home.get_element_by_id("count-authorities").text_content() == "2"
        await post(http, gateway.http_url + "/controls/reset", {"confirm": "yes"})
        home = await get(http, gateway.http_url + "/")
    assert home.get_element_by_id("count-records").text_content() == "0"
    assert home.get_element_by_id("count-authorities").text_content() == "0"
