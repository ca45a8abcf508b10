"""Structure checks for SRU responses: element paths, SRU 2.0 schema validity, SRW 1.x order."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from lxml import etree

from tests.conftest import SHARED, shared_schema

SRW = "http://www.loc.gov/zing/srw/"
SRW_DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_DIAG = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SRU2_SCAN = "http://docs.oasis-open.org/ns/search-ws/scan"
MARC = "http://www.loc.gov/MARC21/slim"


def envelope_paths(root: etree._Element) -> list[str]:
    """Every element's path in Clark notation, the payload of recordData reduced to its root."""
    paths: list[str] = []

    def walk(element: etree._Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}"
        paths.append(path)
        if etree.QName(element).localname == "recordData":
            paths.extend(f"{path}/{child.tag}" for child in element)
            return
        for child in element:
            if isinstance(child.tag, str):
                walk(child, path)

    walk(root, "")
    return paths


def text_of(root: etree._Element, local_name: str) -> list[str]:
    return [
        el.text or ""
        for el in root.iter()
        if isinstance(el.tag, str) and etree.QName(el).localname == local_name
    ]


@cache
def _sru_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid_sru2(root: etree._Element) -> None:
    """Valid against the OASIS SRU 2.0 schema (../shared/schemas/sruResponse.xsd)."""
    schema = _sru_schema(shared_schema("sruResponse.xsd"))
    if not schema.validate(root):
        raise AssertionError(str(schema.error_log))


def as_oasis(root: etree._Element) -> etree._Element:
    """An SRW 1.x response moved into the OASIS namespaces, whose schema also covers 1.2."""
    moved = copy.deepcopy(root)
    mapping = {SRW: SRU2, SRW_DIAG: SRU2_DIAG}
    for element in moved.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        if qname.namespace in mapping:
            element.tag = f"{{{mapping[qname.namespace]}}}{qname.localname}"
    etree.cleanup_namespaces(moved)
    return etree.fromstring(etree.tostring(moved))


# SRW 1.1/1.2 (www.loc.gov/standards/sru/xml-files/srw-types.xsd): each element's children in
# order; a name ending in "?" may be absent.
SRW1_SEQUENCES: dict[str, list[str]] = {
    "searchRetrieveResponse": [
        "version", "numberOfRecords", "resultSetId?", "resultSetIdleTime?", "records?",
        "nextRecordPosition?", "echoedSearchRetrieveRequest?", "diagnostics?",
        "extraResponseData?",
    ],
    "scanResponse": [
        "version", "terms?", "echoedScanRequest?", "diagnostics?", "extraResponseData?"
    ],
    "explainResponse": [
        "version", "record", "echoedExplainRequest?", "diagnostics?", "extraResponseData?"
    ],
    "record": ["recordSchema", "recordPacking", "recordData", "recordPosition?",
               "extraRecordData?"],
    "term": ["value", "numberOfRecords?", "displayTerm?", "whereInList?", "extraTermData?"],
    "echoedSearchRetrieveRequest": [
        "version", "query", "xQuery?", "startRecord?", "maximumRecords?", "recordPacking?",
        "recordSchema?", "recordXPath?", "resultSetTTL?", "sortKeys?", "stylesheet?",
        "extraRequestData?",
    ],
    "echoedScanRequest": [
        "version", "scanClause", "responsePosition?", "maximumTerms?", "stylesheet?"
    ],
    "diagnostic": ["uri", "details?", "message?"],
}
SRW1_REPEATED = {"records": "record", "terms": "term", "diagnostics": "diagnostic"}


def assert_srw1_structure(root: etree._Element) -> None:
    """Namespaces and child order of an SRW 1.x response, checked element by element."""

    def check(element: etree._Element) -> None:
        qname = etree.QName(element)
        name = qname.localname
        expected_ns = SRW_DIAG if name in ("diagnostic", "uri", "details", "message") else SRW
        assert qname.namespace == expected_ns, f"{name} is in {qname.namespace}"
        children = [c for c in element if isinstance(c.tag, str)]
        if name == "recordData":
            return
        if name in SRW1_REPEATED:
            assert children, f"{name} is empty"
            assert {etree.QName(c).localname for c in children} == {SRW1_REPEATED[name]}
        elif name in SRW1_SEQUENCES:
            _check_sequence(name, [etree.QName(c).localname for c in children])
        else:
            assert not children, f"{name} has unexpected children"
        for child in children:
            check(child)

    check(root)


def _check_sequence(parent: str, names: list[str]) -> None:
    sequence = SRW1_SEQUENCES[parent]
    at = 0
    for name in names:
        while at < len(sequence) and sequence[at].rstrip("?") != name:
            assert sequence[at].endswith("?"), f"{parent}: {sequence[at]} missing before {name}"
            at += 1
        assert at < len(sequence), f"{parent}: {name} unexpected or out of order in {names}"
        at += 1
    for rest in sequence[at:]:
        assert rest.endswith("?"), f"{parent}: {rest} missing"


def assert_well_formed_response(root: etree._Element) -> None:
    """Every reply the tests see: 2.0 and 1.2 against SRU's schema (when ../shared is
    there), 1.x against the SRW structure."""
    namespace = etree.QName(root).namespace
    have_schema = (SHARED / "schemas" / "sruResponse.xsd").exists()
    if namespace == SRW:
        assert_srw1_structure(root)
        # SRU's 2.0 schema also covers 1.2's searchRetrieve and explain, but not 1.2's scan
        scan = etree.QName(root).localname == "scanResponse"
        if have_schema and not scan and root.findtext(f"{{{SRW}}}version") == "1.2":
            assert_valid_sru2(as_oasis(root))
    else:
        assert namespace in (SRU2, SRU2_SCAN), namespace
        if have_schema:
            assert_valid_sru2(root)
