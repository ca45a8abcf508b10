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
    lows = _headings(record, "LOW", "a")
    national = _headings(record, "042", "a")
    level = _bibliographic_level(record)

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
    if "ARTO" in _headings(record, "960", "a"):
        sets.add("arto")
    if "MUSA" in lows:
        sets.add("musa")
    if level == "M":
        sets.add("monographic")
    elif level == "S":
        sets.add("serial")
    if "HELME" in _headings(record, "SID", "b"):
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
