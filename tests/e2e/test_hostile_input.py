"""Hostile input over HTTP: DOCTYPEs refused, bodies capped, bad tokens, control characters, deep queries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from lxml import etree

from gateway.emulator.app import MAX_HTTP_BODY_BYTES
from gateway.emulator.host import Gateway
from gateway.query import MAX_QUERY_DEPTH
from tests.protocols.xserver.helpers import XClient, book

PASSWORD = "helka-salasana"
AUTH = {"user": "HELKA", "password": PASSWORD}
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SRW = "http://www.loc.gov/zing/srw/"
MARC = "http://www.loc.gov/MARC21/slim"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DIAG = "{http://docs.oasis-open.org/ns/search-ws/diagnostic}"
SECRET_ENTITY = '<!DOCTYPE find-doc [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
EXTERNAL_DTD = '<!DOCTYPE find-doc SYSTEM "http://127.0.0.1:9/melinda.dtd">'


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[XClient]:
    await gateway.catalog.add_library("HELKA", password=PASSWORD, lows=["HELKA"])
    async with aiohttp.ClientSession() as http:
        yield XClient(http, gateway.http_url)


async def http_get(gateway: Gateway, path: str, query: str) -> tuple[int, bytes]:
    """A GET with the query string sent as given (percent escapes and all)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.http_url}{path}?{query}", allow_redirects=False) as response,
    ):
        return response.status, await response.read()


def well_formed(body: bytes) -> etree._Element:
    return etree.fromstring(body)  # raises XMLSyntaxError on an ill-formed answer


# --- 1. a DOCTYPE is refused by every XML input, in the protocol's own terms ---------------


@pytest.mark.parametrize("doctype", [SECRET_ENTITY, EXTERNAL_DTD])
async def test_update_doc_with_a_doctype_is_an_aleph_error_and_saves_nothing(
    gateway: Gateway, client: XClient, doctype: str
) -> None:
    record = book("Seitsemän &xxe; veljestä", isbn="9789510000500").to_xml()
    record = record.replace("&amp;xxe;", "&xxe;" if "ENTITY" in doctype else "")
    xml_full_req = f'<?xml version="1.0"?>\n{doctype}\n<find-doc><record><metadata>{record}</metadata></record></find-doc>'
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name="HELKA", user_password=PASSWORD, xml_full_req=xml_full_req,
    )  # fmt: skip
    assert reply.name == "update-doc"
    (error,) = reply.errors
    assert error.startswith("[0070] xml_full_req is not a valid record:"), error
    assert "DOCTYPE" in error
    assert await gateway.catalog.record_counts() == (0, 0)


async def srw_post(gateway: Gateway, envelope: bytes) -> tuple[int, bytes]:
    """An SRW (SOAP) searchRetrieve posted to the bib base: the HTTP status and the body."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.http_url + "/sru/bib", data=envelope, headers={"Content-Type": "text/xml"}
        ) as response,
    ):
        return response.status, await response.read()


async def test_srw_envelope_with_a_doctype_is_a_soap_fault(gateway: Gateway) -> None:
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE e SYSTEM "http://127.0.0.1:9/e.dtd">'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body>'
        f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"><zs:query>kissa</zs:query>'
        "</zs:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    status, answer = await srw_post(gateway, body)
    assert status == 500  # SOAP 1.1: a fault over HTTP
    fault = well_formed(answer).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None and fault.findtext("faultcode") == "SOAP-ENV:Client"
    assert "DTD" in (fault.findtext("faultstring") or "")


async def admin_seed(gateway: Gateway, body: bytes) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.http_url + "/_admin/seed",
            data=body,
            headers={"Content-Type": "application/marcxml+xml"},
        ) as response,
    ):
        return response.status, await response.json()


def marcxml_record(title: str) -> str:
    return (
        f"<record><leader>00000nam a2200000 i 4500</leader>"
        f'<controlfield tag="001">000000777</controlfield>'
        f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">{title}</subfield></datafield>'
        "</record>"
    )


async def test_admin_seed_with_a_doctype_is_a_400_and_loads_nothing(gateway: Gateway) -> None:
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE collection [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        f'<collection xmlns="{MARC}">{marcxml_record("Alku &xxe; loppu")}</collection>'
    ).encode()
    status, answer = await admin_seed(gateway, body)
    assert status == 400, answer
    assert answer["loaded"] == 0
    assert "DOCTYPE" in answer["rejected"][0]["reason"]
    assert await gateway.catalog.record_counts() == (0, 0)


# --- 2. (sizes) junk and oversized bodies get a clear error -------------------------------


async def test_admin_seed_of_junk_without_records_is_an_error_not_loaded_0(
    gateway: Gateway,
) -> None:
    status, answer = await admin_seed(
        gateway, f'<collection xmlns="{MARC}">'.encode() + b"<x/>" * 50_000 + b"</collection>"
    )
    assert status == 400, answer
    assert "no records" in answer["error"]


async def test_an_srw_body_past_the_cap_is_a_soap_fault(gateway: Gateway) -> None:
    padding = "p" * (MAX_HTTP_BODY_BYTES + 10)
    body = (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body>'
        f'<zs:searchRetrieveRequest xmlns:zs="{SRW}"><zs:query>{padding}</zs:query>'
        "</zs:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    status, answer = await srw_post(gateway, body)
    assert status == 500
    fault = well_formed(answer).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    assert f"Maximum request body size {MAX_HTTP_BODY_BYTES} exceeded" in (
        fault.findtext("faultstring") or ""
    )


async def test_sru_and_oai_form_bodies_past_the_cap_are_diagnostics(gateway: Gateway) -> None:
    form = {"operation": "searchRetrieve", "query": "x" * (MAX_HTTP_BODY_BYTES + 10)}
    async with aiohttp.ClientSession() as http:
        async with http.post(gateway.http_url + "/sru/bib", data=form) as response:
            sru = well_formed(await response.read())
        async with http.post(
            gateway.http_url + "/oai-pmh/bib", data={"verb": "Identify", "x": form["query"]}
        ) as response:
            oai = well_formed(await response.read())
    assert sru.findtext(f".//{DIAG}uri") == "info:srw/diagnostic/1/6"
    assert "too large" in (sru.findtext(f".//{DIAG}details") or "")
    error = oai.find(f"{OAI}error")
    assert error is not None and error.get("code") == "badArgument"


# --- 3. a resumptionToken with a dot and non-ASCII ----------------------------------------


@pytest.mark.parametrize("token", ["äö.😀", "a.ö", ".\u00e9", "x" * 10 + ".\u2603"])
async def test_odd_resumption_token_is_bad_resumption_token(gateway: Gateway, token: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            gateway.http_url + "/oai-pmh/bib",
            params={"verb": "ListRecords", "resumptionToken": token},
        ) as response,
    ):
        status, body = response.status, await response.read()
    assert status == 200
    error = well_formed(body).find(f"{OAI}error")
    assert error is not None and error.get("code") == "badResumptionToken"


# --- 4. control characters in a request never make an answer ill-formed --------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/sru/bib", "operation=searchRetrieve&version=2.0&query=a%01b"),
        ("/sru/bib", "operation=searchRetrieve&version=1.1&query=dc.title%3D%22x%0Bz%22"),
        ("/sru/bib", "operation=searchRetrieve&version=2.0&query=kissa&junk%01=1"),
        ("/sru/bib", "operation=scan&version=1.1&scanClause=dc.title%3Da%1Fb"),
        ("/sru/bib", "operation=explain&version=2.0&x-%00=%02"),
        ("/sru/bib", "operation=searchRetrieve%01&version=2.0&query=a"),
        ("/oai-pmh/bib", "verb=GetRecord%00"),
        ("/oai-pmh/bib", "verb=ListRecords&metadataPrefix=marc%0121"),
        ("/oai-pmh/bib", "verb=Identify&junk%01=x"),
        ("/oai-pmh/bib", "verb=ListRecords&resumptionToken=%01.%02"),
        ("/oai-pmh/bib", "verb=GetRecord&metadataPrefix=marc21&identifier=oai%3Ax%0C"),
        ("/X", "op=find&base=fin01&request=WTI%3Dkissa%01"),
        ("/X", "op=find%01&base=fin01"),
        ("/X", "op=present&set_number=%02&set_entry=1"),
    ],
)
async def test_control_characters_in_a_request_get_a_well_formed_answer(
    gateway: Gateway, path: str, query: str
) -> None:
    status, body = await http_get(gateway, path, query)
    assert status == 200, body
    root = well_formed(body)
    text = etree.tostring(root, encoding="unicode")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)


# --- 5. deep queries are refused as too complex, long flat ones are answered --------------


async def sru_diagnostics(gateway: Gateway, query: str) -> tuple[str, list[tuple[str, str]]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(  # a form: a long query does not fit in a URL
            gateway.http_url + "/sru/bib",
            data={"operation": "searchRetrieve", "version": "2.0", "query": query},
        ) as response,
    ):
        root = well_formed(await response.read())
    count = root.findtext("{http://docs.oasis-open.org/ns/search-ws/sruResponse}numberOfRecords")
    found = [
        (d.findtext(f"{DIAG}uri") or "", d.findtext(f"{DIAG}details") or "")
        for d in root.iter(f"{DIAG}diagnostic")
    ]
    return count or "", found


async def test_cql_with_100_terms_is_answered(gateway: Gateway, client: XClient) -> None:
    assert (await client.update("000000000", book("Kissa", isbn="9789510000601"), **AUTH)).errors
    ands = " and ".join(["dc.title=kissa"] * 100)
    ors = " or ".join([f"dc.title=koira{n}" for n in range(99)] + ["dc.title=kissa"])
    nots = "dc.title=kissa" + "".join(f" not dc.title=koira{n}" for n in range(99))
    nested = "dc.title=kissa and (" + " or ".join(f"dc.title=x{n}" for n in range(99)) + ")"
    for query, hits in ((ands, "1"), (ors, "1"), (nots, "1"), (nested, "0")):
        count, found = await sru_diagnostics(gateway, query)
        assert found == [] and count == hits, (query[:40], found)


@pytest.mark.parametrize(
    "query",
    [
        "(" * 200 + "kissa" + ")" * 200,
        " not ".join(["kissa"] * 2000),
        # alternating operators nest in SQL: one level each
        "".join(f"a{n} and (b{n} or (" for n in range(MAX_QUERY_DEPTH))
        + "c"
        + "))" * MAX_QUERY_DEPTH,
    ],
)
async def test_cql_too_deep_or_long_is_a_query_too_complex_diagnostic(
    gateway: Gateway, query: str
) -> None:
    _count, found = await sru_diagnostics(gateway, query)
    assert len(found) == 1
    uri, details = found[0]
    assert uri == "info:srw/diagnostic/1/48", found
    assert details.startswith("query too complex"), details


async def test_xserver_find_with_80_ands_and_too_deep_parentheses(
    gateway: Gateway, client: XClient
) -> None:
    assert (await client.update("000000000", book("K kissa", isbn="9789510000602"), **AUTH)).errors
    long = "WTI=" + " AND ".join(["K"] * 80)  # Aleph takes at most 500 characters
    reply = await client.get(op="find", base="fin01", request=long)
    assert reply.name == "find" and reply.errors == [], reply.errors
    assert reply.text("no_records").lstrip("0") == "1"
    deep = "(" * 100 + "WTI=kissa" + ")" * 100
    reply = await client.get(op="find", base="fin01", request=deep)
    (error,) = reply.errors
    assert "query too complex" in error
