"""A stored record read for matching: only the fields the features look at, from the store's bytes.

Candidates come by the hundred per incoming record, and a full parse (every CAT, note and
subject) costs several times the comparison; the store keeps the compact MARCXML form
`records.record_to_marcxml` writes, so its wanted fields are cut out by splitting. Anything
not in that exact form goes to the full parser.
"""

from __future__ import annotations

from collections.abc import Iterable
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


class LazyRecord(pymarc.Record):
    """A stored record whose fields are parsed when first asked for, tag by tag: a candidate
    that fails on its publication year never has its identifiers or names read."""

    def __init__(self, xml: bytes, leader: str, chunks: list[tuple[str, str, bool]]) -> None:
        super().__init__(leader=leader, force_utf8=True)
        self._xml = xml
        self._chunks = chunks  # (tag, body, control field?) in record order
        self._parsed: dict[int, pymarc.Field] = {}
        self._all: list[pymarc.Field] | None = None

    @property
    def fields(self) -> list[pymarc.Field]:
        if self._all is None:
            self._all = self._take(range(len(self._chunks)))
        return self._all

    @fields.setter
    def fields(self, value: list[pymarc.Field]) -> None:
        if hasattr(self, "_chunks"):  # pymarc's own __init__ sets an empty list first
            self._all = list(value)

    def get_fields(self, *tags: str) -> list[pymarc.Field]:  # type: ignore[override]
        if self._all is not None or not tags:
            return [f for f in self.fields if not tags or f.tag in tags]
        wanted = [i for i, (tag, _, _) in enumerate(self._chunks) if tag in tags]
        return self._take(wanted)

    def _take(self, indexes: Iterable[int]) -> list[pymarc.Field]:
        found = []
        try:
            for i in indexes:
                field = self._parsed.get(i)
                if field is None:
                    tag, body, control = self._chunks[i]
                    field = (
                        pymarc.Field(tag=tag, data=_plain(body))
                        if control
                        else _datafield(tag, body)
                    )
                    self._parsed[i] = field
                found.append(field)
        except _NotCompact:  # a field not in the compact form after all: read it whole
            full = records.parse_marcxml(self._xml)
            self._all = [f for f in full.fields if f.tag in MATCHING_TAGS]
            wanted = {self._chunks[i][0] for i in indexes} if indexes else None
            return [f for f in self._all if wanted is None or f.tag in wanted]
        return found


def _control_chunks(part: str, chunks: list[tuple[str, str, bool]]) -> None:
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
            chunks.append((tag, value, True))


def _compact(xml: bytes) -> pymarc.Record:
    text = xml.decode("utf-8")
    if not text.startswith(COMPACT_PREFIX) or not text.endswith("</record>"):
        raise _NotCompact
    if text[_LEADER_AT + 24 : _LEADER_AT + 33] != "</leader>" or "<![CDATA[" in text:
        raise _NotCompact
    leader = text[_LEADER_AT : _LEADER_AT + 24].replace("^", " ")
    parts = text[_LEADER_AT + 33 : -9].split('<datafield tag="')
    chunks: list[tuple[str, str, bool]] = []
    _control_chunks(parts[0], chunks)
    for part in parts[1:]:
        body, sep, tail = part.partition("</datafield>")
        if not sep:
            raise _NotCompact
        tag = body[: body.find('"')]
        if tag in MATCHING_TAGS:
            chunks.append((tag, body, False))
        _control_chunks(tail, chunks)
    return LazyRecord(xml, leader, chunks)


def matching_view(xml: bytes) -> pymarc.Record:
    """The record's leader and the fields of MATCHING_TAGS, in record order (read when
    first asked for)."""
    try:
        return _compact(xml)
    except (_NotCompact, UnicodeDecodeError):
        full = records.parse_marcxml(xml)
        full.fields = [f for f in full.fields if f.tag in MATCHING_TAGS]
        return full
