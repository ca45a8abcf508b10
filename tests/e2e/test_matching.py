"""Duplicates catalogued through the X-server, found by `/_admin/match` and merged by `/_admin/merge`,
then looked for by the old id over SRU, Z39.50 and the X-server, and harvested over OAI-PMH."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pymarc
import pytest
from lxml import etree, html
from sickle import Sickle

from gateway import records
from gateway.emulator.host import Gateway
from tests.conftest import ROOT
from tests.protocols.xserver.helpers import OaiMarc, Subfields, XClient, book, saved_id
from tests.protocols.z3950.conftest import z_address, zoomsh

pytestmark = pytest.mark.e2e

LIBRARIES = ("HELKA", "TAMK", "OULA", "JYKDOK", "FENNI")
SRW = {"srw": "http://docs.oasis-open.org/ns/search-ws/sruResponse"}


def isbn10(first9: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return first9 + ("X" if check == 10 else str(check))


def isbn13_of(ten: str) -> str:
    body = "978" + ten[:9]
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


VELJEKSET_10 = isbn10("951112345")
VELJEKSET_13 = isbn13_of(VELJEKSET_10)


def hyphenated_10(ten: str) -> str:
    return f"{ten[:3]}-{ten[3]}-{ten[4:9]}-{ten[9]}"


def novel(
    title: str,
    subtitle: str | None,
    *,
    isbn: str | None,
    low: str,
    extra: list[tuple[str, str, str, Subfields]] | None = None,
) -> OaiMarc:
    """A complete book record (book() of the X-server tests) with its own 245 $a $b."""
    record = book(title, isbn=isbn or "0", lows=(low,), extra=extra or [])
    if isbn is None:
        record = record.without("020")
    title_subfields: Subfields = [("a", f"{title} :" if subtitle else title)]
    if subtitle:
        title_subfields.append(("b", subtitle))
    fields = [
        (tag, i1, i2, title_subfields if tag == "245" else subs)
        for tag, i1, i2, subs in record.fields
    ]
    return OaiMarc(record.leader, list(record.controls), fields)


def component(title: str, host_id: int, *, low: str) -> OaiMarc:
    """A component part (an article in a host) naming its host in 773 $w."""
    record = novel(
        title,
        None,
        isbn=None,
        low=low,
        extra=[
            (
                "773",
                "0",
                " ",
                [
                    ("7", "nnam"),
                    ("w", f"(FI-MELINDA){host_id:09d}"),
                    ("t", "Kokoelma"),
                    ("g", "2020, s. 10-20"),
                ],
            )
        ],
    )
    return OaiMarc("00000naa a2200000 i 4500", list(record.controls), record.fields)


def marcxml(record: OaiMarc) -> bytes:
    """The record as a cataloguing client would send it for matching (no Melinda ID)."""
    return records.record_to_marcxml(records.parse_oai_marc(record.to_xml()))


class Wire:
    """The clients a test drives: the X-server and the admin API, over HTTP."""

    def __init__(self, gateway: Gateway, http: aiohttp.ClientSession) -> None:
        self.gateway = gateway
        self.http = http
        self.x = XClient(http, gateway.http_url)

    async def create(self, record: OaiMarc) -> int:
        user = next(v for subs in record.tags("LOW") for c, v in subs if c == "a")
        reply = await self.x.update("000000000", record, user=user, password=f"{user}-pw")
        return int(saved_id(reply))

    async def match(self, body: bytes) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.gateway.http_url}/_admin/match", data=body) as r:
            return r.status, await r.json()

    async def merge(self, **spec: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.gateway.http_url}/_admin/merge", json=spec) as r:
            return r.status, await r.json()

    async def sru_ids(self, query: str) -> list[str]:
        params = {"query": query, "recordSchema": "marcxml", "maximumRecords": "10"}
        async with self.http.get(f"{self.gateway.http_url}/sru/bib", params=params) as r:
            root = etree.fromstring(await r.read())
        controls = root.iterfind(".//{http://www.loc.gov/MARC21/slim}controlfield[@tag='001']")
        return [c.text or "" for c in controls]


@pytest.fixture
async def wire(gateway: Gateway) -> AsyncIterator[Wire]:
    for code in LIBRARIES:
        await gateway.catalog.add_library(code, password=f"{code}-pw", lows=[code])
    async with aiohttp.ClientSession() as http:
        yield Wire(gateway, http)


def matches_of(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ((result,),) = [reply["records"]]
    return {m["id"]: m for m in result["matches"]}


def candidates_of(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ((result,),) = [reply["records"]]
    return {c["id"]: c for c in result["candidates"]}


# --- matching --------------------------------------------------------------------------
async def test_the_same_record_twice_and_its_variants_are_found(wire: Wire) -> None:
    original = novel("Seitsemän veljestä", "romaani", isbn=VELJEKSET_13, low="HELKA")
    first = await wire.create(original)
    again = await wire.create(novel("Seitsemän veljestä", "romaani", isbn=VELJEKSET_13, low="TAMK"))
    as_isbn10 = await wire.create(
        novel("Seitsemän veljestä", "romaani", isbn=hyphenated_10(VELJEKSET_10), low="OULA")
    )
    new_subtitle = await wire.create(
        novel("Seitsemän veljestä", "kertomus Hämeestä", isbn=VELJEKSET_13, low="JYKDOK")
    )
    status, reply = await wire.match(marcxml(original))
    assert status == 200, reply
    found = matches_of(reply)
    for rid in (first, again, as_isbn10, new_subtitle):
        assert found[f"{rid:09d}"]["probability"] >= 0.9, found
        assert found[f"{rid:09d}"]["strategy"] == "STANDARD_IDS"
    # the ISBN-10 copy, sent in its own form, finds the ISBN-13 ones
    status, reply = await wire.match(
        marcxml(novel("Seitsemän veljestä", "romaani", isbn=VELJEKSET_10, low="OULA"))
    )
    assert {f"{first:09d}", f"{again:09d}"} <= set(matches_of(reply))


async def test_a_stored_record_is_not_its_own_duplicate(wire: Wire) -> None:
    first = await wire.create(novel("Nummisuutarit", "komedia", isbn=VELJEKSET_13, low="HELKA"))
    copy = await wire.create(novel("Nummisuutarit", "komedia", isbn=VELJEKSET_13, low="TAMK"))
    stored = await wire.gateway.catalog.get(copy)
    status, reply = await wire.match(stored.xml)
    assert status == 200
    assert set(matches_of(reply)) == {f"{first:09d}"}  # found through its 035 too, not itself


async def test_a_component_part_twice_is_found_by_its_host(wire: Wire) -> None:
    host = await wire.create(novel("Kokoelma", "novelleja", isbn=VELJEKSET_13, low="HELKA"))
    part = component("Ensimmäinen novelli", host, low="HELKA")
    one = await wire.create(part)
    two = await wire.create(component("Ensimmäinen novelli", host, low="TAMK"))
    other_part = await wire.create(component("Toinen tarina", host, low="TAMK"))
    status, reply = await wire.match(marcxml(part))
    assert status == 200
    found = matches_of(reply)
    assert set(found) == {f"{one:09d}", f"{two:09d}"}
    assert all(m["strategy"] == "CONTENT" and m["probability"] >= 0.9 for m in found.values())
    compared = candidates_of(reply)
    assert compared[f"{other_part:09d}"]["probability"] < 0.9  # a sibling part, compared
    assert f"{host:09d}" not in compared  # the host is no candidate for its part


async def test_distinct_records_sharing_a_title_word_are_not_matches(wire: Wire) -> None:
    summer_and_winter = await wire.create(
        novel("Kesä ja talvi", None, isbn=isbn13_of(isbn10("951100001")), low="HELKA")
    )
    summer = novel("Kesä", None, isbn=isbn13_of(isbn10("951100002")), low="TAMK")
    status, reply = await wire.match(marcxml(summer))
    assert status == 200
    compared = candidates_of(reply)
    assert compared[f"{summer_and_winter:09d}"]["probability"] < 0.9, compared
    assert matches_of(reply) == {}


async def test_deleted_records_are_never_candidates(wire: Wire) -> None:
    record = novel("Pois", None, isbn=VELJEKSET_13, low="HELKA")
    gone = await wire.create(record)
    await wire.gateway.catalog.remove_low(gone, "HELKA")
    await wire.gateway.catalog.delete(gone)
    status, reply = await wire.match(marcxml(record))
    assert status == 200 and candidates_of(reply) == {}


async def test_match_rejects_what_is_not_a_record(wire: Wire) -> None:
    status, reply = await wire.match(b"<record><leader>broken")
    assert status == 400 and reply["rejected"], reply
    status, reply = await wire.match(b"")
    assert status == 400 and "MARCXML" in reply["error"]


# --- merging ---------------------------------------------------------------------------
def _values(record: Any, tag: str, code: str) -> list[str]:
    return [v for f in record.get_fields(tag) for v in f.get_subfields(code)]


async def test_merge_keeps_one_record_found_by_the_old_id_everywhere(wire: Wire) -> None:
    gateway = wire.gateway
    preferred = await wire.create(
        novel(
            "Seitsemän veljestä",
            "romaani",
            isbn=VELJEKSET_13,
            low="HELKA",
            extra=[("650", " ", "7", [("a", "veljekset"), ("2", "yso/fin")])],
        )
    )
    other = await wire.create(
        novel(
            "Seitsemän veljestä",
            "romaani",
            isbn=VELJEKSET_13,
            low="TAMK",
            extra=[
                ("084", " ", " ", [("a", "84.2"), ("2", "ykl")]),
                ("500", " ", " ", [("a", "Painettu Tampereella.")]),
                ("650", " ", "7", [("a", "maaseutu"), ("2", "yso/fin")]),
            ],
        )
    )
    await gateway.catalog.add_low(preferred, "HELKA", local_id="helka-1")
    await gateway.catalog.add_low(other, "TAMK", local_id="tamk-7")
    cats_before = {
        rid: [str(f) for f in (await gateway.catalog.get(rid)).record().get_fields("CAT")]
        for rid in (preferred, other)
    }
    stamp = datetime.fromtimestamp(time.time() - 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    await asyncio.sleep(1.1)  # the merge saves in a later second than the creations

    status, reply = await wire.merge(preferred=preferred, other=f"{other:09d}", user="HELKA")
    assert status == 200, reply
    assert reply["kept"] == f"{preferred:09d}" and reply["deleted"] == f"{other:09d}"

    kept = (await gateway.catalog.get(preferred)).record()
    assert records.lows(kept) == ["HELKA", "TAMK"]
    assert set(records.sids(kept)) == {("helka-1", "helka"), ("tamk-7", "tamk")}
    kept_cats = [str(f) for f in kept.get_fields("CAT")]
    assert all(c in kept_cats for c in cats_before[preferred] + cats_before[other])
    assert len(kept_cats) == len(cats_before[preferred]) + len(cats_before[other]) + 1
    assert "=CAT  \\\\$aHELKA" in kept_cats[-1]  # the merge's own CAT
    assert f"(FI-MELINDA){other:09d}" in _values(kept, "035", "z")
    assert _values(kept, "650", "a") == ["veljekset", "maaseutu"]
    assert _values(kept, "084", "a") == ["84.2"]
    assert _values(kept, "500", "a") == ["Painettu Tampereella."]
    assert len(kept.get_fields("245")) == 1 and len(kept.get_fields("020")) == 1

    gone = await gateway.catalog.get(other)
    assert gone.deleted
    gone_record = gone.record()
    assert str(gone_record.leader)[5] == "d" and _values(gone_record, "STA", "a") == ["DELETED"]
    assert records.lows(gone_record) == []
    assert "$aHELKA" in str(gone_record.get_fields("CAT")[-1])  # the deletion is the merge's
    assert await gateway.catalog.record_counts() == (1, 1)

    # the old id finds the kept record: SRU, Z39.50 (Bib-1 12), X-server find
    assert await wire.sru_ids(f"melinda.melindaid={other:09d}") == [f"{preferred:09d}"]
    output = await zoomsh(
        f"connect {z_address(gateway)}",
        f"find @attr 1=12 {other:09d}",
        "set preferredRecordSyntax usmarc",
        "show 0 1",
    )
    assert f"{z_address(gateway)}: 1 hits" in output, output
    assert f"001 {preferred:09d}" in output
    found = await wire.x.get(op="find", base="fin01", request=f"MIDRR={other:09d}")
    assert found.text("no_records") == "000000001"
    shown = await wire.x.get(op="present", set_number=found.text("set_number"), set_entry="1")
    assert shown.root.findtext("record/doc_number") == f"{preferred:09d}"

    # a harvest from before the merge sees the update and the deletion
    harvested = await asyncio.to_thread(
        lambda: {
            r.header.identifier: r
            for r in Sickle(gateway.urls()["oai_pmh"]).ListRecords(
                metadataPrefix="melinda_marc", **{"from": stamp}
            )
        }
    )
    kept_oai = harvested[f"oai:melinda.kansalliskirjasto.fi/{preferred:09d}"]
    assert not kept_oai.header.deleted and "TAMK" in kept_oai.raw
    assert harvested[f"oai:melinda.kansalliskirjasto.fi/{other:09d}"].header.deleted

    # the significant-change feed names the merge
    async with wire.http.get(f"{gateway.http_url}/_admin/changes") as response:
        feed = (await response.json())["changes"]
    merges = [c for c in feed if any(f["tag"] == "MERGE" for f in c["fields"])]
    assert {c["record"] for c in merges} == {f"{preferred:09d}", f"{other:09d}"}, feed
    assert all(c["user"] == "HELKA" for c in merges)


# --- refusals: each rule, and nothing changes ------------------------------------------
async def _refused(wire: Wire, preferred: int, other: int, rule: str, user: str = "HELKA") -> None:
    before = [await wire.gateway.catalog.get(rid) for rid in (preferred, other)]
    status, reply = await wire.merge(preferred=preferred, other=other, user=user)
    assert status == 409, reply
    assert reply["rule"] == rule and f"({rule})" in reply["error"], reply
    after = [await wire.gateway.catalog.get(rid) for rid in (preferred, other)]
    assert [(s.seq, s.xml) for s in after] == [(s.seq, s.xml) for s in before]


async def _stored(wire: Wire, record: OaiMarc, **changes: Any) -> int:
    """A record put in the store as given (STA, 59X $5 … are not what a client may send)."""
    marc = records.parse_oai_marc(record.to_xml())
    for tag, subfields in changes.get("add", []):
        marc.add_ordered_field(
            pymarc.Field(
                tag=tag,
                indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield(c, v) for c, v in subfields],
            )
        )
    if "leader" in changes:
        marc.leader = pymarc.Leader(changes["leader"])
    report = await wire.gateway.catalog.load([marc])
    assert report.loaded == 1
    return wire.gateway.catalog.high_id


async def test_refused_same_record(wire: Wire) -> None:
    rid = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    await _refused(wire, rid, rid, "same-record")


async def test_refused_deleted(wire: Wire) -> None:
    kept = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    gone = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"))
    await wire.gateway.catalog.remove_low(gone, "TAMK")
    await wire.gateway.catalog.delete(gone)
    await _refused(wire, kept, gone, "deleted")


async def test_refused_test_record(wire: Wire) -> None:
    kept = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    test = await _stored(
        wire, novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"), add=[("STA", [("a", "TEST")])]
    )
    await _refused(wire, kept, test, "test-record")


async def test_refused_component_against_host(wire: Wire) -> None:
    host = await wire.create(novel("Kokoelma", None, isbn=VELJEKSET_13, low="HELKA"))
    part = await wire.create(component("Kokoelma", host, low="TAMK"))
    await _refused(wire, host, part, "host-component")


async def test_refused_different_record_types(wire: Wire) -> None:
    text = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    music = await _stored(
        wire, novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"), leader="00000ncm a2200000 i 4500"
    )
    await _refused(wire, text, music, "record-type")


async def test_refused_different_bibliographic_levels(wire: Wire) -> None:
    monograph = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    serial = await _stored(
        wire, novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"), leader="00000nas a2200000 i 4500"
    )
    await _refused(wire, monograph, serial, "bibliographic-level")


async def test_refused_the_same_low_on_both(wire: Wire) -> None:
    one = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    two = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    await _refused(wire, one, two, "same-low")


async def test_refused_conflicting_national_collection_fields(wire: Wire) -> None:
    one = await _stored(
        wire,
        novel("Yksi", None, isbn=VELJEKSET_13, low="FENNI"),
        add=[("594", [("a", "Ennakkotieto"), ("5", "FENNI")])],
    )
    two = await _stored(
        wire,
        novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"),
        add=[("594", [("a", "Tarkistettu ennakkotieto"), ("5", "FENNI")])],
    )
    await _refused(wire, one, two, "national-collection")


async def test_bad_merge_requests_get_clear_errors(wire: Wire) -> None:
    one = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    two = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"))
    status, reply = await wire.merge(preferred=one, other=999_999, user="HELKA")
    assert status == 404 and "000999999 does not exist" in reply["error"]
    status, reply = await wire.merge(preferred=one, other=two, user="NOBODY")
    assert status == 403 and "NOBODY is not a library user" in reply["error"]
    status, reply = await wire.merge(preferred=one, other=two, user="HELKA", password="wrong")
    assert status == 401
    status, reply = await wire.merge(preferred="x", other=two, user="HELKA")
    assert status == 400 and "preferred must be a Melinda ID" in reply["error"]
    status, reply = await wire.merge(preferred=one, other=two)
    assert status == 400 and "user" in reply["error"]
    async with wire.http.post(
        f"{wire.gateway.http_url}/_admin/merge", data=b"{not json"
    ) as response:
        assert response.status == 400
    for rid in (one, two):
        assert not (await wire.gateway.catalog.get(rid)).deleted


# --- the console's record page and the CLI -----------------------------------------------
async def test_console_record_page_finds_duplicates_and_merges(wire: Wire) -> None:
    one = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="HELKA"))
    two = await wire.create(novel("Yksi", None, isbn=VELJEKSET_13, low="TAMK"))
    page_url = f"{wire.gateway.http_url}/records/{one:09d}"
    async with wire.http.get(page_url) as response:
        page = html.fromstring(await response.text())
    assert page.get_element_by_id("find-matches") is not None
    async with wire.http.post(page_url + "/match") as response:
        assert response.status == 200
        page = html.fromstring(await response.text())
    rows = [
        [td.text_content() for td in tr.xpath("td")]
        for tr in page.xpath('//table[@id="candidates"]//tr[td]')
    ]
    assert [(r[0], r[3]) for r in rows] == [(f"{two:09d}", "yes")]
    (form,) = [f for f in page.iter("form") if f.get("id") == "merge-form"]
    assert {i.get("name") for i in form.iter("input")} == {"other", "user", "confirm"}
    fields = {"other": str(two), "user": "tamk", "confirm": "yes"}
    async with wire.http.post(page_url + "/merge", data=fields) as response:
        assert response.status == 200
        said = html.fromstring(await response.text()).get_element_by_id("merge-outcome")
    assert said.text_content().strip() == f"Merged: {one:09d} kept, {two:09d} deleted."
    assert (await wire.gateway.catalog.get(two)).deleted
    assert records.lows((await wire.gateway.catalog.get(one)).record()) == ["HELKA", "TAMK"]
    # a refusal is said in the page, with the merge API's status
    async with wire.http.post(page_url + "/merge", data=fields) as response:
        assert response.status == 409
        said = html.fromstring(await response.text()).get_element_by_id("merge-outcome")
    assert "deleted" in said.text_content()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_cli_match_and_merge(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    collection = tmp_path / "duplicates.xml"
    distinct = novel("Kesä ja talvi", None, isbn=isbn13_of(isbn10("951100001")), low="OULA")
    collection.write_bytes(
        records.COLLECTION_START
        + marcxml(novel("Seitsemän veljestä", "romaani", isbn=VELJEKSET_13, low="HELKA"))
        + marcxml(novel("Seitsemän veljestä", None, isbn=hyphenated_10(VELJEKSET_10), low="TAMK"))
        + marcxml(distinct)
        + records.COLLECTION_END
    )
    assert _cli("load", *data, str(collection)).returncode == 0
    for code in ("HELKA", "TAMK"):
        assert _cli("library", "add", code, *data).returncode == 0

    probe = tmp_path / "probe.xml"
    probe.write_bytes(
        records.COLLECTION_START
        + marcxml(novel("Seitsemän veljestä", "romaani", isbn=VELJEKSET_13, low="OULA"))
        + marcxml(novel("Kesä", None, isbn=isbn13_of(isbn10("951100002")), low="OULA"))
        + records.COLLECTION_END
    )
    matched = _cli("match", *data, str(probe))
    assert matched.returncode == 0, matched.stderr
    first, second = matched.stdout.splitlines()
    assert first.startswith("record 1") and "000000001* 1.00 STANDARD_IDS" in first, first
    assert "000000002* 1.00 STANDARD_IDS" in first
    assert second.startswith("record 2") and "000000003 " in second and "*" not in second, second

    refused = _cli("merge", "1", "1", "--user", "HELKA", *data)
    assert refused.returncode == 1
    assert "Merge refused (same-record): 000000001 cannot be merged with itself" in refused.stderr
    unknown = _cli("merge", "1", "99", "--user", "HELKA", *data)
    assert unknown.returncode == 1 and "000000099 does not exist" in unknown.stderr
    nobody = _cli("merge", "1", "2", "--user", "NOBODY", *data)
    assert nobody.returncode == 1 and "No such library: NOBODY" in nobody.stderr

    merged = _cli("merge", "1", "2", "--user", "HELKA", *data)
    assert merged.returncode == 0, merged.stderr
    assert "merged 000000002 into 000000001 as HELKA" in merged.stdout
    exported = _cli("export", *data)
    kept, gone, _ = list(records.iter_marcxml(io.BytesIO(exported.stdout.encode())))
    assert records.lows(kept) == ["HELKA", "TAMK"] and records.is_deleted(gone)

    for verb in (["match", str(probe)], ["merge", "1", "2", "--user", "HELKA"]):
        nowhere = _cli(verb[0], "--data-dir", str(tmp_path / "typo"), *verb[1:])
        assert nowhere.returncode == 2 and "no store at" in nowhere.stderr, nowhere.stderr

    bad = tmp_path / "bad.xml"
    bad.write_text("<collection><record><leader>x", encoding="utf-8")
    unreadable = _cli("match", *data, str(bad))
    assert unreadable.returncode == 1 and "rejected" in unreadable.stdout
