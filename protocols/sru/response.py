"""Serialises SRU responses per version as bytes, splicing the stored record XML in unparsed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gateway.model import ScanTerm
from gateway.records.xmlsafe import escape
from protocols.sru.diagnostics import Diagnostic

SRW_NS: Final = "http://www.loc.gov/zing/srw/"
SRW_DIAG_NS: Final = "http://www.loc.gov/zing/srw/diagnostic/"
SRU2_NS: Final = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_DIAG_NS: Final = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SRU2_SCAN_NS: Final = "http://docs.oasis-open.org/ns/search-ws/scan"
XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One record of a page: its schema label, its XML (already in that schema), position."""

    schema: str
    xml: bytes
    position: int | None


def _text(value: str | int) -> bytes:
    return escape(str(value)).encode("utf-8")


def _escape_bytes(xml: bytes) -> bytes:
    # string packing: the record as character data; no decode/encode round trip needed
    return xml.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")


def _element(prefix: str, name: str, value: str | int) -> bytes:
    return b"<%s:%s>%s</%s:%s>" % (
        prefix.encode(), name.encode(), _text(value), prefix.encode(), name.encode()
    )


def _diagnostics(diagnostics: Sequence[Diagnostic], v2: bool, prefix: str = "zs") -> list[bytes]:
    if not diagnostics:
        return []
    diag_ns = SRU2_DIAG_NS if v2 else SRW_DIAG_NS
    out = [b'<%s:diagnostics xmlns:diag="%s">' % (prefix.encode(), diag_ns.encode())]
    for diagnostic in diagnostics:
        out.append(b"<diag:diagnostic>")
        out.append(_element("diag", "uri", diagnostic.uri))
        out.append(
            _element("diag", "details", diagnostic.details)
            if diagnostic.details
            else b"<diag:details/>"
        )
        out.append(_element("diag", "message", diagnostic.message))
        out.append(b"</diag:diagnostic>")
    out.append(b"</%s:diagnostics>" % prefix.encode())
    return out


def _record_head(schema: str, v2: bool, string_escaping: bool) -> bytes:
    """Everything before a record's data; the same for every record of a page."""
    packing = b"string" if string_escaping else b"xml"
    return b"".join(
        [
            b"<zs:record>",
            _element("zs", "recordSchema", schema),
            (
                b"<zs:recordXMLEscaping>%s</zs:recordXMLEscaping>" % packing
                if v2
                else b"<zs:recordPacking>%s</zs:recordPacking>" % packing
            ),
            b"<zs:recordData>",
        ]
    )


def _records(
    records: Sequence[ResponseRecord], v2: bool, string_escaping: bool
) -> list[bytes]:
    heads: dict[str, bytes] = {}
    out: list[bytes] = []
    for record in records:
        head = heads.get(record.schema)
        if head is None:
            head = heads[record.schema] = _record_head(record.schema, v2, string_escaping)
        out.append(head)
        out.append(_escape_bytes(record.xml) if string_escaping else record.xml)
        if record.position:
            out.append(
                b"</zs:recordData><zs:recordPosition>%d</zs:recordPosition></zs:record>"
                % record.position
            )
        else:
            out.append(b"</zs:recordData></zs:record>")
    return out


def search_retrieve_response(
    version: str,
    *,
    number_of_records: int,
    records: Sequence[ResponseRecord] = (),
    next_record_position: int | None = None,
    string_escaping: bool = False,
    echo: Sequence[tuple[str, str]] = (),
    diagnostics: Sequence[Diagnostic] = (),
) -> bytes:
    """A searchRetrieveResponse; element order as in SRU's schemas and Melinda's responses."""
    v2 = version.startswith("2")
    out = [
        XML_DECLARATION,
        b'<zs:searchRetrieveResponse xmlns:zs="%s">' % (SRU2_NS if v2 else SRW_NS).encode(),
    ]
    if not v2:
        out.append(_element("zs", "version", version))
    out.append(_element("zs", "numberOfRecords", number_of_records))
    if records:
        out.append(b"<zs:records>")
        out.extend(_records(records, v2, string_escaping))
        out.append(b"</zs:records>")
    if next_record_position is not None:
        out.append(_element("zs", "nextRecordPosition", next_record_position))
    if echo and not v2:
        out.append(b"<zs:echoedSearchRetrieveRequest>")
        out.extend(_element("zs", name, value) for name, value in echo)
        out.append(b"</zs:echoedSearchRetrieveRequest>")
    out.extend(_diagnostics(diagnostics, v2))
    out.append(b"</zs:searchRetrieveResponse>")
    return b"".join(out)


def scan_response(
    version: str,
    *,
    terms: Sequence[ScanTerm] = (),
    echo: Sequence[tuple[str, str]] = (),
    diagnostics: Sequence[Diagnostic] = (),
) -> bytes:
    """A scanResponse: SRU 2.0's scan namespace, or SRW 1.x's."""
    v2 = version.startswith("2")
    prefix = "scan" if v2 else "zs"
    ns = SRU2_SCAN_NS if v2 else SRW_NS
    out = [XML_DECLARATION, b'<%s:scanResponse xmlns:%s="%s">' % (
        prefix.encode(), prefix.encode(), ns.encode())]
    if not v2:
        out.append(_element(prefix, "version", version))
    if terms:
        out.append(b"<%s:terms>" % prefix.encode())
        for term in terms:
            out.append(b"<%s:term>" % prefix.encode())
            out.append(_element(prefix, "value", term.term))
            out.append(_element(prefix, "numberOfRecords", term.count))
            out.append(b"</%s:term>" % prefix.encode())
        out.append(b"</%s:terms>" % prefix.encode())
    if echo and not v2:
        out.append(b"<zs:echoedScanRequest>")
        out.extend(_element("zs", name, value) for name, value in echo)
        out.append(b"</zs:echoedScanRequest>")
    out.extend(_diagnostics(diagnostics, v2, prefix))
    out.append(b"</%s:scanResponse>" % prefix.encode())
    return b"".join(out)


def explain_response(
    version: str,
    *,
    explain_xml: bytes,
    string_escaping: bool = False,
    diagnostics: Sequence[Diagnostic] = (),
) -> bytes:
    """An explainResponse carrying the ZeeRex record."""
    v2 = version.startswith("2")
    out = [
        XML_DECLARATION,
        b'<zs:explainResponse xmlns:zs="%s">' % (SRU2_NS if v2 else SRW_NS).encode(),
    ]
    if not v2:
        out.append(_element("zs", "version", version))
    record = ResponseRecord("http://explain.z3950.org/dtd/2.0/", explain_xml, None)
    out.extend(_records([record], v2, string_escaping))
    out.extend(_diagnostics(diagnostics, v2))
    out.append(b"</zs:explainResponse>")
    return b"".join(out)
