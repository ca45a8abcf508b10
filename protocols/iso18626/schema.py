"""Reading ISO 18626 XML safely, and checking it against the published 1.2 schema.

The schema is ISO's own file, not part of the project: it is read at start-up from a
configured path (by default the shared schema folder beside the project). Without it the
codec still checks structure and code lists itself; with it every message in and out is
validated by lxml as well.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from lxml import etree

from gateway.ill import ErrorType, IllError

log = logging.getLogger("melinda.iso18626")

NS: Final = "http://illtransactions.org/2013/iso18626"
SCHEMA_FILE: Final = "ISO-18626-v1_2.xsd"
DEFAULT_SCHEMA: Final = (
    Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / SCHEMA_FILE
)
MAX_MESSAGE_BYTES: Final = 1024 * 1024

# No DTD, no entities, no network: a message is data, never instructions to the parser.
_PARSER: Final = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
)


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def parse_xml(body: bytes) -> etree._Element:
    """The document's root. Raises IllError(BadlyFormedMessage) for anything not plain XML."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise IllError(
            ErrorType.BADLY_FORMED_MESSAGE, f"message larger than {MAX_MESSAGE_BYTES} bytes"
        )
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise IllError(ErrorType.BADLY_FORMED_MESSAGE, f"not well-formed XML: {exc.msg}") from exc
    if root is None:
        raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "empty document")
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "a DOCTYPE is not allowed")
    return root


@dataclass(frozen=True, slots=True)
class Schema:
    xsd: etree.XMLSchema
    names: frozenset[str]  # every element name the schema declares


def load_schema(path: Path | None) -> Schema | None:
    """The schema at `path` (blocking: run it off the event loop), or None if it is absent."""
    chosen = path or DEFAULT_SCHEMA
    if not chosen.is_file():
        log.warning("ISO 18626 schema %s not found: messages are checked by structure only", chosen)
        return None
    document = etree.parse(str(chosen), _PARSER)
    names = frozenset(
        str(e.get("name")) for e in document.iter("{http://www.w3.org/2001/XMLSchema}element")
    )
    return Schema(etree.XMLSchema(document), names)


_UNEXPECTED: Final = re.compile(r"^Element '(?:\{[^}]*\})?([^']+)': This element is not expected")


def _error_type(schema: Schema, entry: etree._LogEntry) -> ErrorType:
    message = entry.message or ""
    if "enumeration" in message or entry.type_name.startswith("SCHEMAV_CVC_DATATYPE"):
        return ErrorType.UNRECOGNISED_DATA_VALUE
    if "is not a valid value" in message:
        return ErrorType.UNRECOGNISED_DATA_VALUE
    unexpected = _UNEXPECTED.match(message)
    if unexpected and unexpected.group(1) not in schema.names:
        return ErrorType.UNRECOGNISED_DATA_ELEMENT
    return ErrorType.BADLY_FORMED_MESSAGE


def _needs_tolerance(root: etree._Element) -> bool:
    if root.get(q("version")) is None and root.get("version") is not None:
        return True
    if any(h.find(q("multipleItemRequestId")) is None for h in root.iter(q("header"))):
        return True
    return any(not (status.text or "").strip() for status in root.iter(q("status")))


def tolerated_copy(root: etree._Element) -> etree._Element:
    """The message as the 1.2 schema would have it, forgiving what real peers send.

    Forgiven: `version` without the namespace (the schema qualifies its attributes);
    1.0/1.1 headers without 1.2's multipleItemRequestId; Alma's empty status in a
    Notification.
    """
    if not _needs_tolerance(root):
        return root  # the common case: no copy to make
    copy = etree.fromstring(etree.tostring(root), _PARSER)
    if copy.get(q("version")) is None and copy.get("version") is not None:
        copy.set(q("version"), copy.attrib.pop("version"))
    for header in copy.iter(q("header")):
        if header.find(q("multipleItemRequestId")) is None:
            requesting = header.find(q("requestingAgencyId"))
            if requesting is not None:
                requesting.addnext(etree.Element(q("multipleItemRequestId")))
    for message in copy.iter(q("supplyingAgencyMessage")):
        reason = message.findtext(f"{q('messageInfo')}/{q('reasonForMessage')}")
        status = message.find(f"{q('statusInfo')}/{q('status')}")
        if reason == "Notification" and status is not None and not (status.text or "").strip():
            status.text = "RequestReceived"  # any valid value: the copy is only checked
    return copy


def schema_error(schema: Schema | None, root: etree._Element) -> IllError | None:
    """The first way `root` breaks the schema (after the tolerances above), or None."""
    if schema is None:
        return None
    if schema.xsd.validate(tolerated_copy(root)):
        return None
    entry = next(iter(schema.xsd.error_log))  # type: ignore[call-overload]
    text = (entry.message or "").replace(f"{{{NS}}}", "")
    return IllError(_error_type(schema, entry), f"line {entry.line}: {text}"[:500])
