"""The protection merge: what an update may not remove from the stored record.

Melinda's records are shared, so an update replaces the record but may not silently erase
what another library relies on. The stored record is the incoming one plus every field of
the current one that is protected against the writer and that the incoming one lacks:

1. CAT: the cataloguing history is server-maintained. The result carries exactly the
   current record's CAT fields (whatever CATs the incoming record has are dropped; the
   staleness check has already refused incoming CATs that differ). The save then appends
   its own CAT.
2. LOW `$a CODE`: kept when the writer does not own CODE. A LOW the writer owns and the
   incoming record omits is removed (that is how a library withdraws a title), unless
   `keep_lows=True` (for writers whose records never carry LOWs, e.g. Alma). The catalog
   then compares the LOW sets of the current and the merged record to authorise adds and
   removals (own-LOW check); after this merge every removed LOW is one the writer owns.
   LOWs are matched by code, case-insensitively.
3. SID `$b CODE`: kept unless CODE is the writer's SID code or one of its LOW codes.
4. Fields with `$5 CODE` or `$9 CODE<KEEP>` / `$9 CODE<DROP>`: kept when any CODE named
   in them is not the writer's (a field two libraries mark stays while either does).
5. 9XX fields of national-collection records (current LOW FENNI, VIOLA or FIKKA): kept
   unless the writer owns one of the record's national-collection LOWs.

"The writer's" codes are `library` and every code in `owned_lows`, case-insensitively. A
privileged writer (Melinda's own staff) may remove any of these except CAT. A kept field
the incoming record already has (same tag, indicators and subfields, or for LOW the same
code) is not added twice. Kept numeric fields go to their tag-order place; LOW and SID go
after the incoming record's fields (the store orders Aleph fields on output).

`withdraw_title` is what removing a library's LOW means (SPEC section 1): the LOW goes,
and with it the library's SID and its local references.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

import pymarc
from pymarc import Field, Indicators

from gateway.rules.fields import (
    NATIONAL_COLLECTIONS,
    FieldKey,
    copy_field,
    copy_record,
    field_key,
    insert_in_tag_order,
    is_numeric_tag,
    low_codes,
    owner_codes,
    replication_command,
    values,
)


def _writer_codes(library: str, owned_lows: Collection[str] | None) -> frozenset[str]:
    codes = {library.strip().upper()} if library.strip() else set()
    codes.update(code.strip().upper() for code in owned_lows or ())
    return frozenset(codes)


def _low_code(field: Field) -> str:
    codes = [v.strip().upper() for v in values(field, "a") if v.strip()]
    return codes[0] if codes else ""


def protected_fields(
    current: pymarc.Record,
    *,
    library: str,
    owned_lows: Collection[str] | None = None,
    sid_code: str | None = None,
    keep_lows: bool = False,
    privileged: bool = False,
) -> list[Field]:
    """The fields of `current` that an update by this writer may not remove, in order."""
    writer = _writer_codes(library, owned_lows)
    own_sid = (sid_code or library).strip().upper()
    national = NATIONAL_COLLECTIONS.intersection(low_codes(current))
    national_protected = bool(national) and not (national & writer) and not privileged
    kept: list[Field] = []
    for field in current.fields:
        if field.control_field:
            continue
        tag = field.tag
        if tag == "CAT":
            kept.append(field)
        elif tag == "LOW":
            code = _low_code(field)
            if keep_lows or (code not in writer and not privileged):
                kept.append(field)
        elif tag == "SID":
            codes = {v.strip().upper() for v in values(field, "b")}
            if not privileged and not codes & (writer | {own_sid}):
                kept.append(field)
        elif (owner_codes(field) - writer and not privileged) or (
            national_protected and is_numeric_tag(tag) and tag.startswith("9")
        ):
            kept.append(field)
    return kept


def protection_merge(
    current: pymarc.Record,
    incoming: pymarc.Record,
    *,
    library: str,
    owned_lows: Collection[str] | None = None,
    sid_code: str | None = None,
    keep_lows: bool = False,
    privileged: bool = False,
) -> pymarc.Record:
    """The record to store: `incoming` plus the protected parts of `current` it omitted.

    `library` is the writer's library code, `owned_lows` the LOW codes it owns (default:
    just `library`), `sid_code` its SID $b code (default: `library`). Returns a new record.
    """
    merged = copy_record(incoming, [f for f in incoming.fields if f.tag != "CAT"])
    present: Counter[FieldKey] = Counter(field_key(f) for f in merged.fields)
    present_lows = set(low_codes(merged))
    fields = merged.fields
    cats: list[Field] = []
    for field in protected_fields(
        current,
        library=library,
        owned_lows=owned_lows,
        sid_code=sid_code,
        keep_lows=keep_lows,
        privileged=privileged,
    ):
        if field.tag == "CAT":
            cats.append(copy_field(field))
            continue
        if field.tag == "LOW":
            code = _low_code(field)
            if code in present_lows:
                continue
            present_lows.add(code)
        else:
            key = field_key(field)
            if present[key] > 0:
                present[key] -= 1
                continue
        insert_in_tag_order(fields, copy_field(field))
    fields.extend(cats)
    return merged


def withdraw_title(
    record: pymarc.Record, low: str, *, sid_code: str | None = None
) -> pymarc.Record:
    """Remove library `low`'s LOW, its SID and its local references. Returns a new record.

    Local references: a field whose only owner (`$5`, `$9 …<KEEP|DROP>`) is that library
    is its local data and goes; a field other libraries also mark loses only that
    library's `$5`/`$9` subfields. A shared field that merely carries the library's
    replication command (`$9 FENNI<KEEP>` on a subject heading, say) keeps its content
    and loses the command: the heading is everyone's, only the command was the library's.
    """
    code = low.strip().upper()
    own_sid = (sid_code or low).strip().upper()
    fields: list[Field] = []
    for field in record.fields:
        if field.control_field:
            fields.append(field)
            continue
        if field.tag == "LOW" and _low_code(field) == code:
            continue
        if field.tag == "SID" and {v.strip().upper() for v in values(field, "b")} & {
            own_sid,
            code,
        }:
            continue
        owners = owner_codes(field)
        if code not in owners:
            fields.append(field)
            continue
        local_data = any(
            sf.code == "5" and sf.value.strip().upper() == code for sf in field.subfields
        )
        if local_data and owners == {code}:
            continue
        kept = [sf for sf in field.subfields if not _is_reference_of(sf.code, sf.value, code)]
        if kept:
            fields.append(Field(field.tag, Indicators(field.indicator1, field.indicator2), kept))
    return copy_record(record, fields)


def _is_reference_of(code: str, value: str, library: str) -> bool:
    if code == "5":
        return value.strip().upper() == library
    if code == "9":
        command = replication_command(value)
        return command is not None and command[0] == library
    return False
