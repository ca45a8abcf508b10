"""SRW, SRU 1.x over SOAP 1.1: reads the envelope into SRU parameters and wraps the answer.

YAZ's clients speak this by default (yaz-client's plain `open http://...`, ZOOM with
`sru=soap`, and so Koha's YAZ-based Z39.50/SRU search): an HTTP POST of `text/xml` holding
`<SOAP-ENV:Envelope><SOAP-ENV:Body><srw:searchRetrieveRequest>` in the SRW namespace
`http://www.loc.gov/zing/srw/`, `SOAPAction: ""`.

Reading of the SRW pages (loc.gov "SRW: Search/Retrieve Web Service", SRU 1.1 archive):
- SOAP 1.1 is the binding every SRW server must support; 1.2 is optional and not served
  here (another envelope namespace is a SOAP `VersionMismatch` fault);
- the request elements carry the SRU parameters under the same names; `operation` is the
  request element itself; `stylesheet` and `echoedSearchRetrieveRequest` are not part of
  SRW, so no echo is sent back (a stylesheet is still refused with diagnostic 110, as SRU);
- "if there is a doubt whether to return a SOAP fault or an SRW diagnostic, the diagnostic
  is preferred". So everything that can be answered as one of the three operations is an
  SRW diagnostic inside a normal response (HTTP 200), and a SOAP Fault (HTTP 500, as SOAP
  1.1 section 6.2 asks) is kept for what cannot: a body that is not XML, no Envelope or
  Body, or a Body whose element is not one of SRW's three requests. YAZ reads a fault's
  faultcode and faultstring whatever the HTTP status and reports them as an HTTP error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from lxml import etree

from gateway.records import xmlsafe
from protocols.sru.diagnostics import Diagnostic
from protocols.sru.request import OPERATIONS, Envelope

SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SRW_NS: Final = "http://www.loc.gov/zing/srw/"
CONTENT_TYPE: Final = "text/xml"
# Content types a SOAP request may come in; SOAP 1.2's is accepted to answer it with a fault.
SOAP_CONTENT_TYPES: Final = frozenset({"text/xml", "application/soap+xml"})
REQUEST_SUFFIX: Final = "Request"
# The SRW versions; a request without a version (SRW 1.1 makes it mandatory) is read as 1.2.
SRW_VERSIONS: Final = ("1.1", "1.2")
DEFAULT_SRW_VERSION: Final = "1.2"
# Extension data the gateway does not use; ignored, as SRU allows for extensions.
IGNORED: Final = frozenset({"extraRequestData"})
# YAZ's own alternatives to a CQL query (ZOOM sends a query not prefixed `cql:` as PQF in
# pQuery / pScanClause; SRW 1.0 had XCQL as xQuery): diagnostic 11, unsupported query type.
OTHER_QUERY_TYPES: Final = {"pQuery": "pqf", "pScanClause": "pqf", "xQuery": "xcql"}

# Envelopes are small; a larger body (a client may send up to the app's size limit) is
# parsed off the event loop.
INLINE_PARSE_BYTES: Final = 64 * 1024

_XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_ENVELOPE_OPEN: Final = b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="%s"><SOAP-ENV:Body>' % SOAP_NS.encode()
_ENVELOPE_CLOSE: Final = b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"


class SoapFault(Exception):
    """A request that cannot be answered as an SRW operation: a SOAP Fault goes back."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code  # SOAP 1.1's faultcode local name: Client, VersionMismatch, Server
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class SrwRequest:
    """The operation asked for and its parameters, named as SRU names them."""

    operation: str
    params: dict[str, str]
    query_type: str = ""  # a query in another language than CQL ("pqf", "xcql")


def is_soap_request(request: web.Request) -> bool:
    """A POST whose body is XML, not a form: the SOAP binding."""
    return request.method == "POST" and request.content_type in SOAP_CONTENT_TYPES


async def read_request(request: web.Request) -> SrwRequest:
    """The SRW request of an HTTP request; raises SoapFault when there is none."""
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise SoapFault("Client", f"The request is too large: {exc.text}") from None
    if len(body) <= INLINE_PARSE_BYTES:
        return read_envelope(body)
    return await asyncio.to_thread(read_envelope, body)


def read_envelope(body: bytes) -> SrwRequest:
    """The SRW request in a SOAP 1.1 envelope; raises SoapFault when there is none."""
    if not body.strip():
        raise SoapFault("Client", "Empty request body")
    try:
        # a parser per envelope: lxml's are not thread-safe, and large bodies parse in threads
        root = etree.fromstring(body, xmlsafe.new_parser(remove_comments=True, remove_pis=True))
    except etree.XMLSyntaxError as exc:
        raise SoapFault("Client", f"Bad XML document: {exc}") from None
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        # SOAP 1.1 section 3: a SOAP message must not contain a document type declaration
        raise SoapFault("Client", "A SOAP message must not contain a DTD")
    name = etree.QName(root)
    if name.localname != "Envelope":
        raise SoapFault("Client", "No SOAP Envelope element")
    if name.namespace != SOAP_NS:
        raise SoapFault("VersionMismatch", f"Unsupported SOAP envelope namespace: {name.namespace}")
    body_element = _body_of(root)
    children = [child for child in body_element if isinstance(child.tag, str)]
    if not children:
        raise SoapFault("Client", "SOAP Body has no request")
    request = children[0]
    request_name = etree.QName(request)
    operation = request_name.localname.removesuffix(REQUEST_SUFFIX)
    if (
        request_name.namespace != SRW_NS
        or not request_name.localname.endswith(REQUEST_SUFFIX)
        or operation not in OPERATIONS
    ):
        raise SoapFault("Client", f"Unsupported SOAP request element: {request_name.text}")
    params = {"operation": operation}
    version_given = query_type = ""
    for child in request:
        if not isinstance(child.tag, str):
            continue
        child_name = etree.QName(child)
        # A foreign element keeps its namespace in its name: it is then an unknown parameter.
        key = child_name.localname if child_name.namespace == SRW_NS else child_name.text
        if key in IGNORED:
            continue
        if key in OTHER_QUERY_TYPES:
            query_type = query_type or OTHER_QUERY_TYPES[key]
            continue
        value = etree.tostring(child, method="text", encoding="unicode", with_tail=False)
        if key == "version":
            version_given = version_given or value.strip()
            continue
        params.setdefault(key, value)
    params["version"] = version_given or DEFAULT_SRW_VERSION
    return SrwRequest(operation, params, query_type)


def _body_of(envelope: etree._Element) -> etree._Element:
    elements = [child for child in envelope if isinstance(child.tag, str)]
    for element in elements:
        name = etree.QName(element)
        if name.namespace == SOAP_NS and name.localname == "Header":
            _check_header(element)
        elif name.namespace == SOAP_NS and name.localname == "Body":
            return element
    raise SoapFault("Client", "SOAP Body element not found")


def _check_header(header: etree._Element) -> None:
    """SOAP 1.1 section 4.2.3: a header entry marked mustUnderstand="1" that the server does
    not know is a MustUnderstand fault; SRW defines no header entries, so any such one is."""
    must_understand = f"{{{SOAP_NS}}}mustUnderstand"
    for entry in header:
        if isinstance(entry.tag, str) and entry.get(must_understand, "0").strip() == "1":
            raise SoapFault("MustUnderstand", f"Header entry not understood: {entry.tag}")


def refusal(srw: SrwRequest) -> tuple[Envelope, Diagnostic] | None:
    """What only SRW can get wrong, with the 1.x envelope to answer it in; None when fine."""
    version = srw.params["version"]
    if version not in SRW_VERSIONS:
        # SRU 2.0 has no SOAP binding; details name the highest version supported (as SRU's 5)
        return Envelope(DEFAULT_SRW_VERSION, srw.operation), Diagnostic(5, DEFAULT_SRW_VERSION)
    if srw.query_type:
        return Envelope(version, srw.operation), Diagnostic(11, srw.query_type)
    return None


def wrap(response: bytes) -> bytes:
    """An SRW response (the 1.x SRU response as bytes) inside a SOAP 1.1 envelope."""
    inner = response.removeprefix(_XML_DECLARATION)
    return b"".join([_XML_DECLARATION, _ENVELOPE_OPEN, inner, _ENVELOPE_CLOSE])


def fault_body(fault: SoapFault) -> bytes:
    """A SOAP 1.1 Fault; faultcode qualified by the envelope namespace, as SOAP 1.1 asks."""
    root = etree.Element(etree.QName(SOAP_NS, "Envelope"), nsmap={"SOAP-ENV": SOAP_NS})
    fault_element = etree.SubElement(
        etree.SubElement(root, etree.QName(SOAP_NS, "Body")), etree.QName(SOAP_NS, "Fault")
    )
    # faultcode and faultstring are unqualified in SOAP 1.1's examples and YAZ's own faults
    etree.SubElement(fault_element, "faultcode").text = f"SOAP-ENV:{fault.code}"
    etree.SubElement(fault_element, "faultstring").text = fault.message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def soap_response(response: bytes) -> web.Response:
    return web.Response(body=wrap(response), content_type=CONTENT_TYPE, charset="utf-8")


def soap_fault_response(fault: SoapFault) -> web.Response:
    # SOAP 1.1 section 6.2: a fault over HTTP is status 500
    return web.Response(
        status=500, body=fault_body(fault), content_type=CONTENT_TYPE, charset="utf-8"
    )


def parameters_of_body(body: bytes) -> Mapping[str, str]:
    """The SRU parameters of a SOAP request body, or none: what the journal records of it."""
    try:
        return read_envelope(body).params
    except SoapFault:
        return {}
