"""Fuzz targets shared by the property tests and `scripts/fuzz`: each raises only its documented errors."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from gateway.errors import GatewayError, QueryError
from gateway.publishing import MalformedPublishingFileError, read_publishing_file
from gateway.records import xmlsafe
from gateway.store.sqlite.compile import compile_query
from protocols.oaipmh.arguments import parse_request
from protocols.oaipmh.errors import OaiError
from protocols.oaipmh.responses import error_document, head
from protocols.sru.cql import compile_query as compile_cql
from protocols.sru.cql import parse_cql
from protocols.xserver.ccl import parse_find_request
from protocols.z3950.ber import BerError, decode, decode_prefix


def cql(text: str) -> None:
    """A CQL query: parsed, compiled to the query tree and to SQL; QueryError otherwise."""
    try:
        tree, _sort = compile_cql(parse_cql(text))
        compile_query(tree)
    except QueryError:
        pass


def ber(data: bytes) -> None:
    """Octets as a BER element, whole and as a stream prefix; BerError otherwise."""
    with contextlib.suppress(BerError):
        decode(data)
    with contextlib.suppress(BerError):
        decode_prefix(data, 1 << 20)


def xserver_find(text: str) -> None:
    """An X-server `find` request (CCL) parsed and compiled; QueryError (a GatewayError) otherwise."""
    with contextlib.suppress(GatewayError):
        compile_query(parse_find_request(text))


def oai_arguments(pairs: list[tuple[str, str]]) -> None:
    """OAI-PMH arguments: a request or OaiError, and either way a well-formed response head."""
    try:
        request = parse_request(pairs)
    except OaiError as error:
        document = error_document("http://x/oai", "2026-01-01T00:00:00Z", dict(pairs), error)
    else:
        document = head("http://x/oai", "2026-01-01T00:00:00Z", request.arguments) + b"</OAI-PMH>"
    etree.fromstring(document, xmlsafe.parser())  # ill-formed: XMLSyntaxError escapes


def publishing_file(data: bytes) -> None:
    """A publishing file read whole; MalformedPublishingFileError otherwise."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "helka.xml"
        path.write_bytes(data)
        with contextlib.suppress(MalformedPublishingFileError):
            read_publishing_file(path)


TARGETS: dict[str, Callable[..., None]] = {
    "cql": cql,
    "ber": ber,
    "xserver-find": xserver_find,
    "oai-pmh-arguments": oai_arguments,
    "publishing-file": publishing_file,
}
