"""The Aleph X-server's `oai_marc` record form (`<fixfield id="LDR">`, `<varfield id="245">`).

As the X-server writes it (find-doc, present): the leader is `<fixfield id="LDR">` and
control fields are `<fixfield id="001">`, both with every blank written as `^`; data fields
are `<varfield id="245" i1="1" i2="0">` holding `<subfield label="a">`. Aleph's own letter
tags (LOW, SID, CAT, UPD) are varfields like any other; a `FMT` fixfield is dropped on reading.
"""

from __future__ import annotations

from typing import Any

import pymarc
from lxml import etree
from pymarc import Field, Indicators, Leader, Subfield

from gateway.errors import MalformedRecordError
from gateway.records import xmlsafe
from gateway.records.marcxml import (
    DEFAULT_LEADER,
    Markup,
    compact_record,
    escape_text,
    has_illegal,
    parse_marcxml,
    raise_illegal_characters,
    xml_bytes,
    xml_problem,
)
from gateway.records.xmlsafe import XML_ILLEGAL

_tuple_new = tuple.__new__


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _find_oai_marc(root: Any) -> Any:
    if _local(root.tag) == "oai_marc":
        return root
    for element in root.iter():
        if _local(element.tag) == "oai_marc":
            return element
    # The X-server answers errors inside the same envelope: say what it said.
    for element in root.iter():
        if _local(element.tag) == "error" and (element.text or "").strip():
            raise MalformedRecordError(
                f"no oai_marc record; the reply says: {element.text.strip()}",
                position=f"line {element.sourceline}",
            )
    raise MalformedRecordError(
        f"no <oai_marc> element in <{_local(root.tag)}>", position=f"line {root.sourceline}"
    )


def parse_oai_marc(data: bytes | str | Any) -> pymarc.Record:
    """Read an `<oai_marc>` record, alone or inside a `<find-doc>` / `<record><metadata>` reply.

    Accepts bytes, text or an already parsed lxml element.
    """
    if isinstance(data, bytes | str):
        try:
            root = xmlsafe.parse(xml_bytes(data))
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else exc.lineno
            raise MalformedRecordError(xml_problem(exc), position=f"line {line}") from None
    else:
        root = data
    element = _find_oai_marc(root)
    leader = DEFAULT_LEADER
    fields: list[Field] = []
    new = Field.__new__
    for child in element:
        name = _local(child.tag)
        if not name:
            continue  # comments, processing instructions
        tag = child.get("id")
        where = f"line {child.sourceline}"
        if name not in ("fixfield", "varfield"):
            raise MalformedRecordError(f"unexpected element <{name}> in <oai_marc>", position=where)
        if not tag:
            raise MalformedRecordError(f"<{name}> without an id attribute", position=where)
        if name == "fixfield":
            value = (child.text or "").replace("^", " ")
            if tag == "LDR":
                if len(value) != 24:
                    raise MalformedRecordError(
                        f"leader is {len(value)} characters long, not 24",
                        position=f"{where}, leader",
                    )
                leader = value
                continue
            if tag == "FMT":
                continue
            field = new(Field)
            field.tag = tag
            field.data = value
            field.control_field = True
            field._indicators = None
            field.subfields = []
        else:
            subfields = []
            for sub in child:
                if not _local(sub.tag):
                    continue
                label = sub.get("label")
                if label is None:
                    raise MalformedRecordError(
                        "subfield without a label attribute",
                        position=f"line {sub.sourceline}, field {tag}",
                    )
                subfields.append(_tuple_new(Subfield, (label, sub.text or "")))
            field = new(Field)
            field.tag = tag
            field.data = None
            field.control_field = False
            field._indicators = _tuple_new(
                Indicators, (child.get("i1") or " ", child.get("i2") or " ")
            )
            field.subfields = subfields
        fields.append(field)
    record = pymarc.Record()
    record.leader = Leader(leader)
    record.fields = fields
    return record


def _fixed(value: str) -> str:
    return escape_text(value.replace(" ", "^"))


def record_to_oai_marc(record: pymarc.Record) -> bytes:
    """The record as the X-server's `<oai_marc>` element (UTF-8, no XML declaration)."""
    parts = ['<oai_marc><fixfield id="LDR">', _fixed(str(record.leader)), "</fixfield>"]
    append = parts.append
    for field in record.fields:
        if field.control_field:
            append('<fixfield id="')
            append(escape_text(field.tag))
            append('">')
            append(_fixed(field.data or ""))
            append("</fixfield>")
            continue
        ind = field._indicators or (" ", " ")
        append('<varfield id="')
        append(escape_text(field.tag))
        append('" i1="')
        append(escape_text(ind[0] or " "))
        append('" i2="')
        append(escape_text(ind[1] or " "))
        append('">')
        for code, value in field.subfields:
            append('<subfield label="')
            append(escape_text(code))
            append('">')
            append(escape_text(value))
            append("</subfield>")
        append("</varfield>")
    append("</oai_marc>")
    encoded = "".join(parts).encode("utf-8")
    if has_illegal(encoded):
        raise_illegal_characters(record)
    return encoded



_COMPACT_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
# The compact MARCXML markup of data fields and their oai_marc names.
_RENAMES = (
    (b'<datafield tag="', b'<varfield id="'),
    (b'" ind1="', b'" i1="'),
    (b'" ind2="', b'" i2="'),
    (b"</datafield>", b"</varfield>"),
    (b'<subfield code="', b'<subfield label="'),
)


def marcxml_to_oai_marc(xml: bytes) -> bytes:
    """The store's compact MARCXML (`record_to_marcxml`) as `record_to_oai_marc` writes it,
    renamed in place without building a record (a find-doc's whole conversion); other
    MARCXML is parsed and written the long way.

    Both forms escape text alike, so only the markup changes, and blanks of the leader and
    the control fields become `^`. The count of `<` must be the compact form's for its
    elements (no comment, CDATA or other markup), else the long way is taken.
    """
    at = len(_COMPACT_START)
    if (
        not xml.startswith(_COMPACT_START)
        or xml[at + 24 : at + 33] != b"</leader>"
        or not xml.endswith(b"</record>")
    ):
        return _the_long_way(xml)
    fields = xml.count(b'<datafield tag="')
    subfields = xml.count(b'<subfield code="')
    pieces = xml[at + 33 : -9].split(b'<controlfield tag="')
    controls = len(pieces) - 1
    if (
        xml.count(b"<") != 4 + 2 * (controls + fields + subfields)
        or xml.count(b"</controlfield>") != controls
    ):
        return _the_long_way(xml)
    out = [b'<oai_marc><fixfield id="LDR">', xml[at : at + 24].replace(b" ", b"^"), b"</fixfield>"]
    for n, piece in enumerate(pieces):
        if n:
            head, _, piece = piece.partition(b"</controlfield>")
            tag, mid, data = head.partition(b'">')
            if not mid:
                return _the_long_way(xml)
            out += [b'<fixfield id="', tag, b'">', data.replace(b" ", b"^"), b"</fixfield>"]
        for old, new in _RENAMES:
            piece = piece.replace(old, new)
        out.append(piece)
    out.append(b"</oai_marc>")
    encoded = b"".join(out)
    return _the_long_way(xml) if has_illegal(encoded) else encoded


def _the_long_way(xml: bytes) -> bytes:
    return record_to_oai_marc(parse_marcxml(xml))


# An update-doc's record as find-doc gave it: inside its reply's envelope, or alone.
_ENVELOPES = (("<find-doc><record><metadata>", "</metadata></record></find-doc>"), ("", ""))
_LEADER_START = '<fixfield id="LDR">'
_OAI_MARKUP = Markup(
    '<varfield id="',
    '" i1="',
    '" i2="',
    "</varfield>",
    '<subfield label="',
    '<fixfield id="',
    "</fixfield>",
    "^",  # blanks in control fields, as in the leader
    "FMT",  # dropped on reading, as parse_oai_marc does
)


def parse_oai_marc_exact(text: str) -> pymarc.Record | None:
    """The record of an `<oai_marc>` written exactly as `record_to_oai_marc` writes it (as
    find-doc sent it, edited in the same form), read without an XML parser; None for
    anything else, which `parse_oai_marc` then reads.

    The fields are read by the string reader of the store's compact MARCXML, which checks
    element by element; a leader other than first, a second one or a character XML cannot
    carry sends it the long way, where the same errors are given as before.
    """
    start, end = text.find("<oai_marc>"), text.rfind("</oai_marc>")
    if start < 0 or end < start:
        return None
    envelope = ("".join(text[:start].split()), "".join(text[end + 11 :].split()))
    if envelope not in _ENVELOPES:  # blanks between its tags are fine (lxml writes a tail)
        return None
    inner = text[start + 10 : end]
    if not inner.startswith(_LEADER_START) or inner[43:54] != "</fixfield>":
        return None
    if XML_ILLEGAL.search(inner) is not None or "]]>" in inner:
        return None
    fields = inner.count('<varfield id="')
    if inner.count('" i1="') != fields or inner.count('" i2="') != fields:
        return None  # text may hold `" i1="` (quotes need no escape there): the long way
    leader = inner[19:43].replace("^", " ")
    escaped = "&" in inner
    if (escaped and "&" in leader) or _LEADER_START in inner[54:]:
        return None
    # the leader's fixfield is the framing: two '<'
    return compact_record(inner, inner[54:], leader, escaped, _OAI_MARKUP, 2)
