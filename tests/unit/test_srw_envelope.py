"""The SRW (SOAP) envelope reader and writer of the SRU interface, without a server."""

from __future__ import annotations

import pytest
from lxml import etree

from protocols.sru.soap import (
    SOAP_NS,
    SRW_NS,
    SoapFault,
    SrwRequest,
    fault_body,
    read_envelope,
    refusal,
    wrap,
)


def envelope(inner: str, header: str = "") -> bytes:
    return (
        f'<S:Envelope xmlns:S="{SOAP_NS}" xmlns:zs="{SRW_NS}">{header}<S:Body>{inner}</S:Body>'
        "</S:Envelope>"
    ).encode()


def test_elements_become_sru_parameters() -> None:
    srw = read_envelope(envelope(
        "<zs:searchRetrieveRequest><zs:version>1.1</zs:version>"
        "<zs:query>dc.title = &quot;a b&quot;</zs:query><zs:startRecord>3</zs:startRecord>"
        "<zs:maximumRecords>7</zs:maximumRecords><zs:recordPacking>string</zs:recordPacking>"
        "<zs:recordSchema>marcxml</zs:recordSchema><zs:sortKeys>dc.title,,1</zs:sortKeys>"
        "<zs:extraRequestData><x xmlns='urn:x'>1</x></zs:extraRequestData>"
        "</zs:searchRetrieveRequest>"
    ))
    assert srw == SrwRequest(
        "searchRetrieve",
        {
            "operation": "searchRetrieve", "query": 'dc.title = "a b"', "startRecord": "3",
            "maximumRecords": "7", "recordPacking": "string", "recordSchema": "marcxml",
            "sortKeys": "dc.title,,1", "version": "1.1",
        },
    )


def test_scan_and_explain_requests() -> None:
    scan = read_envelope(envelope(
        "<zs:scanRequest><zs:version>1.2</zs:version><zs:scanClause>dc.title=a</zs:scanClause>"
        "<zs:responsePosition>2</zs:responsePosition><zs:maximumTerms>9</zs:maximumTerms>"
        "</zs:scanRequest>"
    ))
    assert scan.operation == "scan"
    assert scan.params == {"operation": "scan", "scanClause": "dc.title=a",
                           "responsePosition": "2", "maximumTerms": "9", "version": "1.2"}
    explain = read_envelope(envelope("<zs:explainRequest/>"))
    assert explain.params == {"operation": "explain", "version": "1.2"}  # version defaulted


def test_first_value_wins_and_foreign_elements_keep_their_namespace() -> None:
    srw = read_envelope(envelope(
        "<zs:searchRetrieveRequest><zs:query>a</zs:query><zs:query>b</zs:query>"
        "<q:query xmlns:q='urn:q'>c</q:query></zs:searchRetrieveRequest>"
    ))
    assert srw.params["query"] == "a"
    assert srw.params["{urn:q}query"] == "c"


def test_pqf_is_refused_as_another_query_type() -> None:
    srw = read_envelope(envelope(
        "<zs:scanRequest><zs:version>1.1</zs:version><zs:pScanClause>@attr 1=4 a"
        "</zs:pScanClause></zs:scanRequest>"
    ))
    assert srw.query_type == "pqf"
    refused = refusal(srw)
    assert refused is not None
    env, diagnostic = refused
    assert (env.version, env.operation, diagnostic.code, diagnostic.details) == (
        "1.1", "scan", 11, "pqf")


def test_version_2_is_refused_in_a_1_2_answer() -> None:
    srw = read_envelope(envelope(
        "<zs:explainRequest><zs:version>2.0</zs:version></zs:explainRequest>"))
    refused = refusal(srw)
    assert refused is not None
    assert refused[0].version == "1.2"
    assert (refused[1].code, refused[1].details) == (5, "1.2")
    assert refusal(read_envelope(envelope("<zs:explainRequest/>"))) is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<<", "Client"),
        (b"   ", "Client"),
        (b"<Envelope/>", "VersionMismatch"),  # an Envelope in no namespace: not SOAP 1.1
        (b"<Body/>", "Client"),
        (b'<E:Envelope xmlns:E="http://www.w3.org/2003/05/soap-envelope"/>', "VersionMismatch"),
        (envelope("<zs:searchRequest/>"), "Client"),
        (envelope("<zs:searchRetrieveResponse/>"), "Client"),
        (envelope(""), "Client"),
        (envelope("<zs:explainRequest/>",
                  header='<S:Header><t:tx xmlns:t="urn:t" S:mustUnderstand="1"/></S:Header>'),
         "MustUnderstand"),
    ],
)
def test_unanswerable_envelopes_are_faults(body: bytes, code: str) -> None:
    with pytest.raises(SoapFault) as caught:
        read_envelope(body)
    assert caught.value.code == code


def test_optional_header_is_passed_over() -> None:
    header = '<S:Header><t:tx xmlns:t="urn:t" S:mustUnderstand="0"/></S:Header>'
    assert read_envelope(envelope("<zs:explainRequest/>", header)).operation == "explain"


def test_wrap_and_fault_are_soap_1_1() -> None:
    inner = b'<?xml version="1.0" encoding="UTF-8"?>\n<zs:explainResponse xmlns:zs="%s"/>' % (
        SRW_NS.encode())
    root = etree.fromstring(wrap(inner))
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    assert root[0][0].tag == f"{{{SRW_NS}}}explainResponse"
    fault = etree.fromstring(fault_body(SoapFault("Client", "no <good>")))
    assert fault.findtext(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/faultcode") == "SOAP-ENV:Client"
    assert fault.findtext(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/faultstring") == "no <good>"
