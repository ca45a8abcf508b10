"""Byte-level edits of a stored ISO 2709 record that mirror whole-field edits of its compact MARCXML.

The store keeps each fin01 record's ISO 2709 form (`marcxml_to_iso2709` of its MARCXML) so
that Z39.50 Present needs no conversion. When a save edits the MARCXML at field boundaries
(LOW publishing's splice: 005 replaced, a SID replaced or inserted, a CAT and a LOW inserted),
the ISO 2709 form changes in the same fields: their bodies come from converting just the new
fields (with the conversion's own code), the other fields' bytes stay, and the directory's
lengths and offsets and the leader's record length and base address are computed again. The result is byte for byte
`marcxml_to_iso2709` of the edited MARCXML; `None` whenever that cannot be shown cheaply
(the caller then converts the whole record).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from gateway.records.iso2709 import (
    FIELD_TERMINATOR,
    RECORD_TERMINATOR,
    compact_field_to_iso2709,
)

_RECORD_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
_HEAD_LENGTH = len(_RECORD_START) + 24 + len(b"</leader>")
_RECORD_END = b"</record>"
_CONTROL_END = b"</controlfield>"
_DATA_END = b"</datafield>"
_CONTROL_TAG = b'<controlfield tag="'
_DATA_TAG = b'<datafield tag="'
_MAX_LENGTH = 99999  # five digits in the leader and in a directory offset
_FIELD_TERMINATOR = FIELD_TERMINATOR[0]
_RECORD_TERMINATOR = RECORD_TERMINATOR[0]


def _fields_in(xml: bytes, start: int, stop: int) -> int:
    """How many fields of the compact form end between two field boundaries."""
    return xml.count(_CONTROL_END, start, stop) + xml.count(_DATA_END, start, stop)


def _tag_at(xml: bytes, at: int) -> bytes:
    """The tag of the compact field starting at `at` (b"" when none starts there)."""
    if xml.startswith(_DATA_TAG, at):
        return xml[at + 16 : at + 19]
    if xml.startswith(_CONTROL_TAG, at):
        return xml[at + 19 : at + 22]
    return b""


def splice_iso2709(
    iso: bytes | None, xml: bytes, edits: Sequence[tuple[int, int, bytes]]
) -> bytes | None:
    """`marcxml_to_iso2709` of `xml` with `edits` applied, made from `iso` (that of `xml`).

    `edits`: (start, stop, new fields) in order, not overlapping: the compact MARCXML of the
    fields that take the place of `xml[start:stop]`, whose ends are field boundaries of `xml`
    (a record in the store's compact form); each replaces one field at most. None when `iso`
    does not fit `xml` as expected, or when the result would not be what the whole conversion
    gives.
    """
    if iso is None:
        return None
    try:
        return _splice(iso, xml, edits)
    except (ValueError, IndexError):
        return None  # not the form expected


def _splice(iso: bytes, xml: bytes, edits: Sequence[tuple[int, int, bytes]]) -> bytes | None:
    size = len(iso)
    if size < 25 or int(iso[:5]) != size or iso[-1] != _RECORD_TERMINATOR:
        return None
    base = int(iso[12:17])
    if base < 25 or (base - 25) % 12 or iso[base - 1] != _FIELD_TERMINATOR:
        return None
    count = (base - 25) // 12
    if not (xml.startswith(_RECORD_START) and xml.endswith(_RECORD_END)):
        return None
    directory = iso[24 : base - 1]
    # the pieces of the new record: head, directory entries, terminator, then field bodies
    entries: list[bytes] = [b""]
    pieces: list[bytes] = [FIELD_TERMINATOR]
    field = 0  # the next old field not yet taken
    taken = base  # where it starts in `iso`
    at = _HEAD_LENGTH  # and in `xml`
    shift = 0  # new offset minus old offset of the fields kept from here on
    for start, stop, text in edits:
        if start < at or stop < start:
            return None
        first = field + _fields_in(xml, at, start)  # the first field the edit replaces
        if first > count:
            return None
        # the kept fields before the edit: their bytes, their entries shifted
        keep_entries(directory, field, first, shift, entries)
        begins = _start(iso, first, count, base)
        pieces.append(iso[taken:begins])
        new_offset = begins - base + shift
        if stop > start:
            if _fields_in(xml, start, stop) != 1 or first == count:
                return None  # an edit replaces one whole field at most
            if directory[first * 12 : first * 12 + 3] != _tag_at(xml, start):
                return None  # what goes must be the field the MARCXML loses
            field = first + 1
            taken = _start(iso, field, count, base)
            if taken - begins != int(directory[first * 12 + 3 : first * 12 + 7]):
                return None  # the fields do not follow each other as the conversion lays them
            shift -= taken - begins
        else:
            field, taken = first, begins
        if text:  # one field, made by the whole conversion's own code
            made = field_iso2709(text)
            if made is None:
                return None  # a field the conversion takes the long way: it converts it all
            tag, body = made
            entries.append(b"%s%04d%05d" % (tag, len(body), new_offset))
            pieces.append(body)
            shift += len(body)
        at = stop
    if field + _fields_in(xml, at, len(xml)) != count:
        return None  # the stored form has not the record's fields
    keep_entries(directory, field, count, shift, entries)
    pieces.append(iso[taken:])  # the rest, and the record terminator
    new_base = 25 + sum(map(len, entries))
    length = size - base + new_base + shift
    if length > _MAX_LENGTH:
        return None  # the whole conversion refuses it: the caller learns so from it
    # the leader is the record's, unchanged by field edits: only its two numbers change
    entries[0] = b"%05d%s%05d%s" % (length, iso[5:12], new_base, iso[17:24])
    entries.extend(pieces)
    return b"".join(entries)


def _start(iso: bytes, field: int, count: int, base: int) -> int:
    """Where field number `field` of `iso` starts (after the last: its record terminator)."""
    if field == count:
        return len(iso) - 1
    at = 24 + field * 12
    return base + int(iso[at + 7 : at + 12])


# The 005, CAT and LOW a publication gives every record are the same bytes: made once (and
# the tails' fields, which repeat across records: gateway/records/tails.py).
field_iso2709 = functools.lru_cache(maxsize=4096)(compact_field_to_iso2709)


def keep_entries(
    directory: bytes, first: int, last: int, shift: int, entries: list[bytes]
) -> None:
    """Old directory entries `first` to `last` (not included), their offsets moved by `shift`."""
    if not shift:
        entries.append(directory[first * 12 : last * 12])
        return
    entries.extend(
        [
            directory[at : at + 7] + b"%05d" % (int(directory[at + 7 : at + 12]) + shift)
            for at in range(first * 12, last * 12, 12)
        ]
    )
