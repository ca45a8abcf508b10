"""Which OAI-PMH sets a record belongs to, computed from its content as Melinda defines them.

Melinda's provider (NatLibFi/melinda-oai-pmh-provider, its `sets.json`) defines each named set
as a list of Aleph heading-index keys (`HLOW LFIKKA%`, `H042 LFINB %`, `HBL  LM %`, …) and
joins one heading table per key, so a record is in a set only when it matches EVERY key of
that set (an AND, not an OR). Heading keys are Aleph-normalised (upper case), `FINB ` with its
trailing blank means the whole heading `FINB` (so `finbd` is not Fennica), and `BL` is the
bibliographic level, Leader/07. The store calls `oai_sets_of` when it indexes a record; the
`low:CODE` sets need nothing from here, the store answers them from its LOW index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pymarc

LOW_SET_PREFIX = "low:"


@dataclass(frozen=True, slots=True)
class MelindaSet:
    """One of Melinda's named sets: spec, name, description (as its provider lists them)."""

    spec: str
    name: str
    description: str


MELINDA_SETS: tuple[MelindaSet, ...] = (
    MelindaSet("fennica", "Fennica", "The Finnish national bibliography"),
    MelindaSet("viola", "Viola", "The Finnish national discography"),
    MelindaSet("arto", "Arto", "Finnish periodical and monograph articles"),
    MelindaSet(
        "musa",
        "Music Archive Finland",
        "A national central archive that stores materials relating to Finnish music",
    ),
    MelindaSet("monographic", "Monographic records", "Monographic records"),
    MelindaSet("serial", "Serial records", "Serial records"),
    MelindaSet(
        "monographic:fennica",
        "Monographic records (Fennica)",
        "The Finnish national bibliography - Monographic records",
    ),
    MelindaSet(
        "serial:fennica",
        "Serial records (Fennica)",
        "The Finnish national bibliography - Serial records",
    ),
    MelindaSet("helmet", "Helmet", "Helsinki Metropolitan Area Libraries"),
)


def oai_sets_of(record: pymarc.Record) -> set[str]:
    """The named sets the record belongs to (`low:CODE` sets come from the LOW index itself)."""
    return _named_sets(
        _headings(record, "LOW", "a"),
        _headings(record, "042", "a"),
        _headings(record, "960", "a"),
        _headings(record, "SID", "b"),
        _bibliographic_level(record),
    )


def _named_sets(
    lows: set[str], national: set[str], articles: set[str], sources: set[str], level: str
) -> set[str]:
    """Melinda's named sets of a record with these LOW, 042, 960 and SID $b headings."""
    sets: set[str] = set()
    # FIKKA is the National Library's own LOW; 042 finb / finbd marks Fennica / Viola
    if "FIKKA" in lows and "FINB" in national:
        sets.add("fennica")
        if level == "M":
            sets.add("monographic:fennica")
        elif level == "S":
            sets.add("serial:fennica")
    if "FIKKA" in lows and "FINBD" in national:
        sets.add("viola")
    if "ARTO" in articles:
        sets.add("arto")
    if "MUSA" in lows:
        sets.add("musa")
    if level == "M":
        sets.add("monographic")
    elif level == "S":
        sets.add("serial")
    if "HELME" in sources:
        sets.add("helmet")
    return sets


def _headings(record: pymarc.Record, tag: str, code: str) -> set[str]:
    """The values of `tag $code`, normalised like Aleph's heading keys (trimmed, upper case)."""
    # one pass over the fields and subfields: this runs for every record a load indexes
    return {
        str(value).strip().upper()
        for field in record.fields
        if field.tag == tag and not field.control_field
        for sub_code, value in field.subfields
        if sub_code == code and str(value).strip()
    }


def _bibliographic_level(record: pymarc.Record) -> str:
    leader = str(record.leader) if record.leader is not None else ""
    return leader[7].upper() if len(leader) > 7 else ""


# The set-defining fields in a stored record (the store's compact MARCXML): their tag and body
# (up to the first `</datafield>`; possessive, so the scan never backs up)
_SET_FIELD = re.compile(
    rb'<datafield tag="(LOW|042|960|SID)"[^>]*+>([^<]*+(?:<(?!/datafield>)[^<]*+)*+)</datafield>'
)
_SUBFIELD = re.compile(rb'<subfield code="(.)">([^<]*)</subfield>')
_LEADER = re.compile(rb"<leader>([^<]{24})</leader>")
_WANTED_CODE = {b"LOW": b"a", b"042": b"a", b"960": b"a", b"SID": b"b"}
_MEMO_LIMIT: Final = 4096
# A field's headings by its tag and body: LOW, 042 and 960 fields recur from record to record
_HEADINGS: dict[bytes, tuple[str, ...]] = {}
# A record's sets by what decides them: its LOW codes, 042 FINB/FINBD, 960 ARTO, SID HELME, level
_SPECS: dict[tuple[tuple[str, ...], bool, bool, bool, bool, str], tuple[str, ...]] = {}


def set_specs_of_xml(xml: bytes) -> list[str]:
    """Every set a stored live record belongs to, named sets then `low:CODE`, read straight
    from its MARCXML bytes (an OAI-PMH header lists them; parsing each record would cost more
    than the rest of a harvest)."""
    return list(set_specs_tuple(xml))


def set_specs_tuple(xml: bytes) -> tuple[str, ...]:
    """`set_specs_of_xml` as a tuple shared by the records in the same sets (not to change)."""
    lows: list[str] = []
    national: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    helmet = False
    for tag, body in _SET_FIELD.findall(xml):
        if tag == b"SID":
            # SID names its record's local id, so it never recurs; only a $b HELME matters,
            # and only ASCII letters upper-case to those (no I, S or ligature in it)
            if not helmet and b"HELME" in body.upper():
                helmet = "HELME" in _field_headings(tag, body)
            continue
        key = tag + body
        found = _HEADINGS.get(key)
        if found is None:
            found = _field_headings(tag, body)
            if len(_HEADINGS) >= _MEMO_LIMIT:
                _HEADINGS.clear()
            _HEADINGS[key] = found
        if tag == b"LOW":
            lows.extend(found)
        elif tag == b"042":
            national += found
        else:
            articles += found
    leader = _LEADER.search(xml)
    level = leader.group(1)[7:8].decode("ascii", "replace").upper() if leader else ""
    codes = tuple(sorted(set(lows)))
    decides = (codes, "FINB" in national, "FINBD" in national, "ARTO" in articles, helmet, level)
    specs = _SPECS.get(decides)
    if specs is None:
        named = _named_sets(
            set(codes),
            {"FINB", "FINBD"}.intersection(national),
            {"ARTO"}.intersection(articles),
            {"HELME"} if helmet else set(),
            level,
        )
        ordered = [s.spec for s in MELINDA_SETS if s.spec in named]
        specs = (*ordered, *[f"{LOW_SET_PREFIX}{code}" for code in codes])
        if len(_SPECS) >= _MEMO_LIMIT:
            _SPECS.clear()
        _SPECS[decides] = specs
    return specs


def _field_headings(tag: bytes, body: bytes) -> tuple[str, ...]:
    """The headings (trimmed, upper case) in a set-defining field's subfield of interest."""
    wanted = _WANTED_CODE[tag]
    found: list[str] = []
    for code, value in _SUBFIELD.findall(body):
        if code == wanted:
            text = _unescape(value).strip().upper()
            if text:
                found.append(text)
    return tuple(found)


def _unescape(value: bytes) -> str:
    return (
        value.decode("utf-8", "replace")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )
