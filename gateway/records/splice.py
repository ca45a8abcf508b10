"""Byte-level edits of a stored record's compact MARCXML that give exactly what a full save would.

A LOW-publishing file mostly adds one library's LOW and SID to records that change in no other
way. The full save parses the stored record, edits it, stamps it (001/003/035, 005, a CAT,
Aleph field order) and serialises both views again: about a millisecond per record. When the
stored record is already in the shape that save leaves it in, the save's result is known
field by field, so `add_low_sid` edits the stored bytes of both views (the fin01 `xml` and the
fin01alma `alma_xml`) directly, and says `None` whenever it cannot prove the result equal to the
full save's: the caller then takes the full path.

What a full save of an addition does, and how the splice mirrors it:
- `add_low`: `LOW $a CODE` after the last LOW (the record's last field, in Aleph order),
  unless the record has that LOW;
- `set_sid`: `SID $c LOCAL $b code` in place of the library's first SID (its other SIDs go),
  else after the last SID, else before the first CAT or LOW;
- `set_melinda_id`: nothing, when 001, 003 and the one Melinda-form 035 already say the id;
- `_stamp_005`: the first 005 gets the save time;
- `append_cat` then `order_aleph_fields`: the new CAT lands after every CAT whose ($c, $h) is
  not later than its own (a stable sort of CATs that were sorted already);
- fin01alma view: the same edits (LOW, SID, CAT and 005 are fields the view passes unchanged)
  and the staleness `024 8_ $a ID $d STAMP` gets the new version's stamp.
The index gains (LOW, code) and (source id, local id + code) and loses only the source ids
of replaced SIDs; set membership changes only for the LOW and SID codes Melinda's sets are
defined by, and for those the splice declines. A deleted record is edited the same way and
stays deleted: out of the indexes (no terms change) and out of the OAI-PMH forms.

The splice relies on the store's invariants: `xml` is what `record_to_marcxml` writes (so
reading and writing it again gives the same bytes) and `alma_xml` is the fin01alma view of
it at the row's version; the fields a save touches are checked against both.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pymarc

from gateway.indexing import IX_LOW, IX_SOURCEID, fold, sourceid_key
from gateway.records.aleph import MELINDA_ORG, MELINDA_PREFIX, append_cat, parse_melinda_035
from gateway.records.iso_splice import splice_iso2709
from gateway.records.marcxml import field_to_marcxml
from gateway.records.stamps import staleness_stamp

# Codes whose LOW or SID puts a record into a named OAI-PMH set (gateway/oai_sets.py:
# fennica/viola need LOW FIKKA, musa LOW MUSA, helmet SID $b helme): adding them changes the
# record's set terms, which only the full path computes.
SET_LOW_CODES = frozenset({"FIKKA", "MUSA"})
SET_SID_CODES = frozenset({"HELME"})

_RECORD_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
_HEAD_LENGTH = len(_RECORD_START) + 24 + len(b"</leader>")
_RECORD_END = b"</record>"
_A, _B, _C, _H = b"abch"  # subfield codes as bytes items
_DATAFIELD = rb'ind1="[^"]*" ind2="[^"]*">(?:<subfield code="[^"]*">[^<]*</subfield>)*</datafield>'
# The Aleph fields that end a record in a save's order: CATs, then LOWs.
_TAIL = re.compile(
    rb'(?:<datafield tag="CAT" ' + _DATAFIELD + rb')*(?:<datafield tag="LOW" ' + _DATAFIELD + rb")*"
)


def _first_in(tag: bytes, code: bytes) -> re.Pattern[bytes]:
    """The first `code` subfield of each `tag` datafield (one that has none is skipped)."""
    return re.compile(
        b'<datafield tag="' + tag + b'" ind1="[^"]*" ind2="[^"]*">'
        b'(?:<subfield code="(?!' + code + b'")[^"]*">[^<]*</subfield>)*'
        b'<subfield code="' + code + b'">([^<]*)</subfield>'
    )


# The ($c, $h) of each CAT, in one pass: the first $c, then the first $h after it. A CAT with
# an $h before its first $c (or without either) gives none: the counts then differ, and the
# splice declines.
_CAT_KEY = re.compile(
    rb'<datafield tag="CAT" ind1="[^"]*" ind2="[^"]*">'
    rb'(?:<subfield code="[^ch"]*">[^<]*</subfield>)*'
    rb'<subfield code="c">([^<]*)</subfield>'
    rb'(?:<subfield code="[^h"]*">[^<]*</subfield>)*'
    rb'<subfield code="h">([^<]*)</subfield>'
)
_LOW_A = _first_in(b"LOW", b"a")
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

    @classmethod
    def at(cls, user: str, level: int | str, seconds: int) -> SaveStamp:
        """What everything `user` saves at `seconds` (epoch, the catalog's clock) is stamped."""
        return cls.of(user, level, datetime.fromtimestamp(seconds, UTC))

    @property
    def value_005(self) -> bytes:
        """The 005's value alone."""
        return self.field_005[len(b'<controlfield tag="005">') : -len(b"</controlfield>")]


@dataclass(frozen=True, slots=True)
class Spliced:
    """Both views after the save, and the index terms the record gains and loses.

    `iso2709`: the fin01 view's ISO 2709 form spliced from the stored one, None when there
    was none or it could not be spliced (the caller converts the new `xml` instead)."""

    xml: bytes
    alma_xml: bytes
    added_terms: frozenset[tuple[int, str]]
    removed_terms: frozenset[tuple[int, str]]
    iso2709: bytes | None = None


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
    iso2709: bytes | None = None,
    deleted: bool = False,
) -> Spliced | None:
    """Add LOW `code` (and `SID $c local_id $b sid_code` when `local_id`) to a stored record
    as a full save by `stamp`'s user would; None when the splice cannot be sure.
    `iso2709`: the stored ISO 2709 form of `xml`, edited in the same fields; `deleted`: the
    store holds the record as deleted (it stays so, out of the indexes: no terms change)."""
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
            iso2709=iso2709,
            deleted=deleted,
        )
    except (_Decline, UnicodeError):
        return None


@dataclass(frozen=True, slots=True)
class TailSpliced:
    """A record's tail after a LOW addition, and the index terms it gains and loses."""

    tail: bytes
    added_terms: frozenset[tuple[int, str]]
    removed_terms: frozenset[tuple[int, str]]
    edits: tuple[tuple[int, int, bytes], ...]  # (start, stop, new fields) in the old tail


def tail_start(xml: bytes, record_id: int, view_head: bytes, view_tail: bytes) -> int | None:
    """Where a saved record's tail starts (its first SID, else its first CAT or LOW, else its
    end) when a LOW addition to it can be made on the tail alone (`add_low_sid_tail`): the
    record in the shape a save leaves it in, a 16-character 005 before the tail, and its
    fin01alma view (`view_head`, the staleness 024, `view_tail`) the same bytes to the 005
    and from the tail on; None otherwise."""
    try:
        scan = _scan(xml)
        _check_identity(xml, scan, record_id)
        at = scan.controls.get(b"005", -1)
        if at < 0 or not xml.startswith(b"</controlfield>", at + 24 + 16):
            return None
        # the CATs and LOWs in a save's shape: a tail edit keeps them so (`checked` then)
        if not _in_save_order(xml, scan.tail, scan.end):
            return None
    except (_Decline, UnicodeError, ValueError):
        return None
    shared_from = scan.sids[0][0] if scan.sids else scan.tail
    stop_005 = at + 24 + 16 + 15
    if (
        len(view_head) >= stop_005
        and view_head[:stop_005] == xml[:stop_005]
        and len(view_tail) >= len(xml) - shared_from
        and view_tail.endswith(memoryview(xml)[shared_from:])
    ):
        return shared_from
    return None


def _quick_addition(
    tail: bytes, cat_low: int, low_code: str, sid_code: str, local_id: str, stamp: SaveStamp
) -> TailSpliced | None:
    """`add_low_sid_tail` for what nearly every record of a publication is: its tail in
    ASCII, no LOW of the library and no SID of it yet, the new CAT the latest. Then the
    new SID follows the last SID, the CAT the last CAT, the LOW the last LOW, and
    `_places` need not read the tail field by field. None for anything else."""
    end = len(tail)
    lows = tail.find(b'<datafield tag="LOW" ', cat_low)
    cat_at = lows if lows >= 0 else end
    code, library = low_code.encode(), sid_code.strip().lower().encode()
    if not (tail.isascii() and code.isascii() and library.isascii()) or not library:
        return None  # (str.upper() and lower() map some letters outside ASCII into it)
    if _NEEDS_ESCAPE.search(low_code) or _NEEDS_ESCAPE.search(sid_code) or b"&" in tail:
        return None  # escaped bytes: `_places` compares the values unescaped
    if lows >= 0 and code in tail[lows:].upper():
        return None  # it may hold the LOW: `_places` reads each LOW's $a
    if library in tail[:cat_low].lower():
        return None  # it may have a SID of the library: `_places` reads each SID's $b
    last_cat = tail.rfind(b'<datafield tag="CAT" ', cat_low, cat_at)
    if last_cat >= 0:
        key = _CAT_KEY.match(tail, last_cat)
        new_key = (stamp.cat_key[0].encode(), stamp.cat_key[1].encode())
        if key is None or key.groups() > new_key:
            return None
    last_sid = tail.rfind(b'<datafield tag="SID" ', 0, cat_low)
    sid_at = cat_low if last_sid < 0 else tail.index(b"</datafield>", last_sid) + 12
    new_sid, new_low = _sid_field(local_id, sid_code), _low_field(low_code)
    return TailSpliced(
        b"".join(
            (
                tail[:sid_at],
                new_sid,
                tail[sid_at:cat_at],
                stamp.cat,
                tail[cat_at:],
                new_low,
            )
        ),
        frozenset(
            {
                (IX_LOW, fold(low_code).strip()),
                (IX_SOURCEID, sourceid_key(local_id, sid_code)),
            }
        ),
        frozenset(),
        ((sid_at, sid_at, new_sid), (cat_at, cat_at, stamp.cat), (end, end, new_low)),
    )


def staleness_field(record_id: int, version: int) -> bytes:
    """The fin01alma view's staleness `024 8_ $a ID $d STAMP`, as the writer writes it."""
    return _staleness(record_id, version)


def add_low_sid_tail(
    tail: bytes, *, code: str, sid_code: str, local_id: str | None, stamp: SaveStamp
) -> TailSpliced | None:
    """`add_low_sid` on a record's tail (`tail_start`, without `</record>`): the tail a full
    save leaves; the 005 and the view's staleness stamp are the store's to set. None when the
    splice cannot be sure, or there is nothing to change."""
    try:
        low_code, sid = _addition(code, sid_code, local_id)
        first = _TAIL_START.search(tail)
        cat_low = len(tail) if first is None else first.start()
        if local_id:
            quick = _quick_addition(tail, cat_low, low_code, sid_code, local_id, stamp)
            if quick is not None:
                return quick
        sids = []
        for found in _SID_FIELD.finditer(tail, 0, cat_low):
            sids.append((found.start(), tail.index(b"</datafield>", found.start()) + 12))
        scan = _Scan({}, [], sids, cat_low, len(tail))
        places = _places(
            tail,
            scan,
            low_code=low_code,
            sid=sid,
            cat_key=stamp.cat_key,
            with_005=False,
            checked=True,
        )
        add_low = not places.has_low
        set_sid = sid is not None and not places.sid_unchanged
        if not (add_low or set_sid):
            return None
        change = _Change.of(places, low_code, sid_code, local_id if set_sid else None, add_low)
        edits = change.edits(places, stamp, with_005=False)
        new_tail = _apply(tail, edits)  # (sorts the edits)
        return TailSpliced(
            new_tail,
            change.added,
            change.removed,
            tuple((start, stop, text) for start, _rank, stop, text in edits),
        )
    except (_Decline, UnicodeError):
        return None


def _addition(code: str, sid_code: str, local_id: str | None) -> tuple[str, tuple[str, str] | None]:
    """The LOW code and the (local id, SID code) an addition sets; decline the codes whose
    LOW or SID put a record into a named OAI-PMH set (only the full path computes those)."""
    low_code = code.strip().upper()
    if not low_code or low_code in SET_LOW_CODES:
        raise _Decline
    sid = (local_id, sid_code) if local_id else None
    if sid is not None and (not sid_code.strip() or sid_code.strip().upper() in SET_SID_CODES):
        raise _Decline
    return low_code, sid


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


_FIRST = {
    code: re.compile(b'<subfield code="' + bytes([code]) + b'">([^<]*)</subfield>')
    for code in b"abch"
}


def _first(field: bytes, code: int) -> str:
    """The first `code` subfield's value of a field's text ("" when it has none)."""
    found = _FIRST[code].search(field)
    return "" if found is None else _unescape(found.group(1))


# A deletion mark (`STA $a DELETED`) on a live record, none on a deleted one, or an Aleph
# field as a control field: left to the full path. Another STA (`$a TEST`, a test record) is
# a field like any other to a save.
_STA = b' tag="STA"'
_STA_FIELD = b'<datafield tag="STA" '
_ODD_CONTROL = re.compile(rb'<controlfield tag="(?:CAT|LOW|SID|STA)"')
_CONTROL_TAGS = tuple((tag, b' tag="' + tag + b'"') for tag in (b"001", b"003", b"005"))


@dataclass(slots=True)
class _Scan:
    """Where the fields a save reads or touches start (offsets into the record's bytes)."""

    controls: dict[bytes, int]  # first 001, 003, 005; -1 when the first is no control field
    f035: list[int]
    sids: list[tuple[int, int]]
    tail: int  # the first CAT or LOW, or the end: Aleph fields end the record in that order
    end: int


def _scan(xml: bytes, *, deleted: bool = False) -> _Scan:
    """Scan a record in the compact form, or decline when it is not in that form.

    `deleted`: the store holds the record as deleted, so it must carry a deletion mark (its
    leader/05 `d` or `STA $a DELETED`); otherwise it must carry none.
    Searching for markup is safe in the compact form: values carry `<` and `"` escaped.
    """
    if (
        not xml.startswith(_RECORD_START)
        or xml[_HEAD_LENGTH - 9 : _HEAD_LENGTH] != b"</leader>"
        or not xml.endswith(_RECORD_END)
    ):
        raise _Decline
    leader = xml[len(_RECORD_START) : _HEAD_LENGTH - 9]
    # `^` and escapes in a leader are rewritten on reading
    if b"^" in leader or b"&" in leader or b"<" in leader:
        raise _Decline
    marked = leader[5:6] == b"d"
    end = len(xml) - len(_RECORD_END)
    # the first CAT or LOW: only CATs and LOWs may follow (`_places` checks)
    first = _TAIL_START.search(xml)
    tail = end if first is None else first.start()
    # (after the first CAT or LOW, that check refuses them too)
    if _ODD_CONTROL.search(xml, 0, tail) is not None:
        raise _Decline  # an Aleph field in an odd form
    sta = xml.find(_STA, 0, tail)
    while sta >= 0:
        if not xml.startswith(_STA_FIELD, sta - len(b"<datafield")):
            raise _Decline  # `tag="STA"` in an odd place
        at = sta - len(b"<datafield")
        close = xml.index(b"</datafield>", at)
        if any(
            code == b"a" and _unescape(value).strip().upper() == "DELETED"
            for code, value in _SUBFIELD.findall(xml, at, close)
        ):
            marked = True
        sta = xml.find(_STA, close, tail)
    if marked is not deleted:
        # a live record's deletion mark takes it out of the indexes, a deleted record's
        # lack of one brings it back: the full save computes both
        raise _Decline
    controls: dict[bytes, int] = {}
    for tag, attribute in _CONTROL_TAGS:
        found = xml.find(attribute, _HEAD_LENGTH, end)  # the first, either kind
        if found >= 0:
            at = found - len(b"<controlfield")
            controls[tag] = at if xml.startswith(b"<controlfield", at) else -1
    sids: list[tuple[int, int]] = []
    f035: list[int] = []
    for field in _SID_OR_035.finditer(xml, _HEAD_LENGTH, tail):
        at = field.start()
        if field.group(1) == b"035":
            f035.append(at)
        else:
            sids.append((at, xml.index(b"</datafield>", at) + 12))
    return _Scan(controls, f035, sids, tail, end)


# One scan each instead of two (values carry `<` escaped: no field opens inside another).
_TAIL_START = re.compile(rb'<datafield tag="(?:CAT|LOW)" ')
_SID_OR_035 = re.compile(rb'<datafield tag="(SID|035)" ')
_SID_FIELD = re.compile(rb'<datafield tag="SID" ')


@dataclass(frozen=True, slots=True)
class _Places:
    """Where a save's edits go in one view's bytes."""

    field_005: tuple[int, int]  # the first 005, replaced
    sid_at: int  # a new SID goes here: after the last SID, else before the CATs and LOWs
    cat_at: int  # the new CAT: after every CAT not later than it
    end: int  # `</record>`: the new LOW goes before it
    tail: bytes  # the CAT and LOW fields as they stand
    sids: tuple[bytes, ...]
    xml_005: bytes  # the first 005 as it stands
    sid_spans: tuple[tuple[int, int], ...]
    has_low: bool  # the record has the LOW already
    same_sids: tuple[int, ...]  # which SIDs are the library's (a new SID replaces them)
    sid_unchanged: bool  # the library's SID says the local id already


def _places(
    xml: bytes,
    scan: _Scan,
    *,
    low_code: str,
    sid: tuple[str, str] | None,
    cat_key: tuple[str, str],
    with_005: bool = True,
    checked: bool = False,
) -> _Places:
    """Find the edits' places, or decline when the record is not in the shape a save leaves.
    Without `with_005`, `xml` is a record's tail (`tail_start`): no 005 to replace; `checked`:
    its CATs and LOWs were found in a save's shape when it was kept (or made so since)."""
    field_005 = (0, 0)
    if with_005:
        at = scan.controls.get(b"005", -1)
        if at < 0:
            raise _Decline  # no 005, or the first is no control field: the save would add one
        field_005 = (at, xml.index(b"</controlfield>", at) + 15)

    # Aleph order: every other field, then CATs sorted by ($c, $h), then LOWs, to the end.
    end, tail = scan.end, scan.tail
    lows = xml.find(b'<datafield tag="LOW" ', tail, end)
    cat_at = lows if lows >= 0 else end
    new_key = (cat_key[0].encode(), cat_key[1].encode())
    last_cat = xml.rfind(b'<datafield tag="CAT" ', tail, cat_at) if checked else -1
    last_key = _CAT_KEY.match(xml, last_cat) if last_cat >= 0 else None
    latest = last_cat < 0 or (last_key is not None and last_key.groups() <= new_key)
    if checked and latest and xml.find(b"&", tail, end) < 0:
        pass  # a tail kept in order (`tail_start`), and the new CAT the latest: it goes last
    else:
        if not _in_save_order(xml, tail, end):
            raise _Decline
        keys = _CAT_KEY.findall(xml, tail, end)
        later = len(keys) - bisect.bisect_right(keys, new_key)
        for _ in range(later):  # the new CAT goes before the CATs later than it
            cat_at = xml.rindex(b'<datafield tag="CAT" ', tail, cat_at)
    held = _LOW_A.findall(xml, lows, end) if lows >= 0 else []
    if all(a.isascii() for a in held) and low_code.isascii():
        has_low = low_code.encode() in {a.strip().upper() for a in held}
    else:  # str.upper() maps some letters outside ASCII into it
        has_low = any(a.decode().strip().upper() == low_code for a in held)

    sids = tuple(xml[a:b] for a, b in scan.sids)
    same_sids: tuple[int, ...] = ()
    sid_unchanged = False
    if sid is not None:
        local_id, sid_code = sid
        sid_b = sid_code.strip().lower()
        libraries = [_first(f, _B) for f in sids]
        same_sids = tuple(i for i, b in enumerate(libraries) if b.strip().lower() == sid_b)
        # `records.sids` pairs: the first $c and the first $b of each SID
        sid_unchanged = any(
            libraries[i] == sid_code and _first(sids[i], _C) == local_id for i in same_sids
        )
    return _Places(
        field_005=field_005,
        sid_at=scan.sids[-1][1] if sids else scan.tail,
        cat_at=cat_at,
        end=end,
        tail=xml[scan.tail : end],
        sids=sids,
        xml_005=xml[field_005[0] : field_005[1]],
        sid_spans=tuple(scan.sids),
        has_low=has_low,
        same_sids=same_sids,
        sid_unchanged=sid_unchanged,
    )


def _in_save_order(xml: bytes, tail: int, end: int) -> bool:
    """Whether the fields from `tail` to `end` are CATs sorted by ($c, $h) then LOWs, as a
    save leaves them, with no escapes to undo in them."""
    if _TAIL.fullmatch(xml, tail, end) is None:
        return False
    keys = _CAT_KEY.findall(xml, tail, end)
    if len(keys) != xml.count(b'<datafield tag="CAT" ', tail, end):
        return False  # a CAT without $c or $h
    # UTF-8 bytes sort as their characters do, so the keys compare as the save's strings
    return keys == sorted(keys) and xml.find(b"&", tail, end) < 0


def _view_places(view: bytes, places: _Places, deleted: bool) -> _Places:
    """The same places in the fin01alma view (without its staleness 024), after checking
    that the fields a save touches are there as in the fin01 record."""
    scan = _scan(view, deleted=deleted)
    end = scan.end
    if view[scan.tail : end] != places.tail:
        raise _Decline  # the view was not made from this record as the rules make it
    if tuple(view[a:b] for a, b in scan.sids) != places.sids:
        raise _Decline
    at = scan.controls.get(b"005", -1)
    start, stop = places.field_005
    if at < 0 or not view.startswith(places.xml_005, at):
        raise _Decline
    return _Places(
        field_005=(at, at + stop - start),
        sid_at=scan.sids[-1][1] if scan.sids else scan.tail,
        cat_at=scan.tail + places.cat_at - (places.end - len(places.tail)),
        end=end,
        tail=places.tail,
        sids=places.sids,
        xml_005=places.xml_005,
        sid_spans=tuple(scan.sids),
        has_low=places.has_low,
        same_sids=places.same_sids,
        sid_unchanged=places.sid_unchanged,
    )


def _check_identity(xml: bytes, scan: _Scan, record_id: int) -> None:
    """001, 003 and the Melinda 035 must be what `set_melinda_id` leaves as they are."""
    padded = f"{record_id:09d}".encode()
    first_two = _control(b"001", padded) + _control(b"003", MELINDA_ORG.encode())
    if not xml.startswith(first_two, _HEAD_LENGTH):  # the usual start, else look further
        for tag, wanted in ((b"001", padded), (b"003", MELINDA_ORG.encode())):
            at = scan.controls.get(tag, -1)
            if at < 0 or not xml.startswith(_control(tag, wanted), at):
                raise _Decline
    canonical = (
        b'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">'
        + MELINDA_PREFIX.encode()
        + padded
        + b"</subfield></datafield>"
    )
    touched = 0
    for at in scan.f035:
        field = xml[at : xml.index(b"</datafield>", at) + 12]
        if field == canonical:  # the usual one: it holds the id, as the save leaves it
            touched += 1
            continue
        if any(
            code == b"a" and parse_melinda_035(_unescape(value)) is not None
            for code, value in _SUBFIELD.findall(field)
        ):
            touched += 1
            if field != canonical:
                raise _Decline  # the save would rewrite it (or merge two)
    if touched != 1:
        raise _Decline


def _apply(xml: bytes, edits: list[tuple[int, int, int, bytes]]) -> bytes:
    """Replace or insert (start, rank, end, text) spans; ties at one offset go by rank."""
    edits.sort()
    parts: list[bytes] = []
    at = 0
    for start, _rank, stop, text in edits:
        parts.append(xml[at:start])
        parts.append(text)
        at = stop
    parts.append(xml[at:])
    return b"".join(parts)


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
    iso2709: bytes | None,
    deleted: bool,
) -> Spliced:
    low_code, sid = _addition(code, sid_code, local_id)
    scan = _scan(xml, deleted=deleted)
    _check_identity(xml, scan, record_id)
    places = _places(xml, scan, low_code=low_code, sid=sid, cat_key=stamp.cat_key)
    add_low = not places.has_low
    set_sid = sid is not None and not places.sid_unchanged
    if not (add_low or set_sid):
        raise _Decline  # nothing to save: the full path reports it unchanged

    # The view is the record with the staleness 024 before its first field tagged 024 or
    # higher; the other fields a save touches (005, SID, CAT, LOW) are the same bytes there.
    staleness = _staleness(record_id, old_version)
    at = alma_xml.find(staleness)
    if at < 0 or alma_xml[:_HEAD_LENGTH] != xml[:_HEAD_LENGTH]:
        raise _Decline  # the view is not this record's at this version
    after = at + len(staleness)
    shared_from = places.sid_spans[0][0] if places.sid_spans else places.end - len(places.tail)
    shared = xml[shared_from:]
    shift = len(alma_xml) - len(xml)
    stop_005 = places.field_005[1]
    if (
        stop_005 <= at
        and after <= shared_from + shift
        and alma_xml.endswith(shared)
        and alma_xml[:stop_005] == xml[:stop_005]
    ):
        # The usual view: the record's start to its 005 and its end from the first SID are
        # the record's bytes; the staleness 024 and the rewritten fields lie between.
        view = alma_xml
        view_places = _Places(
            field_005=places.field_005,
            sid_at=places.sid_at + shift,
            cat_at=places.cat_at + shift,
            end=places.end + shift,
            tail=places.tail,
            sids=places.sids,
            xml_005=places.xml_005,
            sid_spans=tuple((a + shift, b + shift) for a, b in places.sid_spans),
            has_low=places.has_low,
            same_sids=places.same_sids,
            sid_unchanged=places.sid_unchanged,
        )
        stale_edit = (at, 9, after, _staleness(record_id, new_version))
    else:
        view = alma_xml[:at] + alma_xml[after:]
        view_places = _view_places(view, places, deleted)
        # the staleness 024 stays right before the field it preceded (or last, after the LOWs)
        stale_edit = (at, 9, at, _staleness(record_id, new_version))

    change = _Change.of(places, low_code, sid_code, local_id if set_sid else None, add_low)

    record_edits = change.edits(places, stamp)
    new_xml = _apply(xml, record_edits)  # (sorts the edits)
    # the ISO 2709 form has the fin01 view's fields in its order: the same fields change
    iso_edits = [(start, stop, text) for start, _rank, stop, text in record_edits]
    # an added term the record has already (another SID's) is no change: the store ignores it
    return Spliced(
        new_xml,
        _apply(view, [*change.edits(view_places, stamp), stale_edit]),
        frozenset() if deleted else change.added,
        frozenset() if deleted else change.removed,
        splice_iso2709(iso2709, xml, iso_edits),
    )


@dataclass(frozen=True, slots=True)
class _Change:
    """A LOW addition's new fields and index terms, for one record's places."""

    new_low: bytes  # b"" when the record holds the LOW already
    new_sid: bytes  # b"" when its SID stays
    added: frozenset[tuple[int, str]]
    removed: frozenset[tuple[int, str]]

    @classmethod
    def of(
        cls, places: _Places, low_code: str, sid_code: str, local_id: str | None, add_low: bool
    ) -> _Change:
        """`local_id`: the SID to set (None: the SID stays)."""
        added: set[tuple[int, str]] = {(IX_LOW, fold(low_code).strip())} if add_low else set()
        removed: set[tuple[int, str]] = set()
        new_sid = b""
        if local_id:
            new_sid = _sid_field(local_id, sid_code)
            new_term = (IX_SOURCEID, sourceid_key(local_id, sid_code))
            added.add(new_term)
            if places.same_sids:  # the library's SID is replaced: its source id may go
                replaced = {places.sids[i] for i in places.same_sids}
                if any(b"HELME" in field.upper() for field in replaced):
                    raise _Decline  # it may take the record out of the helmet set
                kept = {_sid_term(f) for f in places.sids if f not in replaced}
                removed = {t for t in map(_sid_term, replaced) if t is not None} - kept - {new_term}
        new_low = _low_field(low_code) if add_low else b""
        return cls(new_low, new_sid, frozenset(added), frozenset(removed))

    def edits(
        self, places: _Places, stamp: SaveStamp, *, with_005: bool = True
    ) -> list[tuple[int, int, int, bytes]]:
        done = [
            (places.cat_at, 2, places.cat_at, stamp.cat),
            (places.end, 3, places.end, self.new_low),
        ]
        if with_005:
            start, stop = places.field_005
            done.append((start, 0, stop, stamp.field_005))
        if self.new_sid and places.same_sids:
            # `set_sid`: the first of the library's SIDs becomes the new one, the rest go
            for n, i in enumerate(places.same_sids):
                first, last = places.sid_spans[i]
                done.append((first, 1, last, b"" if n else self.new_sid))
        elif self.new_sid:
            done.append((places.sid_at, 1, places.sid_at, self.new_sid))
        return done


def _sid_term(field: bytes) -> tuple[int, str] | None:
    """The source-id term of a SID as the indexer makes it: first non-empty $c and $b."""
    local = [v for code, v in _SUBFIELD.findall(field) if code == b"c" and v]
    library = [v for code, v in _SUBFIELD.findall(field) if code == b"b" and v]
    if not (local and library):
        return None
    return (IX_SOURCEID, sourceid_key(_unescape(local[0]), _unescape(library[0])))


# The view's staleness 024 up to its stamp (`% record_id`), as the writer makes it
STALENESS_HEAD = (
    b'<datafield tag="024" ind1="8" ind2=" "><subfield code="a">%09d</subfield><subfield code="d">'
)


def _staleness(record_id: int, version: int) -> bytes:
    """The view's `024 8_ $a ID $d STAMP` as `rules.staleness_field` and the writer make it."""
    return STALENESS_HEAD % record_id + _stamp(version) + b"</subfield></datafield>"


@functools.lru_cache(maxsize=1024)
def _stamp(version: int) -> bytes:
    return staleness_stamp(version).encode()


@functools.lru_cache(maxsize=64)
def _low_field(code: str) -> bytes:
    """`LOW $a CODE` exactly as the full save writes it (through pymarc and the writer)."""
    if _XML_ILLEGAL.search(code):
        raise _Decline  # the full save raises on it
    field = pymarc.Field(
        tag="LOW", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("a", code)]
    )
    return field_to_marcxml(field).encode("utf-8")


def _sid_field(local_id: str, code: str) -> bytes:
    """`SID $c LOCAL $b code` as the writer writes it (escapes as `marcxml.escape_text` does)."""
    if _XML_ILLEGAL.search(local_id) or _XML_ILLEGAL.search(code):
        raise _Decline  # the full save raises on it
    return b"".join(
        [
            b'<datafield tag="SID" ind1=" " ind2=" "><subfield code="c">',
            _escape(local_id).encode("utf-8"),
            b'</subfield><subfield code="b">',
            _escape(code).encode("utf-8"),
            b"</subfield></datafield>",
        ]
    )


_NEEDS_ESCAPE = re.compile('[&<>"\t\n\r]')
_ESCAPES = {v: k for k, v in _UNESCAPES.items()}


def _escape(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], value)
