"""Small field-level helpers the write rules share: copying, comparing and owner codes of fields."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

import pymarc
from pymarc import Field, Indicators, Subfield

# A field as a hashable value: control fields by data, data fields by indicators and subfields.
FieldKey = tuple[str, str | None, str, str, tuple[tuple[str, str], ...]]

# `$9 CODE<KEEP>` / `$9 CODE<DROP>`: replication commands of library CODE (Melinda's form).
_REPLICATION_COMMAND = re.compile(r"^\s*([^<>\s]+)\s*<(KEEP|DROP)>\s*$", re.IGNORECASE)

NATIONAL_COLLECTIONS = frozenset({"FENNI", "VIOLA", "FIKKA"})


def copy_field(field: Field) -> Field:
    """An independent copy of `field` (pymarc fields are mutable; subfields are tuples)."""
    new: Field = Field.__new__(Field)
    # Copying the attributes skips the constructor's checks: the views copy every field of
    # every record they serve, and the source field is already a well-formed pymarc Field.
    new.tag = field.tag
    new.data = field.data
    new._indicators = field._indicators  # an immutable named tuple (None on control fields)
    new.subfields = list(field.subfields)
    new.control_field = field.control_field
    return new


def copy_record(record: pymarc.Record, fields: Iterable[Field] | None = None) -> pymarc.Record:
    """A new record with `record`'s leader and copies of `fields` (default: all its fields)."""
    # Record(leader=...) rewrites leader positions 10-11 and 20-23, so the leader is set after.
    new = pymarc.Record(
        to_unicode=getattr(record, "to_unicode", True),
        force_utf8=getattr(record, "force_utf8", False),
    )
    new.leader = copy.copy(record.leader)
    source = record.fields if fields is None else fields
    new.fields = [copy_field(f) for f in source]
    return new


def field_key(field: Field) -> FieldKey:
    """A hashable value equal for two fields exactly when their content is equal."""
    if field.control_field:
        return (field.tag, field.data, "", "", ())
    # subfields are (code, value) tuples of text: equal and hashed as the plain pairs
    return (field.tag, None, str(field.indicator1), str(field.indicator2), tuple(field.subfields))


def record_key(record: pymarc.Record) -> tuple[str, tuple[FieldKey, ...]]:
    """A hashable value equal for two records exactly when leader and fields are equal."""
    return (str(record.leader), tuple(field_key(f) for f in record.fields))


def values(field: Field, code: str) -> list[str]:
    """The values of every `$code` of a data field, in order ([] for control fields)."""
    if field.control_field:
        return []
    return [sf.value for sf in field.subfields if sf.code == code]


def replication_command(value: str) -> tuple[str, str] | None:
    """`FENNI<KEEP>` -> ("FENNI", "KEEP"); None when the $9 is not a replication command."""
    match = _REPLICATION_COMMAND.match(value)
    if match is None:
        return None
    return match.group(1).upper(), match.group(2).upper()


def owner_codes(field: Field) -> set[str]:
    """Library codes that own `field`: every `$5 CODE` and every `$9 CODE<KEEP|DROP>`."""
    owners: set[str] = set()
    if field.control_field:
        return owners
    for sf in field.subfields:
        if sf.code == "5" and sf.value.strip():
            owners.add(sf.value.strip().upper())
        elif sf.code == "9":
            command = replication_command(sf.value)
            if command is not None:
                owners.add(command[0])
    return owners


def low_codes(record: pymarc.Record) -> list[str]:
    """The record's LOW codes (database tags), upper case, in field order."""
    codes: list[str] = []
    for field in record.fields:
        if field.tag == "LOW" and not field.control_field:
            for value in values(field, "a"):
                if value.strip():
                    codes.append(value.strip().upper())
    return codes


def is_numeric_tag(tag: str) -> bool:
    return len(tag) == 3 and tag.isdigit()


def insert_in_tag_order(fields: list[Field], field: Field) -> None:
    """Insert a numeric-tag field before the first numeric field with a greater tag.

    With no greater tag it goes right after the last numeric field (before the Aleph fields
    that close a record); non-numeric tags go to the end, the store orders those on output.
    """
    if not is_numeric_tag(field.tag):
        fields.append(field)
        return
    after_last_numeric = len(fields)
    for index, existing in enumerate(fields):
        if is_numeric_tag(existing.tag):
            if existing.tag > field.tag:
                fields.insert(index, field)
                return
            after_last_numeric = index + 1
    fields.insert(after_last_numeric, field)


def field_from_line(line: str) -> Field:
    """A field from Melinda's line notation: `245 10$aTitle$bRest` or `001 000123456`.

    Indicators are the two characters after the tag and a space, `_` or `\\` meaning blank;
    control fields (001-009) take the rest of the line as data. For tests and examples.
    """
    tag, rest = line[:3], line[4:]
    if tag < "010" and tag.isdigit():
        return Field(tag, data=rest)
    first, second = (" " if ch in "_\\" else ch for ch in rest[:2])
    parts = rest[2:].split("$")[1:]
    return Field(tag, Indicators(first, second), [Subfield(p[:1], p[1:]) for p in parts])


def record_from_lines(*lines: str, leader: str = "00000cam a2200000 i 4500") -> pymarc.Record:
    """A record from field lines in Melinda's line notation (see `field_from_line`)."""
    record = pymarc.Record()
    record.leader = pymarc.Leader(leader)
    record.fields = [field_from_line(line) for line in lines]
    return record


def field_line(field: Field) -> str:
    """The inverse of `field_from_line` (blanks written as `_`)."""
    if field.control_field:
        return f"{field.tag} {field.data}"
    indicators = "".join("_" if ch == " " else ch for ch in (field.indicator1, field.indicator2))
    return f"{field.tag} {indicators}" + "".join(f"${sf.code}{sf.value}" for sf in field.subfields)


def record_lines(record: pymarc.Record) -> list[str]:
    return [field_line(f) for f in record.fields]
