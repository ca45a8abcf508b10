"""SRU over the wire with an aiohttp client: structure as Melinda answers, versions, paging, schemas."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pymarc
import pytest
from lxml import etree

from gateway.catalog import SortKey
from gateway.emulator.host import Gateway
from gateway.query import INDEXES, AllRecords
from gateway.records import parse_marcxml
from tests.conftest import shared_fixture, shared_schema
from tests.protocols.sru.conftest import SruGet, fetch_sru
from tests.protocols.sru.structure import (
    MARC,
    SRU2,
    SRU2_DIAG,
    SRU2_SCAN,
    SRW,
    SRW_DIAG,
    as_oasis,
    assert_srw1_structure,
    assert_valid_sru2,
    envelope_paths,
    text_of,
)

Z = f"{{{SRU2}}}"


def fixture_request(name: str) -> dict[str, str]:
    """The parameters of the first request beside a Melinda response fixture."""
    spec = json.loads(shared_fixture("sru-responses", f"{name}.request.json").read_text())
    return dict(parse_qsl(urlsplit(spec["requests"][0]["url"]).query))


def fixture_root(name: str) -> etree._Element:
    return etree.parse(str(shared_fixture("sru-responses", f"{name}.xml"))).getroot()


def component_part(title: str, host_id: int) -> pymarc.Record:
    sf = pymarc.Subfield
    record = pymarc.Record(leader="00000naa a22000004i 4500")
    record.add_field(
        pymarc.Field(tag="008", data="200101s2020    fi ||||| |||| 00| 0 fin d"),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("0", "0"),
                     subfields=[sf("a", title)]),
        pymarc.Field(tag="773", indicators=pymarc.Indicators("0", " "),
                     subfields=[sf("w", f"(FI-MELINDA){host_id:09d}")]),
        pymarc.Field(tag="SID", subfields=[sf("c", "134997"), sf("b", "alma")]),
        pymarc.Field(tag="CAT", subfields=[sf("a", "KVP4001"), sf("c", "20100115"),
                                           sf("l", "FIN01"), sf("h", "1218")]),
        pymarc.Field(tag="LOW", subfields=[sf("a", "ALMA")]),
    )
    return record


# --- the real Melinda responses --------------------------------------------------------


async def test_parts_of_host_has_melindas_structure(gateway: Gateway, sru: SruGet) -> None:
    expected = fixture_root("sru2.0-searchRetrieve-partsofhost")
    params = fixture_request("sru2.0-searchRetrieve-partsofhost")
    await gateway.catalog.load([component_part(t, 123) for t in ("Osa 1", "Osa 2")])

    root = await sru(**params)

    assert envelope_paths(root) == envelope_paths(expected)
    assert text_of(root, "recordSchema") == ["info:srw/schema/1/marcxml-v1.1"] * 2
    assert text_of(root, "recordPosition") == text_of(expected, "recordPosition") == ["1", "2"]
    # records come whole, Aleph fields included, in MARCXML's namespace
    record = root.find(f"{Z}records/{Z}record/{Z}recordData/{{{MARC}}}record")
    assert record is not None
    tags = [f.get("tag") for f in record.iterfind(f"{{{MARC}}}datafield")]
    assert {"SID", "CAT", "LOW", "773"} <= set(tags)
    assert_valid_sru2(root)


async def test_unknown_schema_has_melindas_structure(
    records: list[pymarc.Record], sru: SruGet
) -> None:
    expected = fixture_root("sru-client-03")
    params = fixture_request("sru-client-03") | {"query": "cql.allRecords=1"}

    root = await sru(**params)

    assert envelope_paths(root) == envelope_paths(expected)
    assert text_of(root, "uri") == text_of(expected, "uri") == ["info:srw/diagnostic/1/66"]
    assert text_of(root, "message") == text_of(expected, "message")
    # as Melinda: the search ran, its count is reported beside the diagnostic
    assert text_of(root, "numberOfRecords") == [str(len(records))]
    assert_valid_sru2(root)


async def test_system_error_has_melindas_structure(gateway: Gateway, sru: SruGet) -> None:
    expected = fixture_root("sru-client-06")
    await gateway.catalog.close()  # the store going away is an unexpected failure

    root = await sru(query="dc.title=kissa")

    assert envelope_paths(root) == envelope_paths(expected)
    assert text_of(root, "uri") == ["info:srw/diagnostic/1/1"]
    assert text_of(root, "message") == ["Permanent system error"]
    assert "Traceback" not in (text_of(root, "details")[0])
    assert_valid_sru2(root)


async def test_record_envelope_matches_melindas(records: object, sru: SruGet) -> None:
    expected = fixture_root("sru-client-01")
    root = await sru(query="cql.allRecords=1", maximumRecords=2)
    ours = [p for p in envelope_paths(root) if not p.endswith("nextRecordPosition")]
    theirs = [p.replace("/foo", f"/{{{MARC}}}record") for p in envelope_paths(expected)]
    assert ours == theirs


# --- versions ---------------------------------------------------------------------------


async def test_version_2_is_the_default(records: object, sru: SruGet) -> None:
    root = await sru(query="cql.allRecords=1", maximumRecords=1)
    assert root.tag == f"{Z}searchRetrieveResponse"
    assert root.find(f"{Z}version") is None
    assert root.find(f"{Z}echoedSearchRetrieveRequest") is None
    assert text_of(root, "recordXMLEscaping") == ["xml"]
    assert_valid_sru2(root)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_version_1_namespaces_and_echo(
    records: object, sru: SruGet, version: str
) -> None:
    root = await sru(version=version, operation="searchRetrieve", query="cql.allRecords=1",
                     maximumRecords=3, startRecord=2, recordSchema="marcxml")
    assert root.tag == f"{{{SRW}}}searchRetrieveResponse"
    assert text_of(root, "version")[0] == version
    assert text_of(root, "recordPacking") == ["xml"] * 3
    assert text_of(root, "recordPosition") == ["2", "3", "4"]
    assert text_of(root, "nextRecordPosition") == ["5"]
    echo = root.find(f"{{{SRW}}}echoedSearchRetrieveRequest")
    assert echo is not None
    assert [etree.QName(e).localname for e in echo] == [
        "version", "query", "startRecord", "maximumRecords", "recordSchema"
    ]
    assert echo.findtext(f"{{{SRW}}}query") == "cql.allRecords=1"
    assert_srw1_structure(root)
    if version == "1.2":
        assert_valid_sru2(as_oasis(root))


async def test_version_1_diagnostics_namespace(sru: SruGet) -> None:
    root = await sru(version="1.2", operation="searchRetrieve", query="dc.nonesuch=x")
    assert root.find(f"{{{SRW}}}diagnostics/{{{SRW_DIAG}}}diagnostic") is not None
    assert_srw1_structure(root)
    assert_valid_sru2(as_oasis(root))


async def test_string_packing_escapes_the_record(records: object, sru: SruGet) -> None:
    v1 = await sru(version="1.2", operation="searchRetrieve", query="rec.id=1",
                   recordPacking="string")
    v2 = await sru(query="rec.id=1", recordXMLEscaping="string")
    for root in (v1, v2):
        data = next(e for e in root.iter() if etree.QName(e).localname == "recordData")
        assert len(data) == 0  # no child elements: the record is text
        assert parse_marcxml(data.text.encode())["001"].data == "000000001"
    assert text_of(v1.find(f"{{{SRW}}}records"), "recordPacking") == ["string"]
    assert text_of(v2, "recordXMLEscaping") == ["string"]
    assert_valid_sru2(v2)


async def test_post_form_is_answered_like_get(
    gateway: Gateway, records: object, http: aiohttp.ClientSession
) -> None:
    params = {"query": "cql.allRecords=1", "maximumRecords": 5}
    posted = await fetch_sru(gateway, http, method="POST", **params)
    got = await fetch_sru(gateway, http, **params)
    assert posted == got
    assert len(text_of(etree.fromstring(posted), "recordPosition")) == 5


# --- paging and counts ---------------------------------------------------------------


async def test_paging_walks_the_whole_set(records: list[pymarc.Record], sru: SruGet) -> None:
    seen: list[str] = []
    start = 1
    while True:
        root = await sru(query="cql.allRecords=1", startRecord=start, maximumRecords=15)
        seen += [r.findtext(f"{{{MARC}}}controlfield[@tag='001']") or ""
                 for r in root.iter(f"{{{MARC}}}record")]
        following = text_of(root, "nextRecordPosition")
        if not following:
            break
        start = int(following[0])
    assert seen == [r["001"].data for r in records]


async def test_default_page_is_ten_records(records: object, sru: SruGet) -> None:
    root = await sru(query="cql.allRecords=1")
    assert len(text_of(root, "recordPosition")) == 10
    assert text_of(root, "nextRecordPosition") == ["11"]


async def test_maximum_records_zero_gives_only_the_count(
    records: list[pymarc.Record], sru: SruGet
) -> None:
    root = await sru(query="cql.allRecords=1", maximumRecords=0)
    assert [etree.QName(c).localname for c in root] == ["numberOfRecords"]
    assert root.findtext(f"{Z}numberOfRecords") == str(len(records))
    assert_valid_sru2(root)


async def test_over_large_page_is_cut_to_the_maximum(gateway: Gateway, sru: SruGet) -> None:
    from gateway.emulator.generator import generate_records

    await gateway.catalog.load(list(generate_records(1050, 3)))  # a few are deleted ones
    root = await sru(query="cql.allRecords=1", maximumRecords=5000)
    assert int(root.findtext(f"{Z}numberOfRecords") or 0) > 1000
    assert len(text_of(root, "recordPosition")) == 1000
    assert text_of(root, "nextRecordPosition") == ["1001"]


async def test_start_beyond_the_set_is_diagnostic_61(
    records: list[pymarc.Record], sru: SruGet
) -> None:
    root = await sru(query="cql.allRecords=1", startRecord=len(records) + 1)
    assert text_of(root, "uri") == ["info:srw/diagnostic/1/61"]
    assert root.findtext(f"{Z}numberOfRecords") == str(len(records))
    last = await sru(query="cql.allRecords=1", startRecord=len(records))
    assert text_of(last, "recordPosition") == [str(len(records))]
    assert not text_of(last, "nextRecordPosition")
    assert_valid_sru2(root)


async def test_no_hits_is_an_empty_answer(records: object, sru: SruGet) -> None:
    root = await sru(query='dc.title="xyzzy plugh"')
    assert [etree.QName(c).localname for c in root] == ["numberOfRecords"]
    assert root.findtext(f"{Z}numberOfRecords") == "0"


# --- searching, sorting, schemas, views ------------------------------------------------


async def test_isbn_and_title_searches_find_the_record(
    records: list[pymarc.Record], sru: SruGet
) -> None:
    record = next(r for r in records if r.get("020") is not None)
    isbn = record["020"]["a"]
    root = await sru(query=f"bath.isbn={isbn}")
    ids = text_of(root, "controlfield")
    assert record["001"].data in ids
    title_word = record["245"]["a"].split()[0].strip(".,:;/")
    root = await sru(query=f'dc.title="^{title_word}*"', maximumRecords=100)
    titles = [t.lower() for t in text_of(root, "subfield")]
    assert any(t.startswith(title_word.lower()) for t in titles)


def ids_in(root: etree._Element) -> list[int]:
    return [
        int(r.findtext(f"{{{MARC}}}controlfield[@tag='001']") or 0)
        for r in root.iter(f"{{{MARC}}}record")
    ]


@pytest.mark.parametrize("key", ["dc.title", "dc.date", "dc.author"])
@pytest.mark.parametrize("descending", [False, True])
async def test_sort_by(
    gateway: Gateway, records: object, sru: SruGet, key: str, descending: bool
) -> None:
    modifier = "/sort.descending" if descending else ""
    root = await sru(query=f"cql.allRecords=1 sortBy {key}{modifier}", maximumRecords=100)
    expected = await gateway.catalog.search(
        AllRecords(), sort=[SortKey(key, ascending=not descending)]
    )
    assert ids_in(root) == expected.ids
    assert ids_in(root) != sorted(ids_in(root))  # the order is the sort's, not the ids'


async def test_sort_by_title_orders_titles(records: object, sru: SruGet) -> None:
    root = await sru(query="cql.allRecords=1 sortBy dc.title", maximumRecords=100)
    titles = [
        (r.findtext(f"{{{MARC}}}datafield[@tag='245']/{{{MARC}}}subfield[@code='a']") or "")
        for r in root.iter(f"{{{MARC}}}record")
    ]
    folded = [t.lower() for t in titles]
    assert folded[0] <= folded[len(folded) // 2] <= folded[-1]


async def test_sort_keys_in_version_1_1(records: object, sru: SruGet) -> None:
    by_query = await sru(query="cql.allRecords=1 sortBy dc.title/sort.descending",
                         maximumRecords=100)
    by_param = await sru(version="1.1", operation="searchRetrieve", query="cql.allRecords=1",
                         sortKeys="dc.title,,0", maximumRecords=100)
    assert text_of(by_param, "controlfield")[:5] == text_of(by_query, "controlfield")[:5]
    assert_srw1_structure(by_param)


async def test_dublin_core(records: list[pymarc.Record], sru: SruGet) -> None:
    root = await sru(query="rec.id=1", recordSchema="dc")
    assert text_of(root, "recordSchema") == ["info:srw/schema/1/dc-v1.1"]
    dc = "http://purl.org/dc/elements/1.1/"
    titles = [e.text for e in root.iter(f"{{{dc}}}title")]
    assert titles and titles[0]
    assert records[0]["245"]["a"].rstrip(" ./").startswith(titles[0].split(" ")[0])
    assert "(FI-MELINDA)000000001" in [e.text for e in root.iter(f"{{{dc}}}identifier")]
    assert_valid_sru2(root)


@pytest.mark.parametrize(
    "name", ["marcxml", "info:srw/schema/1/marcxml-v1.1", "MARC21-xml", "MARCXML"]
)
async def test_marcxml_schema_names(records: object, sru: SruGet, name: str) -> None:
    root = await sru(query="rec.id=1", recordSchema=name)
    assert text_of(root, "recordSchema") == ["info:srw/schema/1/marcxml-v1.1"]


async def test_marcxml_records_are_valid_marc21_slim(
    records: list[pymarc.Record], sru: SruGet
) -> None:
    marc_schema = etree.XMLSchema(etree.parse(str(shared_schema("MARC21slim.xsd"))))
    root = await sru(query="cql.allRecords=1", maximumRecords=len(records))
    found = list(root.iter(f"{{{MARC}}}record"))
    assert len(found) == len(records)
    for record in found:
        assert marc_schema.validate(etree.fromstring(etree.tostring(record))), (
            marc_schema.error_log
        )


async def test_alma_view_carries_the_staleness_field(records: object, sru: SruGet) -> None:
    bib = await sru("/sru/bib", query="rec.id=1")
    alma = await sru("/sru/fin01alma", query="rec.id=1")
    tag = f"{{{MARC}}}datafield[@tag='024']/{{{MARC}}}subfield[@code='a']"
    assert "000000001" not in [e.text for e in bib.iterfind(f".//{tag}")]
    assert "000000001" in [e.text for e in alma.iterfind(f".//{tag}")]


# --- scan and explain -------------------------------------------------------------------


@pytest.mark.parametrize("index", ["dc.title", "dc.author", "bath.isbn", "dc.subject"])
async def test_scan(records: object, sru: SruGet, index: str) -> None:
    root = await sru(scanClause=f'{index}=""', maximumTerms=5)
    assert root.tag == f"{{{SRU2_SCAN}}}scanResponse"
    values = text_of(root, "value")
    assert len(values) == 5
    assert values == sorted(values)
    assert all(int(n) >= 1 for n in text_of(root, "numberOfRecords"))
    assert_valid_sru2(root)


async def test_scan_response_position(records: object, sru: SruGet) -> None:
    first = await sru(scanClause='dc.title=""', maximumTerms=10)
    values = text_of(first, "value")
    around = await sru(scanClause=f'dc.title="{values[5]}"', maximumTerms=4, responsePosition=3)
    assert text_of(around, "value") == values[3:7]


async def test_scan_version_1(records: object, sru: SruGet) -> None:
    root = await sru(version="1.2", operation="scan", scanClause="dc.author=a", maximumTerms=3)
    assert root.tag == f"{{{SRW}}}scanResponse"
    assert len(text_of(root, "value")) == 3
    assert_srw1_structure(root)


async def test_explain_is_generated_from_the_tables(gateway: Gateway, sru: SruGet) -> None:
    root = await sru()
    assert root.tag == f"{Z}explainResponse"
    zeerex = "http://explain.z3950.org/dtd/2.0/"
    names = {
        f"{n.get('set')}.{n.text}" for n in root.iter(f"{{{zeerex}}}name")
    }
    assert set(INDEXES) <= names
    schemas = {s.get("identifier") for s in root.iter(f"{{{zeerex}}}schema")}
    assert schemas == {"info:srw/schema/1/marcxml-v1.1", "info:srw/schema/1/dc-v1.1"}
    assert root.findtext(f".//{{{zeerex}}}port") == str(gateway.ports["http"])
    assert root.findtext(f".//{{{zeerex}}}database") == "sru/bib"
    assert_valid_sru2(root)


async def test_explain_version_1(sru: SruGet) -> None:
    root = await sru(version="1.2", operation="explain")
    assert root.tag == f"{{{SRW}}}explainResponse"
    assert_srw1_structure(root)
    assert_valid_sru2(as_oasis(root))


# --- diagnostics: every one the issue names, HTTP 200, valid responses -----------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"operation": "update", "query": "a"}, 4),
        ({"version": "3.0", "query": "a"}, 5),
        ({"query": "a", "startRecord": "0"}, 6),
        ({"query": "a", "maximumRecords": "-1"}, 6),
        ({"query": "a", "maximumRecords": "many"}, 6),
        ({"operation": "searchRetrieve"}, 7),
        ({"operation": "scan"}, 7),
        ({"query": "a", "frobnicate": "1"}, 8),
        ({"query": "dc.title = (x"}, 10),
        ({"query": "(a or b"}, 13),
        ({"query": "foo.title=x"}, 15),
        ({"query": "dc.nonesuch=x"}, 16),
        ({"scanClause": "dc.publisher=x"}, 16),
        ({"query": "dc.title<>x"}, 19),
        ({"query": "dc.title =/respectCase x"}, 20),
        ({"query": "dc.title=fo?o"}, 28),
        ({"query": "dc.title=*"}, 29),
        ({"query": "dc.title=kirja**"}, 30),
        ({"query": "dc.title=kir^ja"}, 32),
        ({"query": "a prox b"}, 39),
        ({"query": "a", "recordSchema": "mods"}, 66),
        ({"query": "a", "recordXMLEscaping": "json"}, 71),
        ({"query": "a", "version": "1.2", "recordPacking": "json"}, 71),
        ({"query": "a sortBy dc.publisher"}, 80),
        ({"query": "a", "stylesheet": "http://x/s.xsl"}, 110),
        ({"scanClause": "dc.title=a", "maximumTerms": "5", "responsePosition": "9"}, 120),
        ({"scanClause": "dc.title=a", "maximumTerms": "100000"}, 121),
    ],
)
async def test_diagnostics(sru: SruGet, params: dict[str, str], code: int) -> None:
    root = await sru(**params)
    assert text_of(root, "uri") == [f"info:srw/diagnostic/1/{code}"]
    if params.get("version") == "1.2":
        assert root.find(f".//{{{SRW_DIAG}}}message") is not None
        assert_srw1_structure(root)
    else:
        assert root.find(f".//{{{SRU2_DIAG}}}message") is not None
        assert_valid_sru2(root)


async def test_unknown_database_is_diagnostic_235(sru: SruGet) -> None:
    for version in ("2.0", "1.2"):
        root = await sru("/sru/fin11", version=version, query="a")
        assert text_of(root, "uri") == ["info:srw/diagnostic/1/235"]
        assert text_of(root, "details") == ["fin11"]


async def test_sortby_is_a_syntax_error_in_version_1_1(sru: SruGet) -> None:
    root = await sru(version="1.1", operation="searchRetrieve", query="a sortby dc.title")
    assert text_of(root, "uri") == ["info:srw/diagnostic/1/10"]
    assert_srw1_structure(root)


async def test_non_utf8_and_garbage_get_diagnostics(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    for raw in ("query=%FF%FE", "query=%22", "query=" + "(" * 2000, "version=&operation="):
        async with http.get(f"{gateway.http_url}/sru/bib?{raw}") as response:
            assert response.status == 200
            root = etree.fromstring(await response.read())
            assert root.tag.endswith("Response")


async def test_result_set_is_capped(
    records: list[pymarc.Record], sru: SruGet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import protocols.sru

    cap = len(records) - 10  # Aleph's 20,000, scaled down to the test's store
    monkeypatch.setattr(protocols.sru, "RESULT_SET_CAP", cap)
    root = await sru(query="cql.allRecords=1", startRecord=cap - 4, maximumRecords=10)
    assert root.findtext(f"{Z}numberOfRecords") == str(cap)
    assert text_of(root, "recordPosition") == [str(p) for p in range(cap - 4, cap + 1)]
    assert not text_of(root, "nextRecordPosition")
    beyond = await sru(query="cql.allRecords=1", startRecord=cap + 1)
    assert text_of(beyond, "uri") == ["info:srw/diagnostic/1/61"]
