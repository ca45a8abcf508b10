"""Merge reducers: which fields the kept record takes from the other, after `melinda-marc-record-merge-reducers`.

The kept record is the preferred one; from the other it gains (as the reducers' add step
does, run for a merge of two database records):
- every LOW, SID and CAT it lacks (libraries' holdings, local ids, cataloguing history);
- the other's identifiers: its own Melinda ID as `035 $z (FI-MELINDA)…`, its 035s (a
  Melinda-form `$a` becoming `$z`: an old id), so searches by the old id find this record;
- data fields 010-9XX it lacks: subject headings, classifications, 5XX notes, added
  entries, series, links; a field whose subfields (folded, without end punctuation) equal
  or are contained in one of the kept record's fields of that tag counts as present;
- but never a second non-repeatable field (1XX, 240, 245, 254, 256, 040, 042, …), never
  250, and not 041, 260/264, 300, 310, 321, 335, 336-338 when it already has one of those
  (the reducers' add configuration), nor 240 beside a 130/240.

Simplified: leader, 006/007/008 stay the preferred record's (the reducers merge their
positions), and near-equal fields are not merged subfield by subfield.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pymarc

from gateway import records
from gateway.indexing import fold
from gateway.rules.fields import copy_field, copy_record

MELINDA_PREFIX: Final = "(FI-MELINDA)"

# (kept as stored, other as stored or None) -> (kept, other to delete or None)
Combiner = Callable[
    [pymarc.Record, pymarc.Record | None], tuple[pymarc.Record, pymarc.Record | None]
]

NON_REPEATABLE: Final = frozenset(
    [
        "010",
        "018",
        "036",
        "038",
        "040",
        "042",
        "043",
        "044",
        "045",
        "066",
        "100",
        "110",
        "111",
        "130",
        "240",
        "243",
        "245",
        "254",
        "256",
        "263",
        "306",
        "357",
        "384",
        "507",
        "514",
        "841",
        "842",
        "844",
        "882",
    ]
)
NEVER_ADDED: Final = frozenset({"250"})
# added only when the kept record has none of the tags listed
NOT_BESIDE: Final[dict[str, tuple[str, ...]]] = {
    "041": ("041",),
    "240": ("130", "240"),
    "260": ("260", "264"),
    "264": ("260", "264"),
    "300": ("300",),
    "310": ("310",),
    "321": ("321",),
    "335": ("335",),
    "336": ("336",),
    "337": ("337",),
    "338": ("338",),
}


def _normal(value: str) -> str:
    return " ".join(fold(value).strip().rstrip(".,:;/=").split())


def _shape(field: pymarc.Field) -> tuple[tuple[str, str], ...]:
    return tuple((sf.code, _normal(sf.value)) for sf in field.subfields)


def _contained(field: pymarc.Field, among: list[pymarc.Field]) -> bool:
    """The field says nothing new: one of `among` (same tag) has all of its subfields."""
    wanted = _shape(field)
    for other in among:
        have = _shape(other)
        if wanted == have or all(sf in have for sf in wanted):
            return True
    return False


def _other_035s(other: pymarc.Record, other_id: int) -> list[pymarc.Field]:
    """The other's 035s for the kept record, a Melinda-form $a becoming $z (an old id); its
    own id first, as `035 $z (FI-MELINDA)…`."""
    found = [
        pymarc.Field(
            tag="035",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("z", f"{MELINDA_PREFIX}{other_id:09d}")],
        )
    ]
    for field in other.get_fields("035"):
        subfields = []
        for sf in field.subfields:
            number = records.parse_melinda_035(sf.value) if sf.code == "a" else None
            if number == other_id:
                continue  # already given as $z above
            if number is not None:
                subfields.append(pymarc.Subfield("z", f"{MELINDA_PREFIX}{number:09d}"))
            else:
                subfields.append(pymarc.Subfield(sf.code, sf.value))
        if subfields:
            found.append(pymarc.Field(tag="035", indicators=field.indicators, subfields=subfields))
    return found


def _takes_data_field(kept: pymarc.Record, field: pymarc.Field) -> bool:
    tag = field.tag
    if tag in NEVER_ADDED:
        return False
    present = kept.get_fields(tag)
    if present and tag in NON_REPEATABLE:
        return False
    blockers = NOT_BESIDE.get(tag)
    if blockers and kept.get_fields(*blockers):
        return False
    return not _contained(field, present)


def merge_fields(
    preferred: pymarc.Record, other: pymarc.Record, other_id: int | None
) -> pymarc.Record:
    """The kept record: a copy of `preferred` with what `other` brings (see the module).

    `other_id` is the other record's Melinda ID (None for an incoming record not yet saved).
    """
    kept = copy_record(preferred)  # field by field: deepcopy was a third of a harvest's CPU
    additions: list[pymarc.Field] = []
    if other_id is not None:
        additions.extend(_other_035s(other, other_id))
    else:
        additions.extend(other.get_fields("035"))
    for field in additions:
        if not _contained(field, kept.get_fields("035")):
            records.insert_in_tag_order(kept, copy_field(field))
    for field in other.fields:
        tag = field.tag
        if field.is_control_field() or tag == "035":
            continue
        if tag.isdigit():
            if tag >= "010" and _takes_data_field(kept, field):
                records.insert_in_tag_order(kept, copy_field(field))
            continue
        if tag == "LOW":
            for code in field.get_subfields("a"):
                records.add_low(kept, code)
        elif tag == "SID":
            c, b = field.get("c") or "", field.get("b") or ""
            if c and b and (c, b) not in records.sids(kept):
                kept.fields.append(copy_field(field))
        elif tag == "CAT":  # each is an event of the other's history, even if alike
            kept.fields.append(copy_field(field))
    records.order_aleph_fields(kept)
    return kept


def withdraw_moved_fields(other: pymarc.Record) -> pymarc.Record:
    """The other record as it is deleted: its LOWs and SIDs moved to the kept record, so it
    holds none (its CATs stay, as its history)."""
    left = copy_record(other)
    left.fields = [f for f in left.fields if f.tag not in ("LOW", "SID")]
    return left
