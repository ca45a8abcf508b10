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


# The set-defining fields in a stored record (the store's compact MARCXML): their tag and body.
_SET_FIELD = re.compile(rb'<datafield tag="(LOW|042|960|SID)"[^>]*>(.*?)</datafield>', re.S)
_SUBFIELD = re.compile(rb'<subfield code="(.)">([^<]*)</subfield>')
_LEADER = re.compile(rb"<leader>([^<]{24})</leader>")
_WANTED_CODE = {b"LOW": b"a", b"042": b"a", b"960": b"a", b"SID": b"b"}


def set_specs_of_xml(xml: bytes) -> list[str]:
    """Every set a stored live record belongs to, named sets then `low:CODE`, read straight
    from its MARCXML bytes (an OAI-PMH header lists them; parsing each record would cost more
    than the rest of a harvest)."""
    values: dict[bytes, set[str]] = {b"LOW": set(), b"042": set(), b"960": set(), b"SID": set()}
    for tag, body in _SET_FIELD.findall(xml):
        wanted = _WANTED_CODE[tag]
        for code, value in _SUBFIELD.findall(body):
            if code == wanted:
                text = _unescape(value).strip().upper()
                if text:
                    values[tag].add(text)
    leader = _LEADER.search(xml)
    level = leader.group(1)[7:8].decode("ascii", "replace").upper() if leader else ""
    named = _named_sets(values[b"LOW"], values[b"042"], values[b"960"], values[b"SID"], level)
    ordered = [s.spec for s in MELINDA_SETS if s.spec in named]
    return ordered + [f"{LOW_SET_PREFIX}{code}" for code in sorted(values[b"LOW"])]


def _unescape(value: bytes) -> str:
    return (
        value.decode("utf-8", "replace")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )
