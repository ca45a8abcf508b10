"""SRW (SRU over SOAP 1.1) over the wire: raw envelopes, yaz-client's default mode and zoomsh."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Mapping
from xml.sax.saxutils import escape

import aiohttp
import pymarc
import pytest
from lxml import etree

from gateway.emulator.host import Gateway
from gateway.query import Term
from tests.conftest import require_tool
from tests.protocols.sru.conftest import fetch_sru
from tests.protocols.sru.structure import SRW, SRW_DIAG, assert_well_formed_response, text_of
from tests.protocols.sru.test_sru_clients import isbn_record, run_client

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def envelope(request: str, *, soap_ns: str = SOAP) -> bytes:
    """A SOAP envelope as YAZ writes it, around a request given as SRW-prefixed XML text."""
    return (
        '<?xml version="1.0"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{soap_ns}"><SOAP-ENV:Body>'
        f"{request}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def srw_request(operation: str, **elements: str | int) -> bytes:
    children = "".join(f"<zs:{n}>{escape(str(v))}</zs:{n}>" for n, v in elements.items())
    return envelope(f'<zs:{operation}Request xmlns:zs="{SRW}">{children}</zs:{operation}Request>')


async def post_soap(
    gateway: Gateway, http: aiohttp.ClientSession, body: bytes, path: str = "/sru/bib"
) -> tuple[int, bytes]:
    headers = {"Content-Type": "text/xml", "SOAPAction": '""'}
    async with http.post(gateway.http_url + path, data=body, headers=headers) as response:
        assert response.content_type == "text/xml"
        assert response.charset == "utf-8"
        return response.status, await response.read()


def srw_payload(body: bytes) -> etree._Element:
    """The one SRW response in a SOAP 1.1 Body, checked for SRW 1.x structure."""
    root = etree.fromstring(body)
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert [child.tag for child in root] == [f"{{{SOAP}}}Body"]
    (payload,) = list(root[0])
    assert etree.QName(payload).namespace == SRW
    assert_well_formed_response(payload)
    return payload


async def srw(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    operation: str,
    elements: Mapping[str, str | int],
    path: str = "/sru/bib",
) -> etree._Element:
    status, body = await post_soap(gateway, http, srw_request(operation, **elements), path)
    assert status == 200
    return srw_payload(body)


def fault_of(body: bytes) -> tuple[str, str]:
    root = etree.fromstring(body)
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def diagnostics(payload: etree._Element) -> list[tuple[str, str]]:
    return [
        (d.findtext(f"{{{SRW_DIAG}}}uri") or "", d.findtext(f"{{{SRW_DIAG}}}details") or "")
        for d in payload.iter(f"{{{SRW_DIAG}}}diagnostic")
    ]


def canonical(element: etree._Element) -> bytes:
    """Canonical XML of an element on its own (no declarations it merely inherits)."""
    alone = copy.deepcopy(element)
    etree.cleanup_namespaces(alone)
    return bytes(etree.tostring(alone, method="c14n"))


def without_echo(xml: bytes) -> bytes:
    """A 1.x response minus its echoed request, which SRW does not define."""
    root = etree.fromstring(xml)
    for echo in root.findall(f"{{{SRW}}}echoedSearchRetrieveRequest"):
        root.remove(echo)
    for echo in root.findall(f"{{{SRW}}}echoedScanRequest"):
        root.remove(echo)
    return canonical(root)


# --- raw envelopes over aiohttp ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_search_retrieve_finds_the_record(
    gateway: Gateway, http: aiohttp.ClientSession, records: list[pymarc.Record], version: str
) -> None:
    record = isbn_record(records)
    payload = await srw(
        gateway,
        http,
        "searchRetrieve",
        {"version": version, "query": f"bath.isbn={record['020']['a']}", "maximumRecords": 5},
    )
    assert payload.tag == f"{{{SRW}}}searchRetrieveResponse"
    assert payload.findtext(f"{{{SRW}}}version") == version
    assert payload.findtext(f"{{{SRW}}}numberOfRecords") == "1"
    assert text_of(payload, "recordPosition") == ["1"]
    controlfields = payload.iter("{http://www.loc.gov/MARC21/slim}controlfield")
    assert record["001"].data in [c.text for c in controlfields if c.get("tag") == "001"]
    # SRW defines no echoed request
    assert payload.find(f"{{{SRW}}}echoedSearchRetrieveRequest") is None


@pytest.mark.parametrize(
    ("path", "elements"),
    [
        (
            "/sru/bib",
            {
                "version": "1.2",
                "query": "dc.title=a*",
                "startRecord": 3,
                "maximumRecords": 4,
                "recordPacking": "string",
            },
        ),
        (
            "/sru/bib",
            {
                "version": "1.2",
                "query": "dc.title=a* sortBy dc.title/descending",
                "maximumRecords": 3,
                "recordSchema": "dc",
            },
        ),
        (
            "/sru/fin01alma",
            {
                "version": "1.1",
                "query": "dc.title=a*",
                "maximumRecords": 2,
                "sortKeys": "dc.title,,0",
            },
        ),
        ("/sru/bib", {"version": "1.2", "query": "dc.nonesuch=x"}),
        ("/sru/bib", {"version": "1.2", "query": "dc.title=a*", "startRecord": 9999}),
    ],
)
async def test_search_retrieve_answers_as_get_does(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    records: object,
    path: str,
    elements: dict[str, str | int],
) -> None:
    """The same operation code: the SOAP payload is the GET response without its echo."""
    payload = await srw(gateway, http, "searchRetrieve", elements, path)
    params = {name: str(value) for name, value in elements.items()}
    get = await fetch_sru(gateway, http, path, operation="searchRetrieve", **params)
    assert canonical(payload) == without_echo(get)


async def test_scan_answers_as_get_does(
    gateway: Gateway, http: aiohttp.ClientSession, records: object
) -> None:
    elements: dict[str, str | int] = {
        "version": "1.2",
        "scanClause": "dc.title=h",
        "responsePosition": 1,
        "maximumTerms": 5,
    }
    payload = await srw(gateway, http, "scan", elements)
    assert payload.tag == f"{{{SRW}}}scanResponse"
    values = text_of(payload, "value")
    assert len(values) == 5
    assert values == sorted(values)
    assert values[0] >= "h"
    get = await fetch_sru(
        gateway, http, operation="scan", **{n: str(v) for n, v in elements.items()}
    )
    assert canonical(payload) == without_echo(get)


async def test_explain(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    payload = await srw(gateway, http, "explain", {"version": "1.1"}, "/sru/fin01alma")
    assert payload.tag == f"{{{SRW}}}explainResponse"
    assert payload.findtext(f"{{{SRW}}}version") == "1.1"
    zeerex = "{http://explain.z3950.org/dtd/2.0/}"
    server = payload.find(f".//{zeerex}serverInfo")
    assert server is not None
    assert "SOAP" in (server.get("method") or "").split()
    assert server.findtext(f"{zeerex}database") == "sru/fin01alma"


async def test_request_without_version_is_answered_in_1_2(
    gateway: Gateway, http: aiohttp.ClientSession, records: object
) -> None:
    payload = await srw(
        gateway, http, "searchRetrieve", {"query": "dc.title=a*", "maximumRecords": 0}
    )
    assert payload.findtext(f"{{{SRW}}}version") == "1.2"
    assert int(payload.findtext(f"{{{SRW}}}numberOfRecords") or "0") > 0


async def test_extra_request_data_is_ignored(
    gateway: Gateway, http: aiohttp.ClientSession, records: list[pymarc.Record]
) -> None:
    record = isbn_record(records)
    body = envelope(
        f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"><zs:version>1.2</zs:version>'
        f"<zs:query>bath.isbn={record['020']['a']}</zs:query>"
        '<zs:extraRequestData><x:hint xmlns:x="urn:example">fast</x:hint></zs:extraRequestData>'
        "</zs:searchRetrieveRequest>"
    )
    status, answer = await post_soap(gateway, http, body)
    assert status == 200
    payload = srw_payload(answer)
    assert payload.findtext(f"{{{SRW}}}numberOfRecords") == "1"
    assert diagnostics(payload) == []


async def test_large_envelope_is_read(
    gateway: Gateway, http: aiohttp.ClientSession, records: list[pymarc.Record]
) -> None:
    """A body past the inline-parse size (padded extension data) is answered all the same."""
    record = isbn_record(records)
    padding = "<x:pad xmlns:x='urn:example'>" + "p" * 200_000 + "</x:pad>"
    body = envelope(
        f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"><zs:version>1.1</zs:version>'
        f"<zs:extraRequestData>{padding}</zs:extraRequestData>"
        f"<zs:query>bath.isbn={record['020']['a']}</zs:query></zs:searchRetrieveRequest>"
    )
    status, answer = await post_soap(gateway, http, body)
    assert status == 200
    assert srw_payload(answer).findtext(f"{{{SRW}}}numberOfRecords") == "1"


@pytest.mark.parametrize(
    ("operation", "elements", "expected"),
    [
        (
            "searchRetrieve",
            {"version": "1.2", "query": "dc.nonesuch=x"},
            ("info:srw/diagnostic/1/16", "dc.nonesuch"),
        ),
        (
            "searchRetrieve",
            {"version": "1.2", "query": "dc.title=a", "colour": "blue"},
            ("info:srw/diagnostic/1/8", "colour"),
        ),
        (
            "searchRetrieve",
            {"version": "1.2", "query": "dc.title=a", "stylesheet": "/s.xsl"},
            ("info:srw/diagnostic/1/110", "/s.xsl"),
        ),
        (
            "searchRetrieve",
            {"version": "2.0", "query": "dc.title=a"},
            ("info:srw/diagnostic/1/5", "1.2"),
        ),
        (
            "searchRetrieve",
            {"version": "1.2", "pQuery": "@attr 1=4 kirja"},
            ("info:srw/diagnostic/1/11", "pqf"),
        ),
        (
            "searchRetrieve",
            {"version": "1.1", "query": "dc.title=a", "recordSchema": "mods"},
            ("info:srw/diagnostic/1/66", "mods"),
        ),
        ("searchRetrieve", {"version": "1.2"}, ("info:srw/diagnostic/1/7", "query")),
        (
            "scan",
            {"version": "1.2", "scanClause": "dc.title=a", "maximumTerms": 5000},
            ("info:srw/diagnostic/1/121", "1000"),
        ),
        (
            "scan",
            {"version": "1.1", "pScanClause": "@attr 1=4 a"},
            ("info:srw/diagnostic/1/11", "pqf"),
        ),
    ],
)
async def test_diagnostics_in_a_normal_response(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    records: object,
    operation: str,
    elements: dict[str, str | int],
    expected: tuple[str, str],
) -> None:
    payload = await srw(gateway, http, operation, elements)
    assert payload.tag == f"{{{SRW}}}{operation}Response"
    assert payload.findtext(f"{{{SRW}}}version") in ("1.1", "1.2")
    assert diagnostics(payload) == [expected]


async def test_unknown_database_is_diagnostic_235(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    payload = await srw(
        gateway, http, "searchRetrieve", {"version": "1.2", "query": "dc.title=a"}, "/sru/fin10"
    )
    assert diagnostics(payload) == [("info:srw/diagnostic/1/235", "fin10")]


@pytest.mark.parametrize(
    ("body", "faultcode", "says"),
    [
        (b"<SOAP-ENV:Envelope", "SOAP-ENV:Client", "Bad XML"),
        (b"", "SOAP-ENV:Client", "Empty"),
        (f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"/>'.encode(), "SOAP-ENV:Client", "Envelope"),
        (f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"/>'.encode(), "SOAP-ENV:Client", "Body"),
        (envelope(""), "SOAP-ENV:Client", "no request"),
        (envelope(f'<zs:updateRequest xmlns:zs="{SRW}"/>'), "SOAP-ENV:Client", "updateRequest"),
        (
            envelope('<zs:searchRetrieveRequest xmlns:zs="urn:other"/>'),
            "SOAP-ENV:Client",
            "urn:other",
        ),
        (
            envelope(f'<zs:explainRequest xmlns:zs="{SRW}"/>', soap_ns=SOAP12),
            "SOAP-ENV:VersionMismatch",
            SOAP12,
        ),
    ],
)
async def test_what_cannot_be_answered_is_a_soap_fault(
    gateway: Gateway, http: aiohttp.ClientSession, body: bytes, faultcode: str, says: str
) -> None:
    status, answer = await post_soap(gateway, http, body)
    assert status == 500  # SOAP 1.1 over HTTP: a fault is status 500
    code, text = fault_of(answer)
    assert code == faultcode
    assert says in text


async def test_entities_are_not_expanded(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body>'
        f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"><zs:query>&b;</zs:query>'
        "</zs:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    status, answer = await post_soap(gateway, http, body)
    assert status == 500
    assert fault_of(answer) == ("SOAP-ENV:Client", "A SOAP message must not contain a DTD")
    assert b"aaaaaaaaaa" not in answer


async def test_form_post_is_still_sru(
    gateway: Gateway, http: aiohttp.ClientSession, records: object
) -> None:
    body = await fetch_sru(gateway, http, method="POST", version="1.2", query="dc.title=a*")
    root = etree.fromstring(body)
    assert root.tag == f"{{{SRW}}}searchRetrieveResponse"  # not wrapped in SOAP
    assert root.find(f"{{{SRW}}}echoedSearchRetrieveRequest") is not None


async def test_injected_fault_is_diagnostic_1_in_soap(
    gateway: Gateway, http: aiohttp.ClientSession, records: object
) -> None:
    gateway.faults.add({"interface": "sru", "kind": "error", "count": 2, "message": "boom"})
    payload = await srw(gateway, http, "scan", {"version": "1.1", "scanClause": "dc.title=a"})
    assert payload.tag == f"{{{SRW}}}scanResponse"
    assert diagnostics(payload) == [("info:srw/diagnostic/1/1", "boom")]
    status, answer = await post_soap(gateway, http, b"not xml")
    assert status == 500
    assert fault_of(answer) == ("SOAP-ENV:Server", "boom")


async def test_srw_operation_reaches_the_journal_and_fault_matching(
    gateway: Gateway, http: aiohttp.ClientSession, records: object
) -> None:
    gateway.faults.add(
        {
            "interface": "sru",
            "operation": "searchRetrieve",
            "kind": "error",
            "count": 1,
            "message": "only search",
        }
    )
    scan = await srw(gateway, http, "scan", {"version": "1.1", "scanClause": "dc.title=a"})
    assert diagnostics(scan) == []  # the rule names searchRetrieve: a scan passes
    search = await srw(gateway, http, "searchRetrieve", {"version": "1.1", "query": "dc.title=a"})
    assert diagnostics(search) == [("info:srw/diagnostic/1/1", "only search")]
    operations = [entry.operation for entry in gateway.journal.entries(interface="sru")]
    assert operations[-2:] == ["scan", "searchRetrieve"]


# --- YAZ's clients ------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["yaz-client", "zoomsh"])
async def test_yaz_default_mode_is_srw(client: str) -> None:
    """YAZ's clients left to their defaults speak SRW 1.2 (an XML POST), not SRU GET:
    yaz-client's plain `open http://...`, and ZOOM (zoomsh, Koha) without an `sru` option."""
    tool = require_tool(client)
    seen: list[bytes] = []

    async def capture(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            seen.append(head + body)
        except asyncio.IncompleteReadError:
            pass  # the client reconnects after the hang-up and then gives up
        finally:
            writer.close()

    server = await asyncio.start_server(capture, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/sru/bib"
    async with server:
        if client == "zoomsh":
            await run_client(tool, f"connect {url}", "search cql:dc.title=x", "quit")
        else:
            await run_client(tool, stdin=f"open {url}\nfind dc.title=x\nquit\n")
    assert seen, f"{client} sent nothing"
    request = seen[0]
    assert request.startswith(b"POST /sru/bib HTTP/1.1\r\n")
    assert re.search(rb"(?i)\r\ncontent-type: text/xml\r\n", request)
    assert re.search(rb'(?i)\r\nsoapaction: ""\r\n', request)
    body = request.split(b"\r\n\r\n", 1)[1]
    root = etree.fromstring(body)
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert root[0][0].tag == f"{{{SRW}}}searchRetrieveRequest"
    assert root[0][0].findtext(f"{{{SRW}}}version") == "1.2"
    assert root[0][0].findtext(f"{{{SRW}}}query") == "dc.title=x"


def title_word(record: pymarc.Record) -> str:
    word = next(w for w in record["245"]["a"].split() if len(w.strip(".,:;/")) > 3)
    return word.strip(".,:;/")


@pytest.mark.parametrize("mode", ["", "sru soap 1.1", "sru soap 1.2"])
async def test_yaz_client_find_show_scan(
    gateway: Gateway, records: list[pymarc.Record], mode: str
) -> None:
    yaz_client = require_tool("yaz-client")
    record = isbn_record(records)
    word = title_word(record)
    hits = len((await gateway.catalog.search(Term("dc.title", word))).ids)
    assert hits > 0
    commands = [
        *([mode] if mode else []),  # "": yaz-client's default HTTP mode, SRW
        f"open {gateway.http_url}/sru/bib",
        f"find bath.isbn={record['020']['a']}",
        "show 1",
        f"find dc.title={word}",
        "find dc.nonesuch=x",
        "scan dc.title=a",
        "quit",
        "",
    ]
    out = await run_client(yaz_client, stdin="\n".join(commands))

    assert re.findall(r"Number of hits: (\d+)", out) == ["1", "1", str(hits), "0"]
    assert f'<controlfield tag="001">{record["001"].data}</controlfield>' in out
    assert "SRW diagnostic info:srw/diagnostic/1/16" in out
    assert "Details: dc.nonesuch" in out
    assert "Received SRW Scan Response" in out
    scan_out = out.split("Received SRW Scan Response", 1)[1]
    terms = re.findall(r"^(?:Z> )?(.+): (\d+)$", scan_out, flags=re.MULTILINE)
    assert len(terms) == 20  # yaz-client asks for 20 terms


@pytest.mark.parametrize(
    "settings", [(), ("set sru soap", "set sru_version 1.1"), ("set sru soap",)]
)
async def test_zoomsh_over_soap(
    gateway: Gateway, records: list[pymarc.Record], settings: tuple[str, ...]
) -> None:
    """ZOOM's default (no settings: SRW 1.2) and SOAP asked for explicitly."""
    zoomsh = require_tool("zoomsh")
    record = isbn_record(records)
    url = f"{gateway.http_url}/sru/fin01alma"
    out = await run_client(
        zoomsh,
        *settings,
        f"connect {url}",
        f"search cql:bath.isbn={record['020']['a']}",
        "show 0 1",
        "scan cql:dc.title=a",
        "search dc.title=kirja",  # ZOOM sends a query without `cql:` as PQF (pQuery)
        "quit",
    )
    assert f"{url}: 1 hits" in out
    assert str(record["001"].data) in out
    assert len(re.findall(r"^\S.* \d+$", out.split("hits", 1)[1], flags=re.MULTILINE)) >= 10
    assert "Unsupported query type (info:srw/diagnostic/1:11) pqf" in out
