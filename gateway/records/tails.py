"""A stored record split in two: its body, and the tail a LOW change rewrites.

A LOW-publishing file changes, in each record it touches, only its 005, its trailing Aleph
fields (SID, CAT, LOW) and the fin01alma view's staleness `024 $d`. The SQLite store keeps
each record's forms (fin01 and fin01alma MARCXML, ISO 2709, the OAI-PMH marc21 form) as a
body that such a change leaves alone, and beside it, in the narrow catalog row, the tail: the
fields from the record's first SID (or its first CAT or LOW) to its end, in MARCXML and in
ISO 2709, and the 005 stamp when it is newer than the body's. A publication then rewrites a
few hundred bytes a record instead of some fifteen thousand, and a read joins the two, which
costs a few copies of the record's bytes.

A record is split when it is in the shape a save leaves it in (`gateway.records.splice`
proves the same conditions before it edits stored bytes): 001/003/035 as the save makes
them, a 16-character 005, the Aleph fields last, the fin01alma view ending in the same bytes
from the first SID on. Anything else is stored whole, and a LOW change takes the full save.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.records import splice
from gateway.records.iso2709 import FIELD_TERMINATOR, RECORD_TERMINATOR
from gateway.records.iso_splice import field_iso2709, keep_entries
from gateway.records.oai_forms import sets_after_low_added
from gateway.records.stamps import staleness_stamp

_RECORD_END = b"</record>"
_CONTROL_005 = b'<controlfield tag="005">'
_STAMP_LENGTH = 16  # `YYYYMMDDhhmmss.0`, as every save writes it
_DATA_END = b"</datafield>"
_MAX_LENGTH = 99999  # five digits in the leader and in a directory offset
_TAGS = re.compile(rb'<(?:data|control)field tag="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Cuts:
    """Where a record's forms split into body and tail. The fin01alma view ends in the same
    bytes as the fin01 record from `xml` on: its cut is as far from its end.

    `iso_fields` < 0: no ISO 2709 form to split (none, or not laid out as expected)."""

    xml: int  # the tail's start in `xml`; it runs to `</record>`
    iso_fields: int = -1  # directory entries of the body
    iso_data: int = 0  # where the tail's field data start, from the base address


@dataclass(frozen=True, slots=True)
class Split:
    """What the store keeps of a split record: bodies in the wide table, tails in the row."""

    xml: bytes
    alma_xml: bytes
    iso: bytes | None
    tail: bytes
    iso_tail: bytes | None


def cuts(
    record_id: int, version: int, xml: bytes, alma_xml: bytes, iso: bytes | None
) -> Cuts | None:
    """Where to split a live record's forms as a save made them; None to keep them whole."""
    staleness = splice.staleness_field(record_id, version)
    at = alma_xml.find(staleness)
    if at < 0:
        return None
    shared_from = splice.tail_start(xml, record_id, alma_xml[:at], alma_xml[at + len(staleness) :])
    return None if shared_from is None else cuts_at(shared_from, xml, iso)


def cuts_at(shared_from: int, xml: bytes, iso: bytes | None) -> Cuts:
    """The cuts of a record whose tail starts at `shared_from` (`splice.tail_start`), with
    its ISO 2709 form's when it is laid out as the conversion lays it."""
    whole = Cuts(shared_from)
    if iso is None:
        return whole
    try:
        base = int(iso[12:17])
        if int(iso[:5]) != len(iso) or iso[base - 1] != FIELD_TERMINATOR[0] or (base - 25) % 12:
            return whole
        tags = _TAGS.findall(xml, shared_from)
        body_fields = (base - 25) // 12 - len(tags)
        stop = 24 + body_fields * 12
        if body_fields < 1 or [iso[at : at + 3] for at in range(stop, base - 1, 12)] != tags:
            return whole  # the stored form has not the record's fields
        data = int(iso[stop + 7 : stop + 12]) if tags else len(iso) - 1 - base
        if _005_entry(iso[24:stop]) is None:
            return whole
    except (ValueError, IndexError):
        return whole
    return Cuts(shared_from, body_fields, data)


def split(xml: bytes, alma_xml: bytes, iso: bytes | None, at: Cuts) -> Split:
    """The bodies and tails of forms cut at `at` (see `cuts`)."""
    end = len(xml) - len(_RECORD_END)
    body_iso: bytes | None = None
    iso_tail: bytes | None = None
    if iso is not None and at.iso_fields >= 0:
        base = int(iso[12:17])
        stop = 24 + at.iso_fields * 12
        body_iso = iso[:stop] + FIELD_TERMINATOR + iso[base : base + at.iso_data]
        iso_tail = (
            b"%05d%05d" % (at.iso_data, at.iso_fields)
            + iso[stop : base - 1]
            + FIELD_TERMINATOR
            + iso[base + at.iso_data : -1]
        )
    return Split(
        xml[: at.xml],
        alma_xml[: len(alma_xml) - (len(xml) - at.xml)],
        body_iso,
        xml[at.xml : end],
        iso_tail,
    )


# A tail a LOW addition read: (MARCXML tail, ISO 2709 tail, stored OAI-PMH set specs)
TailForms = tuple[bytes, bytes, str]
# What the addition made of it: the three forms again, the index terms gained and lost
TailEdit = tuple[bytes, bytes | None, str, frozenset[tuple[int, str]], frozenset[tuple[int, str]]]


def add_low_sid_tails(
    forms: Sequence[TailForms],
    local_ids: Sequence[str | None],
    *,
    code: str,
    sid_code: str,
    stamp: splice.SaveStamp,
) -> list[TailEdit | None]:
    """LOW `code` (and each record's SID) added to records' tails, all their forms: None
    for a record the splice declines. Pure and made of plain values, so a publication can
    run it in a process of its own (`gateway.catalog.editing`)."""
    low = code.strip().upper()
    edited: list[TailEdit | None] = []
    for (tail, iso_tail, sets), local_id in zip(forms, local_ids, strict=True):
        spliced = splice.add_low_sid_tail(
            tail, code=code, sid_code=sid_code, local_id=local_id, stamp=stamp
        )
        if spliced is None:
            edited.append(None)
            continue
        edited.append(
            (
                spliced.tail,
                iso_tail_after(tail, iso_tail, spliced.edits),
                sets_after_low_added(sets, low),
                spliced.added_terms,
                spliced.removed_terms,
            )
        )
    return edited


def iso_tail_after(
    tail: bytes, iso_tail: bytes | None, edits: Sequence[tuple[int, int, bytes]]
) -> bytes | None:
    """The ISO 2709 tail after `edits` of the MARCXML `tail` it was made from (see
    `splice.add_low_sid_tail`: whole fields inserted, or one field replaced): the kept
    fields' bytes and entries (shifted), the new fields converted. None when there is none,
    when it does not fit `tail`, or when the whole record would outgrow ISO 2709's lengths."""
    if iso_tail is None:
        return None
    try:
        data_at, body_fields = int(iso_tail[:5]), int(iso_tail[5:10])
        ft = iso_tail.index(FIELD_TERMINATOR[0], 10)
        directory = iso_tail[10:ft]
        data = memoryview(iso_tail)[ft + 1 :]
        count = len(directory) // 12
        if tail.count(_DATA_END) != count:
            return None

        def starts(field: int) -> int:  # where field number `field` starts in `data`
            if field == count:
                return len(data)
            return int(directory[field * 12 + 7 : field * 12 + 12]) - data_at

        entries: list[bytes] = [iso_tail[:10]]
        pieces: list[bytes | memoryview] = [FIELD_TERMINATOR]
        field = taken = shift = 0
        for start, stop, text in sorted(edits):
            if start and not tail.startswith(_DATA_END, start - len(_DATA_END)):
                return None  # not at a field boundary
            first = tail.count(_DATA_END, 0, start)
            if first < field:
                return None
            keep_entries(directory, field, first, shift, entries)
            begins = starts(first)
            pieces.append(data[taken:begins])
            offset = data_at + begins + shift
            if stop > start:  # it replaces one whole field
                if first == count or tail.count(_DATA_END, start, stop) != 1:
                    return None
                if not tail.startswith(_DATA_END, stop - len(_DATA_END)):
                    return None
                field = first + 1
                taken = starts(field)
                shift -= taken - begins
            else:
                field, taken = first, begins
            if text:
                made = _sid_iso2709(text) or field_iso2709(text)
                if made is None:
                    return None
                tag, body = made
                entries.append(b"%s%04d%05d" % (tag, len(body), offset))
                pieces.append(body)
                shift += len(body)
        keep_entries(directory, field, count, shift, entries)
        pieces.append(data[taken:])
    except (ValueError, IndexError):
        return None
    fields = (sum(map(len, entries)) - 10) // 12
    if 25 + 12 * (body_fields + fields) + data_at + len(data) + shift + 1 > _MAX_LENGTH:
        return None
    return b"".join([*entries, *pieces])


_SID_HEAD = b'<datafield tag="SID" ind1=" " ind2=" "><subfield code="c">'
_SID_MIDDLE = b'</subfield><subfield code="b">'
_SID_END = b"</subfield></datafield>"


def _sid_iso2709(text: bytes) -> tuple[bytes, bytes] | None:
    """`field_iso2709` of a publication's `SID $c LOCAL $b code` with nothing escaped in it,
    without the conversion's parse: each record's is new, so no cache holds it."""
    if not text.startswith(_SID_HEAD) or not text.endswith(_SID_END) or b"&" in text:
        return None
    middle = text.find(_SID_MIDDLE, len(_SID_HEAD))
    if middle < 0 or text.count(b"<", len(_SID_HEAD)) != 4:  # two subfields, nothing else
        return None
    local, code = text[len(_SID_HEAD) : middle], text[middle + len(_SID_MIDDLE) : -len(_SID_END)]
    return b"SID", b"".join((b"  \x1fc", local, b"\x1fb", code, FIELD_TERMINATOR))


def _005_entry(directory: bytes) -> int | None:
    """The data offset of the first 005 in a directory, when it is a stamp's length."""
    for at in range(0, len(directory), 12):
        if directory[at : at + 3] == b"005":
            if directory[at + 3 : at + 7] != b"%04d" % (_STAMP_LENGTH + 1):
                return None
            return int(directory[at + 7 : at + 12])
    return None


def join_xml(body: bytes, tail: bytes, stamp: bytes | None) -> bytes:
    """A MARCXML view (fin01) from its body and tail (one copy of the bytes)."""
    if stamp is None:
        return b"".join((body, tail, _RECORD_END))
    at = body.find(_CONTROL_005) + len(_CONTROL_005)
    return b"".join((body[:at], stamp, body[at + _STAMP_LENGTH :], tail, _RECORD_END))


def join_alma(body: bytes, tail: bytes, stamp: bytes | None, record_id: int, version: int) -> bytes:
    """The fin01alma view: a stamped body also has its staleness 024 say `version`."""
    if stamp is None:
        return b"".join((body, tail, _RECORD_END))
    at = body.find(_CONTROL_005) + len(_CONTROL_005)
    head = splice.STALENESS_HEAD % record_id
    found = body.find(head, at)
    if found < 0:  # (a split view always has it: `splice.tail_start`)
        return b"".join((body[:at], stamp, body[at + _STAMP_LENGTH :], tail, _RECORD_END))
    found += len(head)
    stop = body.index(b"</subfield>", found)
    return b"".join(
        (
            body[:at],
            stamp,
            body[at + _STAMP_LENGTH : found],
            staleness_stamp(version).encode(),
            body[stop:],
            tail,
            _RECORD_END,
        )
    )


def join_iso(body: bytes | None, iso_tail: bytes | None, stamp: bytes | None) -> bytes | None:
    """The ISO 2709 form from its body and tail; None when either is missing."""
    if body is None or iso_tail is None:
        return None
    ft = FIELD_TERMINATOR[0]
    body_ft = body.index(ft, 24)
    tail_ft = iso_tail.index(ft, 10)
    base = body_ft + 1 + tail_ft - 10
    length = base + len(body) - body_ft - 1 + len(iso_tail) - tail_ft - 1 + 1
    at = _005_entry(body[24:body_ft]) if stamp is not None else None
    if at is None:
        data: tuple[bytes, ...] = (body[body_ft + 1 :],)
    else:
        at += body_ft + 1
        data = (body[body_ft + 1 : at], stamp or b"", body[at + _STAMP_LENGTH :])
    return b"".join(
        (
            b"%05d" % length,
            body[5:12],
            b"%05d" % base,
            body[17:body_ft],
            iso_tail[10:tail_ft],
            FIELD_TERMINATOR,
            *data,
            iso_tail[tail_ft + 1 :],
            RECORD_TERMINATOR,
        )
    )


def join_marc21(body: bytes | None, stamp: bytes | None) -> bytes | None:
    """The OAI-PMH marc21 form: a LOW change alters nothing it sends but the 005."""
    if body is None or stamp is None:
        return body
    at = body.find(_CONTROL_005)
    if at < 0:
        return body
    at += len(_CONTROL_005)
    return body[:at] + stamp + body[at + _STAMP_LENGTH :]
