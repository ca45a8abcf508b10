"""Byte-level edits of a stored record's compact MARCXML that give exactly what a full save would.

A LOW-publishing file mostly adds one library's LOW and SID to records that change in no other
way. The full save parses the stored record, edits it, stamps it (001/003/035, 005, a CAT,
Aleph field order) and serialises both views again: about a millisecond per record. When the
stored record is already in the shape that save leaves it in, the save's result is known
field by field, so `add_low_sid` edits the stored bytes of both views (the fin01 `xml` and the
fin01alma `alma_xml`) directly, and says `None` whenever it cannot prove the result equal to the
full save's: the caller then takes the full path.

What a full save of an addition does, and how the splice mirrors it:
- `add_low`: `LOW $a CODE` after the last LOW (the record's last field, in Aleph order);
- `set_sid`: `SID $c LOCAL $b code` after the last SID, else before the first CAT or LOW (a
  SID of the same library is replaced: the splice declines);
- `set_melinda_id`: nothing, when 001, 003 and the one Melinda-form 035 already say the id;
- `_stamp_005`: the first 005 gets the save time;
- `append_cat` then `order_aleph_fields`: the new CAT lands after every CAT whose ($c, $h) is
  not later than its own (a stable sort of CATs that were sorted already);
- fin01alma view: the same edits (LOW, SID, CAT and 005 are fields the view passes unchanged)
  and the staleness `024 8_ $a ID $d STAMP` gets the new version's stamp.
The index gains (LOW, code) and (source id, local id + code) and loses nothing; set
membership changes only for the LOW and SID codes Melinda's sets are defined by, and for
those the splice declines.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import datetime

import pymarc

from gateway.indexing import IX_LOW, IX_SOURCEID, fold, sourceid_key
from gateway.records.aleph import MELINDA_ORG, MELINDA_PREFIX, append_cat, parse_melinda_035
from gateway.records.marcxml import field_to_marcxml
from gateway.rules.alma import LOCAL_FIELD_MAP, staleness_field

# Codes whose LOW or SID puts a record into a named OAI-PMH set (gateway/oai_sets.py:
# fennica/viola need LOW FIKKA, musa LOW MUSA, helmet SID $b helme): adding them changes the
# record's set terms, which only the full path computes.
SET_LOW_CODES = frozenset({"FIKKA", "MUSA"})
SET_SID_CODES = frozenset({"HELME"})

_RECORD_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
_HEAD_LENGTH = len(_RECORD_START) + 24 + len(b"</leader>")
_RECORD_END = b"</record>"
# One field of the compact form; values hold no `<` (it is escaped), so a match is a field.
_FIELD = re.compile(
    rb'<controlfield tag="([^"&]*)">[^<]*</controlfield>'
    rb'|<datafield tag="([^"&]*)" ind1="[^"]*" ind2="[^"]*">'
    rb'(?:<subfield code="[^"]*">[^<]*</subfield>)*</datafield>'
)
_SUBFIELD = re.compile(rb'<subfield code="([^"]*)">([^<]*)</subfield>')
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#9|#10|#13);")
_UNESCAPES = {
    "&amp;": "&",
    "&lt;": "<",
    "&gt;": ">",
    "&quot;": '"',
    "&#9;": "\t",
    "&#10;": "\n",
    "&#13;": "\r",
}
# Characters XML 1.0 cannot carry: the full save raises on them, so the splice must not pass.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Tags the fin01alma view exchanges (019 <-> 920 …) or may rewrite (6XX); every other field of
# the view is the fin01 field's very bytes.
_EXCHANGE = {
    **{m.encode(): a.encode() for m, a in LOCAL_FIELD_MAP.items()},
    **{a.encode(): m.encode() for m, a in LOCAL_FIELD_MAP.items()},
}
_ALEPH_TAIL = (b"CAT", b"LOW")


class _Decline(Exception):
    """The stored record is not in a shape the splice can prove; take the full path."""


@dataclass(frozen=True, slots=True)
class SaveStamp:
    """What every record saved at one moment by one user gets: its 005 and its CAT."""

    field_005: bytes
    cat: bytes
    cat_key: tuple[str, str]

    @classmethod
    def of(cls, user: str, level: int | str, when: datetime) -> SaveStamp:
        """`when` as the full save takes it (aware, UTC): 005 in UTC, CAT in Finnish time."""
        cat = append_cat(pymarc.Record(), user, level, when)
        return cls(
            field_005=_control(b"005", when.strftime("%Y%m%d%H%M%S.0").encode()),
            cat=field_to_marcxml(cat).encode("utf-8"),
            cat_key=(_first_value(cat, "c"), _first_value(cat, "h")),
        )


@dataclass(frozen=True, slots=True)
class Spliced:
    """Both views after the save, and the index terms the record gains (it loses none)."""

    xml: bytes
    alma_xml: bytes
    added_terms: frozenset[tuple[int, str]]


def add_low_sid(
    xml: bytes,
    alma_xml: bytes,
    *,
    record_id: int,
    code: str,
    sid_code: str,
    local_id: str | None,
    stamp: SaveStamp,
    old_version: int,
    new_version: int,
) -> Spliced | None:
    """Add LOW `code` (and `SID $c local_id $b sid_code` when `local_id`) to a live stored
    record as a full save by `stamp`'s user would; None when the splice cannot be sure."""
    try:
        return _add_low_sid(
            xml,
            alma_xml,
            record_id=record_id,
            code=code,
            sid_code=sid_code,
            local_id=local_id,
            stamp=stamp,
            old_version=old_version,
            new_version=new_version,
        )
    except (_Decline, UnicodeError):
        return None


def split_fields(xml: bytes) -> tuple[bytes, list[bytes], list[bytes]]:
    """(head up to `</leader>`, field texts, their tags; a controlfield's tag is prefixed
    with `=` so it never passes for a datafield). Raises _Decline on any other form."""
    if not xml.startswith(_RECORD_START) or not xml.endswith(_RECORD_END):
        raise _Decline
    head = xml[:_HEAD_LENGTH]
    if not head.endswith(b"</leader>"):
        raise _Decline
    leader = head[len(_RECORD_START) : len(_RECORD_START) + 24]
    # `^` and escapes in a leader are rewritten on reading: the full save would change them
    if b"^" in leader or b"&" in leader or b"<" in leader:
        raise _Decline
    end = len(xml) - len(_RECORD_END)
    fields: list[bytes] = []
    tags: list[bytes] = []
    at = _HEAD_LENGTH
    match = _FIELD.match
    while at < end:
        found = match(xml, at, end)
        if found is None:
            raise _Decline
        control, data = found.group(1, 2)
        if control is not None:
            tags.append(b"=" + control)
        elif b"=" in data:
            raise _Decline  # would pass for a controlfield's tag below
        else:
            tags.append(data)
        fields.append(found.group())
        at = found.end()
    return head, fields, tags


def _control(tag: bytes, value: bytes) -> bytes:
    return b'<controlfield tag="' + tag + b'">' + value + b"</controlfield>"


def _first_value(field: pymarc.Field, code: str) -> str:
    for sub_code, value in field.subfields:
        if sub_code == code:
            return str(value)
    return ""


def _unescape(value: bytes) -> str:
    text = value.decode("utf-8")
    if "&" not in text:
        return text
    if "&" in _ENTITY.sub("", text):
        raise _Decline  # a reference the compact writer never makes
    return _ENTITY.sub(lambda m: _UNESCAPES[m.group()], text)


def _subfields(field: bytes) -> list[tuple[bytes, str]]:
    return [(code, _unescape(value)) for code, value in _SUBFIELD.findall(field)]


def _first(subfields: list[tuple[bytes, str]], code: bytes) -> str:
    for sub_code, value in subfields:
        if sub_code == code:
            return value
    return ""


def _check_identity(fields: list[bytes], tags: list[bytes], record_id: int) -> None:
    """001, 003 and 035 must be what `set_melinda_id` would leave untouched."""
    padded = f"{record_id:09d}".encode()
    for tag, wanted in ((b"001", padded), (b"003", MELINDA_ORG.encode())):
        first = next((i for i, t in enumerate(tags) if t in (tag, b"=" + tag)), None)
        if first is None or fields[first] != _control(tag, wanted):
            raise _Decline
    canonical = (
        b'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">'
        + MELINDA_PREFIX.encode()
        + padded
        + b"</subfield></datafield>"
    )
    touched = 0
    for field, tag in zip(fields, tags, strict=True):
        if tag != b"035":
            continue
        if any(
            code == b"a" and parse_melinda_035(value) is not None
            for code, value in _subfields(field)
        ):
            touched += 1
            if field != canonical:
                raise _Decline
    if touched != 1:
        raise _Decline


def _alma_pairs(
    x_fields: list[bytes],
    x_tags: list[bytes],
    alma_xml: bytes,
    head: bytes,
    record_id: int,
    old_version: int,
) -> tuple[list[bytes], int]:
    """The view's text of each fin01 field, and where the staleness 024 stands (its index
    among the fin01 fields: it precedes that field, or ends the record)."""
    a_head, a_fields, _a_tags = split_fields(alma_xml)
    if a_head != head or len(a_fields) != len(x_fields) + 1:
        raise _Decline
    anchor = len(x_fields)
    for index, tag in enumerate(x_tags):
        # the view's tag (019 shows as 920 …), control fields included, as the view counts
        view_tag = _EXCHANGE.get(tag.removeprefix(b"="), tag.removeprefix(b"="))
        if len(view_tag) == 3 and view_tag.isdigit() and view_tag >= b"024":
            anchor = index
            break
    staleness = field_to_marcxml(staleness_field(record_id, old_version)).encode()
    if a_fields[anchor] != staleness:
        raise _Decline
    pairs = a_fields[:anchor] + a_fields[anchor + 1 :]
    for x_field, a_field, tag in zip(x_fields, pairs, x_tags, strict=True):
        rewritten = tag.startswith(b"6") or tag.removeprefix(b"=") in _EXCHANGE
        if x_field != a_field and not rewritten:
            raise _Decline  # the view was not made from this record as the rules make it
    return pairs, anchor


def _add_low_sid(
    xml: bytes,
    alma_xml: bytes,
    *,
    record_id: int,
    code: str,
    sid_code: str,
    local_id: str | None,
    stamp: SaveStamp,
    old_version: int,
    new_version: int,
) -> Spliced:
    low_code = code.strip().upper()
    if not low_code or low_code in SET_LOW_CODES:
        raise _Decline
    if local_id and (not sid_code.strip() or sid_code.strip().upper() in SET_SID_CODES):
        raise _Decline
    head, fields, tags = split_fields(xml)
    if head[len(_RECORD_START) + 5 : len(_RECORD_START) + 6] == b"d":
        raise _Decline  # a deleted record leaves the indexes: the full path knows how
    _check_identity(fields, tags, record_id)

    first_005 = next((i for i, t in enumerate(tags) if t in (b"005", b"=005")), None)
    if first_005 is None or tags[first_005] != b"=005":
        raise _Decline

    # Aleph order: every other field, then CATs sorted by ($c, $h), then LOWs.
    tail = next((i for i, t in enumerate(tags) if t in _ALEPH_TAIL), len(tags))
    cat_keys: list[tuple[str, str]] = []
    lows_from = len(tags)
    for index in range(tail, len(tags)):
        tag = tags[index]
        if tag == b"CAT":
            if lows_from < len(tags):
                raise _Decline
            subfields = _subfields(fields[index])
            cat_keys.append((_first(subfields, b"c"), _first(subfields, b"h")))
        elif tag == b"LOW":
            lows_from = min(lows_from, index)
            held = _first(_subfields(fields[index]), b"a").strip()
            if held and held.upper() == low_code:
                raise _Decline  # the LOW is there: nothing or only a SID to add
        else:
            raise _Decline
    if cat_keys != sorted(cat_keys):
        raise _Decline

    last_sid: int | None = None
    sid_b = sid_code.strip().lower()
    for index in range(tail):
        tag = tags[index]
        if tag in (b"STA", b"=STA", b"=CAT", b"=LOW", b"=SID"):
            raise _Decline  # deletion marks and system fields in an odd form: full path
        if tag == b"SID":
            last_sid = index
            if local_id and _first(_subfields(fields[index]), b"b").strip().lower() == sid_b:
                raise _Decline  # the library's SID is replaced, not added

    pairs, anchor = _alma_pairs(fields, tags, alma_xml, head, record_id, old_version)

    added: set[tuple[int, str]] = {(IX_LOW, fold(low_code).strip())}
    new_low = _field_bytes("LOW", [("a", low_code)])
    new_sid = b""
    if local_id:
        new_sid = _field_bytes("SID", [("c", local_id), ("b", sid_code)])
        added.add((IX_SOURCEID, sourceid_key(local_id, sid_code)))

    # Positions in the stored field list (the SID and CAT go before what stands there).
    sid_at = (last_sid + 1 if last_sid is not None else tail) if new_sid else -1
    cat_at = tail + bisect.bisect_right(cat_keys, stamp.cat_key)
    x_out: list[bytes] = [head]
    a_out: list[bytes] = [head]
    new_staleness = field_to_marcxml(staleness_field(record_id, new_version)).encode()
    for index, (x_field, a_field) in enumerate(zip(fields, pairs, strict=True)):
        if index == sid_at:
            x_out.append(new_sid)
            a_out.append(new_sid)
        if index == cat_at:
            x_out.append(stamp.cat)
            a_out.append(stamp.cat)
        if index == anchor:  # right before the first field tagged 024 or higher
            a_out.append(new_staleness)
        if index == first_005:
            x_field = a_field = stamp.field_005
        x_out.append(x_field)
        a_out.append(a_field)
    end = len(fields)
    if sid_at == end:
        x_out.append(new_sid)
        a_out.append(new_sid)
    if cat_at == end:
        x_out.append(stamp.cat)
        a_out.append(stamp.cat)
    x_out.append(new_low)
    a_out.append(new_low)
    if anchor == end:
        a_out.append(new_staleness)
    x_out.append(_RECORD_END)
    a_out.append(_RECORD_END)
    return Spliced(b"".join(x_out), b"".join(a_out), frozenset(added))


def _field_bytes(tag: str, subfields: list[tuple[str, str]]) -> bytes:
    """A new Aleph field exactly as the full save writes it; declines what XML cannot carry."""
    if any(_XML_ILLEGAL.search(value) for _, value in subfields):
        raise _Decline
    field = pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(" ", " "),
        subfields=[pymarc.Subfield(code, value) for code, value in subfields],
    )
    return field_to_marcxml(field).encode("utf-8")
