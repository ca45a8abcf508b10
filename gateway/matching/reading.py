"""A stored record read for matching: only the fields the features look at, from the store's bytes.

Candidates come by the hundred per incoming record, and a full parse (every CAT, note and
subject) costs several times the comparison; the store keeps the compact MARCXML form
`records.record_to_marcxml` writes, so its wanted fields are cut out by splitting. Anything
not in that exact form goes to the full parser.
"""

from __future__ import annotations

from typing import Final

import pymarc

from gateway import records
from gateway.records.marcxml import COMPACT_PREFIX, unescape_compact

# Tags the features, the candidate queries and the refusal checks read
MATCHING_TAGS: Final = frozenset(
    [
        "001",
        "003",
        "008",
        "015",
        "020",
        "022",
        "024",
        "028",
        "035",
        "041",
        "100",
        "110",
        "111",
        "245",
        "260",
        "264",
        "300",
        "700",
        "710",
        "711",
        "773",
        "973",
        "LOW",
        "SID",
        "STA",
    ]
)
_LEADER_AT: Final = len(COMPACT_PREFIX)


class _NotCompact(Exception):
    """The bytes are not in the compact form: the full parser reads them."""


def _plain(value: str) -> str:
    found = unescape_compact(value)
    if found is None:
        raise _NotCompact
    return found


def _controlfields(part: str, fields: list[pymarc.Field]) -> None:
    if not part:
        return
    pieces = part.split("</controlfield>")
    if pieces.pop() != "":
        raise _NotCompact
    for piece in pieces:
        if not piece.startswith('<controlfield tag="'):
            raise _NotCompact
        tag, sep, value = piece[19:].partition('">')
        if not sep:
            raise _NotCompact
        if tag in MATCHING_TAGS:
            fields.append(pymarc.Field(tag=tag, data=_plain(value)))


def _datafield(tag: str, body: str) -> pymarc.Field:
    q = body.find('" ind1="')
    if q < 0 or body[q + 9 : q + 17] != '" ind2="' or body[q + 18 : q + 20] != '">':
        raise _NotCompact
    subfields: list[pymarc.Subfield] = []
    rest = body[q + 20 :]
    if rest:
        if not rest.startswith('<subfield code="') or not rest.endswith("</subfield>"):
            raise _NotCompact
        for piece in rest[16:-11].split('</subfield><subfield code="'):
            code, sep, value = piece.partition('">')
            if not sep:
                raise _NotCompact
            subfields.append(pymarc.Subfield(_plain(code), _plain(value)))
    return pymarc.Field(
        tag=tag, indicators=pymarc.Indicators(body[q + 8], body[q + 17]), subfields=subfields
    )


def _compact(text: str) -> pymarc.Record:
    if not text.startswith(COMPACT_PREFIX) or not text.endswith("</record>"):
        raise _NotCompact
    if text[_LEADER_AT + 24 : _LEADER_AT + 33] != "</leader>" or "<![CDATA[" in text:
        raise _NotCompact
    leader = text[_LEADER_AT : _LEADER_AT + 24].replace("^", " ")
    chunks = text[_LEADER_AT + 33 : -9].split('<datafield tag="')
    fields: list[pymarc.Field] = []
    _controlfields(chunks[0], fields)
    for chunk in chunks[1:]:
        body, sep, tail = chunk.partition("</datafield>")
        if not sep:
            raise _NotCompact
        tag = body[: body.find('"')]
        if tag in MATCHING_TAGS:
            fields.append(_datafield(_plain(tag), body))
        _controlfields(tail, fields)
    record = pymarc.Record(leader=leader, force_utf8=True)
    record.fields = fields
    return record


def matching_view(xml: bytes) -> pymarc.Record:
    """The record's leader and the fields of MATCHING_TAGS, in record order."""
    try:
        return _compact(xml.decode("utf-8"))
    except (_NotCompact, UnicodeDecodeError):
        full = records.parse_marcxml(xml)
        full.fields = [f for f in full.fields if f.tag in MATCHING_TAGS]
        return full
