"""Asteri (fin11 / aut-names) over the wire with real clients: yaz-client, SRU over HTTP,
Sickle, the X-server; linked headings' dates in fin01alma; the linking job seen by a harvester."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from lxml import etree
from sickle import Sickle

from gateway.emulator.host import Gateway
from gateway.records import parse_marcxml
from gateway.rules.fields import field_line
from tests.conftest import shared_schema
from tests.protocols.sru.structure import assert_valid_sru2
from tests.protocols.xserver.helpers import OaiMarc, XClient, book, saved_id
from tests.protocols.z3950.conftest import yaz_client

pytestmark = pytest.mark.e2e

AUT_LEADER = "00000nz  a2200000n  4500"
SRW = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
MARC = "http://www.loc.gov/MARC21/slim"
OAI = "http://www.openarchives.org/OAI/2.0/"
PASSWORD = "fenni-pw"


def kivi() -> OaiMarc:
    return OaiMarc(
        AUT_LEADER,
        [("008", "860101|| anz|||aaa      |a ana     |||")],
        [
            ("100", "1", " ", [("a", "Kivi, Aleksis,"), ("d", "1834-1872")]),
            ("400", "1", " ", [("a", "Stenvall, Alexis,"), ("d", "1834-1872")]),
            ("670", " ", " ", [("a", "Seitsemän veljestä, 1870")]),
        ],
    )


def linked_book(title: str, isbn: str, link: str) -> OaiMarc:
    record = book(title, isbn=isbn)
    fields = [
        ("100", "1", " ", [("a", "Kivi, Aleksis."), ("0", link)]) if f[0] == "100" else f
        for f in record.fields
    ]
    return OaiMarc(record.leader, record.controls, fields)


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[XClient]:
    async with aiohttp.ClientSession() as http:
        yield XClient(http, gateway.http_url)


async def seed(gateway: Gateway, client: XClient) -> tuple[str, str]:
    """An authority written through the X-server (base FIN11) and a book linked to it."""
    await gateway.catalog.add_library("FENNI", password=PASSWORD, lows=["FENNI"], privileged=True)
    reply = await client.post(
        op="update-doc",
        library="FIN11",
        doc_action="UPDATE",
        doc_num="000000000",
        user_name="FENNI",
        user_password=PASSWORD,
        xml_full_req=kivi().find_doc(),
    )
    aut = saved_id(reply)
    bib = saved_id(
        await client.update(
            "000000000",
            linked_book("Seitsemän veljestä", "9789510000007", f"(FIN11){aut}"),
            user="FENNI",
            password=PASSWORD,
        )
    )
    return aut, bib


async def test_yaz_client_finds_and_shows_authorities_in_fin11(
    gateway: Gateway, client: XClient
) -> None:
    aut, _ = await seed(gateway, client)
    script = "\n".join(
        [
            "find @attr 1=1 kivi",
            "format usmarc",
            "show 1",
            "format xml",
            "show 1",
            "find @attr 1=1 stenvall",
            "find @attr 1=4 veljestä",  # a title word: authorities have none
        ]
    )
    output = await yaz_client(gateway, script, database="fin11")
    assert [int(n) for n in re.findall(r"Number of hits: (\d+)", output)] == [1, 1, 0]
    assert "100 1  $a Kivi, Aleksis, $d 1834-1872" in output  # USMARC, as yaz-client prints it
    assert '<datafield tag="100" ind1="1" ind2=" ">' in output  # the XML form
    assert f'<controlfield tag="001">{aut}</controlfield>' in output
    unknown = await yaz_client(gateway, "find kivi", database="fin99")
    assert "[235] Database does not exist" in unknown


async def test_fin01alma_shows_authority_dates_over_z3950_sru_and_oai(
    gateway: Gateway, client: XClient
) -> None:
    _, bib = await seed(gateway, client)
    enriched = "$a Kivi, Aleksis, $d 1834-1872. $0 (FIN11)"
    z_alma = await yaz_client(gateway, "find @attr 1=1016 veljestä\nshow 1", database="fin01alma")
    z_native = await yaz_client(gateway, "find @attr 1=1016 veljestä\nshow 1", database="fin01")
    assert enriched in z_alma and enriched not in z_native
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{gateway.http_url}/sru/fin01alma",
            params={"operation": "searchRetrieve", "version": "2.0", "query": f"rec.id={bib}"},
        ) as response,
    ):
        sru = etree.fromstring(await response.read())
    assert_valid_sru2(sru)
    heading = sru.find(f".//{{{MARC}}}datafield[@tag='100']")
    assert heading is not None
    assert [sf.text for sf in heading] == ["Kivi, Aleksis,", "1834-1872.", "(FIN11)000000001"]
    oai = await asyncio.to_thread(
        lambda: Sickle(f"{gateway.http_url}/oai-pmh/fin01alma").GetRecord(
            identifier=f"{gateway.settings.oai_identifier_prefix}{bib}",
            metadataPrefix="melinda_marc",
        )
    )
    subfields = oai.xml.findall(f".//{{{MARC}}}datafield[@tag='100']/{{{MARC}}}subfield")
    assert [s.text for s in subfields] == [
        "Kivi, Aleksis,",
        "1834-1872.",
        "(FI-ASTERI-N)000000001",
    ]


async def test_update_doc_of_the_alma_form_gives_back_the_original_record(
    gateway: Gateway, client: XClient
) -> None:
    _, bib = await seed(gateway, client)
    original = await client.find_doc(bib)
    alma = await client.find_doc(bib, base="fin01alma")
    assert (
        "100",
        "1",
        " ",
        [("a", "Kivi, Aleksis,"), ("d", "1834-1872."), ("0", "(FIN11)000000001")],
    ) in alma.fields
    saved_id(await client.update(bib, alma, user="FENNI", password=PASSWORD))
    after = await client.find_doc(bib)
    unstamped = {"005", "CAT"}
    assert [f for f in after.fields if f[0] not in unstamped] == [
        f for f in original.fields if f[0] not in unstamped
    ]


async def test_sru_aut_names_and_oai_aut_names_answer_as_the_bib_base(
    gateway: Gateway, client: XClient
) -> None:
    aut, _ = await seed(gateway, client)
    async with aiohttp.ClientSession() as http:

        async def sru(path: str, **params: str) -> etree._Element:
            async with http.get(f"{gateway.http_url}{path}", params=params) as response:
                assert response.status == 200
                return etree.fromstring(await response.read())

        found = await sru(
            "/sru/aut-names", operation="searchRetrieve", version="2.0", query='dc.author="^kivi"'
        )
        explain = await sru("/sru/aut-names", operation="explain", version="2.0")
        unknown = await sru("/sru/aut-nimet", operation="explain", version="2.0")
    for root in (found, explain, unknown):
        assert_valid_sru2(root)
    assert found.findtext(f"{{{SRW}}}numberOfRecords") == "1"
    record = found.find(f".//{{{MARC}}}record")
    assert record is not None
    assert record.findtext(f"{{{MARC}}}controlfield[@tag='001']") == aut
    marc_schema = etree.XMLSchema(etree.parse(str(shared_schema("MARC21slim.xsd"))))
    assert marc_schema.validate(etree.fromstring(etree.tostring(record))), marc_schema.error_log
    names = {e.text for e in explain.iter("{http://explain.z3950.org/dtd/2.0/}name")}
    assert {"asteriid", "author", "id"} <= names and "title" not in names
    assert unknown.findtext(
        f".//{{{'http://docs.oasis-open.org/ns/search-ws/diagnostic'}}}uri"
    ) == ("info:srw/diagnostic/1/235")

    harvester = Sickle(f"{gateway.http_url}/oai-pmh/aut-names")
    listed = await asyncio.to_thread(
        lambda: list(harvester.ListRecords(metadataPrefix="marc21", set="personal"))
    )
    sets = await asyncio.to_thread(lambda: [s.setSpec for s in harvester.ListSets()])
    assert sets == ["personal", "corporate", "meetings"]
    assert [r.header.identifier for r in listed] == [
        f"{gateway.settings.oai_identifier_prefix}{aut}"
    ]
    marc = listed[0].xml.find(f".//{{{MARC}}}record")
    assert marc is not None
    assert marc_schema.validate(etree.fromstring(etree.tostring(marc))), marc_schema.error_log
    assert marc.findtext(f"{{{MARC}}}controlfield[@tag='003']") == "FI-ASTERI-N"
    assert marc.find(f"{{{MARC}}}datafield[@tag='CAT']") is None
    with pytest.raises(Exception, match=r"noRecordsMatch|No records"):
        await asyncio.to_thread(
            lambda: list(harvester.ListRecords(metadataPrefix="marc21", set="corporate"))
        )


async def test_x_server_find_and_find_doc_in_fin11(gateway: Gateway, client: XClient) -> None:
    aut, _ = await seed(gateway, client)
    found = await client.get(op="find", base="fin11", request="WAU=kivi")
    assert found.errors == [] and found.text("no_records").lstrip("0") == "1"
    presented = await client.get(op="present", set_number=found.text("set_number"), set_entry="1")
    ((_, shown),) = presented.records()
    assert ("001", aut) in shown.controls
    record = await client.find_doc(aut, base="fin11")
    assert record.leader[6] == "z"
    assert record.tags("100") == [[("a", "Kivi, Aleksis,"), ("d", "1834-1872")]]
    assert any(subs[0] == ("a", "FENNI") for subs in record.tags("CAT"))
    unknown = await client.get(op="find-doc", base="fin99", doc_num=aut)
    assert unknown.errors == ["Base FIN99 is not defined"]


async def test_a_heading_change_reaches_an_incremental_bib_harvest(
    gateway: Gateway, client: XClient
) -> None:
    aut, bib = await seed(gateway, client)
    linked = {
        saved_id(
            await client.update(
                "000000000",
                linked_book(f"Kirja {n}", "9789510000007", form.format(aut)),
                user="FENNI",
                password=PASSWORD,
            )
        )
        for n, form in enumerate(
            ["(FI-ASTERI-N){}", "http://urn.fi/URN:NBN:fi:au:finaf:{}", "(FIN11){}"]
        )
    }
    saved_id(
        await client.update(
            "000000000", book("Muu", isbn="9789510000007"), user="FENNI", password=PASSWORD
        )
    )
    await asyncio.sleep(1.1)  # OAI-PMH datestamps are whole seconds
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    authority = await client.find_doc(aut, base="fin11")
    renamed = OaiMarc(
        authority.leader,
        authority.controls,
        [
            ("100", "1", " ", [("a", "Kivi, Aleksis Stenvall,"), ("d", "1834-1872")])
            if f[0] == "100"
            else f
            for f in authority.fields
        ],
    )
    reply = await client.post(
        op="update-doc",
        library="FIN11",
        doc_action="UPDATE",
        doc_num=aut,
        user_name="FENNI",
        user_password=PASSWORD,
        xml_full_req=renamed.find_doc(),
    )
    saved_id(reply)
    harvested = await asyncio.to_thread(
        lambda: list(
            Sickle(f"{gateway.http_url}/oai-pmh/bib").ListRecords(
                metadataPrefix="melinda_marc", **{"from": since}
            )
        )
    )
    ids = {r.header.identifier[-9:] for r in harvested}
    assert ids == {bib, *linked}  # exactly the linked records: not "Muu", not the authority
    for harvested_record in harvested:
        marc = harvested_record.xml.find(f".//{{{MARC}}}record")
        record = parse_marcxml(etree.tostring(marc))
        lines = [field_line(f) for f in record.fields]
        assert any(x.startswith("100 1_$aKivi, Aleksis Stenvall.$0") for x in lines), lines
    rewritten = await client.find_doc(sorted(linked)[0])
    assert rewritten.tags("CAT")[-1][0] == ("a", "LOAD-ALINK")
