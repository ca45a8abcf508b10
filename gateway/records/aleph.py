"""Melinda's Aleph fields on a pymarc record: Melinda ID, LOW, SID, CAT and STA."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

MELINDA_ORG = "FI-MELINDA"
MELINDA_PREFIX = "(FI-MELINDA)"
ALEPH_LIBRARY = "FIN01"
# Aleph stamps CAT with the server's local time, which for Melinda is Finnish time.
ALEPH_TIMEZONE = ZoneInfo("Europe/Helsinki")

# 035 forms that name a Melinda record: the current one and the two older Aleph ones.
_MELINDA_035 = re.compile(r"^\s*(?:\((?:FI-MELINDA|FIN01)\)\s*|FCC)0*(\d{1,9})\s*$")
_DIGITS = re.compile(r"^\d{1,9}$")


def _subfield_values(field: Field, code: str) -> list[str]:
    return [value for c, value in field.subfields if c == code]


def _first(field: Field, code: str) -> str:
    for c, value in field.subfields:
        if c == code:
            return value
    return ""


def _fields(record: pymarc.Record, tag: str) -> list[Field]:
    return [field for field in record.fields if field.tag == tag]


def _new_field(tag: str, subfields: list[tuple[str, str]]) -> Field:
    return Field(
        tag=tag,
        indicators=Indicators(" ", " "),
        subfields=[Subfield(code, value) for code, value in subfields],
    )


def _tag_key(tag: str) -> tuple[int, str]:
    # Numeric tags in MARC order; Aleph's letter tags (LOW, SID, CAT, STA) after them.
    return (0, tag) if tag.isdigit() else (1, tag)


def insert_in_tag_order(record: pymarc.Record, field: Field) -> None:
    """Insert before the first numeric field with a greater tag (Aleph tags go last)."""
    key = _tag_key(field.tag)
    for index, existing in enumerate(record.fields):
        if existing.tag.isdigit() and _tag_key(existing.tag) > key:
            record.fields.insert(index, field)
            return
    # Past every numeric field: before the Aleph system fields, if any.
    if field.tag.isdigit():
        for index, existing in enumerate(record.fields):
            if not existing.tag.isdigit():
                record.fields.insert(index, field)
                return
    record.fields.append(field)


def _set_leader_position(record: pymarc.Record, position: int, value: str) -> None:
    leader = str(record.leader)
    record.leader = Leader(leader[:position] + value + leader[position + 1 :])


# --- Melinda ID -------------------------------------------------------------------------


def parse_melinda_035(value: str) -> int | None:
    """The record number in `(FI-MELINDA)000123456`, `(FIN01)000123456` or `FCC000123456`."""
    match = _MELINDA_035.match(value)
    if match is None:
        return None
    number = int(match.group(1))
    return number or None


def _control_value(record: pymarc.Record, tag: str) -> str | None:
    for field in record.fields:
        if field.tag == tag and field.control_field:
            return str(field.data or "")
    return None


def melinda_id(record: pymarc.Record) -> int | None:
    """The record's Melinda ID: 001 when it is one (003 absent or FI-MELINDA), else 035 $a."""
    f001 = _control_value(record, "001")
    f003 = _control_value(record, "003")
    if (
        f001 is not None
        and _DIGITS.match(f001.strip())
        and int(f001) > 0
        and (f003 is None or f003.strip().strip("()") == MELINDA_ORG)
    ):
        return int(f001)
    found: dict[int, int] = {}  # preference rank -> id; (FI-MELINDA) beats the old forms
    for field in _fields(record, "035"):
        for value in _subfield_values(field, "a"):
            number = parse_melinda_035(value)
            if number is not None:
                rank = 0 if value.lstrip().startswith(MELINDA_PREFIX) else 1
                found.setdefault(rank, number)
    if found:
        return found[min(found)]
    return None


def old_melinda_ids(record: pymarc.Record) -> list[int]:
    """Ids of records merged into this one (035 $z in a Melinda form), in record order."""
    ids: list[int] = []
    for field in _fields(record, "035"):
        for value in _subfield_values(field, "z"):
            number = parse_melinda_035(value)
            if number is not None and number not in ids:
                ids.append(number)
    return ids


def set_melinda_id(record: pymarc.Record, record_id: int) -> None:
    """Make the record carry `record_id`: 001, 003 FI-MELINDA and exactly one 035 (FI-MELINDA).

    Other 035s are kept; a Melinda-form 035 $a naming a different record becomes a 035 $z
    (an old id), as when records are merged.
    """
    if record_id <= 0:
        raise ValueError(f"a Melinda ID is a positive integer, not {record_id}")
    padded = f"{record_id:09d}"
    _set_control(record, "001", padded)
    _set_control(record, "003", MELINDA_ORG)

    insert_at: int | None = None
    for field in list(record.fields):
        if field.tag != "035" or field.control_field:
            continue
        kept: list[Subfield] = []
        touched = False
        for code, value in field.subfields:
            number = parse_melinda_035(value) if code == "a" else None
            if number is None:
                kept.append(Subfield(code, value))
                continue
            touched = True
            if number != record_id:
                kept.append(Subfield("z", f"{MELINDA_PREFIX}{number:09d}"))
        if not touched:
            continue
        if insert_at is None:
            insert_at = record.fields.index(field)
        if kept:
            field.subfields = kept
        else:
            record.fields.remove(field)
    new = _new_field("035", [("a", f"{MELINDA_PREFIX}{padded}")])
    if insert_at is not None:
        record.fields.insert(insert_at, new)
    else:
        insert_in_tag_order(record, new)


def _set_control(record: pymarc.Record, tag: str, value: str) -> None:
    for field in record.fields:
        if field.tag == tag:
            field.data = value
            return
    insert_in_tag_order(record, Field(tag=tag, data=value))


# --- LOW ---------------------------------------------------------------------------------


def _norm_low(code: str) -> str:
    return code.strip().upper()


def lows(record: pymarc.Record) -> list[str]:
    """The LOW codes (libraries holding the title), in record order, without repeats."""
    codes: list[str] = []
    for field in _fields(record, "LOW"):
        code = _first(field, "a").strip()
        if code and code not in codes:
            codes.append(code)
    return codes


def has_low(record: pymarc.Record, code: str) -> bool:
    wanted = _norm_low(code)
    return any(_norm_low(c) == wanted for c in lows(record))


def add_low(record: pymarc.Record, code: str) -> bool:
    """Add `LOW $a CODE` (after the other LOWs); False when the record already has it."""
    code = _norm_low(code)
    if not code:
        raise ValueError("a LOW code cannot be empty")
    if has_low(record, code):
        return False
    field = _new_field("LOW", [("a", code)])
    last = _last_index(record, "LOW")
    if last is None:
        record.fields.append(field)
    else:
        record.fields.insert(last + 1, field)
    return True


def remove_low(record: pymarc.Record, code: str) -> bool:
    """Remove the LOW of library CODE; False when the record had none."""
    wanted = _norm_low(code)
    before = len(record.fields)
    record.fields = [
        f for f in record.fields if not (f.tag == "LOW" and _norm_low(_first(f, "a")) == wanted)
    ]
    return len(record.fields) != before


def _last_index(record: pymarc.Record, tag: str) -> int | None:
    last = None
    for index, field in enumerate(record.fields):
        if field.tag == tag:
            last = index
    return last


def _first_index(record: pymarc.Record, tags: tuple[str, ...]) -> int | None:
    for index, field in enumerate(record.fields):
        if field.tag in tags:
            return index
    return None


def _insert_system_field(record: pymarc.Record, field: Field, before: tuple[str, ...]) -> None:
    """After the last field with the same tag, else before the first of `before`, else last."""
    last = _last_index(record, field.tag)
    if last is not None:
        record.fields.insert(last + 1, field)
        return
    first = _first_index(record, before)
    if first is None:
        record.fields.append(field)
    else:
        record.fields.insert(first, field)


# --- SID ---------------------------------------------------------------------------------


def sids(record: pymarc.Record) -> list[tuple[str, str]]:
    """(local id $c, library code $b) of every SID, in record order."""
    return [(_first(f, "c"), _first(f, "b")) for f in _fields(record, "SID")]


def _same_sid_code(field: Field, code: str) -> bool:
    return _first(field, "b").strip().lower() == code.strip().lower()


def set_sid(record: pymarc.Record, code: str, local_id: str) -> None:
    """Make library CODE's local id `local_id` (`SID $c LOCAL $b code`), replacing its old one."""
    new = _new_field("SID", [("c", local_id), ("b", code)])
    for index, field in enumerate(record.fields):
        if field.tag == "SID" and _same_sid_code(field, code):
            record.fields[index] = new
            record.fields = [
                f
                for i, f in enumerate(record.fields)
                if i <= index or not (f.tag == "SID" and _same_sid_code(f, code))
            ]
            return
    _insert_system_field(record, new, ("CAT", "LOW"))


def remove_sid(record: pymarc.Record, code: str) -> bool:
    """Remove library CODE's SID; False when it had none."""
    before = len(record.fields)
    record.fields = [f for f in record.fields if not (f.tag == "SID" and _same_sid_code(f, code))]
    return len(record.fields) != before


# --- CAT ---------------------------------------------------------------------------------


def cat_fields(record: pymarc.Record) -> list[Field]:
    return _fields(record, "CAT")


def append_cat(
    record: pymarc.Record,
    user: str,
    level: int | str,
    when: datetime,
    library: str = ALEPH_LIBRARY,
) -> Field:
    """Append the CAT Aleph adds on every save: `$a USER $b LEVEL $c YYYYMMDD $l FIN01 $h HHMM`.

    An aware `when` is stamped in Finnish time, as Melinda's Aleph does; a naive one as is.
    """
    if when.tzinfo is not None:
        when = when.astimezone(ALEPH_TIMEZONE)
    field = _new_field(
        "CAT",
        [
            ("a", user.upper()),
            ("b", str(level)),
            ("c", when.strftime("%Y%m%d")),
            ("l", library),
            ("h", when.strftime("%H%M")),
        ],
    )
    _insert_system_field(record, field, ("LOW",))
    return field


def _cat_key(field: Field) -> tuple[str, str]:
    return (_first(field, "c"), _first(field, "h"))


# --- STA (deletion) ----------------------------------------------------------------------


def _is_deleted_sta(field: Field) -> bool:
    return field.tag == "STA" and any(
        v.strip().upper() == "DELETED" for v in _subfield_values(field, "a")
    )


def is_deleted(record: pymarc.Record) -> bool:
    """STA $a DELETED, or Leader/05 `d`."""
    return str(record.leader)[5:6] == "d" or any(_is_deleted_sta(f) for f in record.fields)


def mark_deleted(record: pymarc.Record) -> None:
    """Soft delete: `STA $a DELETED` and Leader/05 `d` (the record stays readable)."""
    _set_leader_position(record, 5, "d")
    if not any(_is_deleted_sta(f) for f in record.fields):
        _insert_system_field(record, _new_field("STA", [("a", "DELETED")]), ("SID", "CAT", "LOW"))


def undelete(record: pymarc.Record) -> None:
    """Restore a soft-deleted record: drop STA DELETED (other STAs stay), Leader/05 `c`."""
    record.fields = [f for f in record.fields if not _is_deleted_sta(f)]
    if str(record.leader)[5:6] == "d":
        _set_leader_position(record, 5, "c")


# --- Order --------------------------------------------------------------------------------


def order_aleph_fields(record: pymarc.Record) -> None:
    """Aleph's output order, in place: LOW last, CAT just before them sorted by $c date and
    $h time (stable), every other field where it was."""
    others = [f for f in record.fields if f.tag not in ("CAT", "LOW")]
    cats = sorted((f for f in record.fields if f.tag == "CAT"), key=_cat_key)
    low_fields = [f for f in record.fields if f.tag == "LOW"]
    record.fields = others + cats + low_fields
