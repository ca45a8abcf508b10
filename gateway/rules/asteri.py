"""Asteri links in bibliographic headings: dates from the authority in the fin01alma view, their
exact removal upstream, the rewrite of linked headings after an authority's heading changes,
and the see-from rules an authority update must keep. Pure: the catalog looks the authorities
up and hands their data in.

The fin01alma dates are the gateway's reading of the guidelines ("$d follows Asteri; Alma gets
the dates through fin01alma"); how Melinda's view does it is not published:
- a person heading (100, 700) without `$d` whose first Asteri `$0` points to an authority with
  a 100 `$d` gets that `$d` right after its leading name subfields ($a $b $c $q);
- the terminal punctuation moves: the subfield before the new `$d` ends in a comma, and the
  `$d` takes the mark that subfield had (a period is left off after an open date `1950-`);
- upstream, a field exactly as the view enriched it goes back to the stored record's field
  (`enrichments` of the stored record name them), so the round-trip law holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pymarc
from pymarc import Field, Subfield

from gateway.indexing import AUTHORITY_HEADING_TAGS, LINKED_NAME_TAGS, asteri_id, heading
from gateway.rules.fields import FieldKey, field_key

ENRICHED_TAGS = frozenset({"100", "700"})  # person headings whose $d the view fills
NAME_CODES = "abcdgnq"  # the subfields a linked heading takes from the authority's heading
_LEADING_NAME = "abcq"  # a person heading's name part, before its dates
LINK_CATALOGER = "LOAD-ALINK"  # the CAT Melinda's linking job leaves on the records it rewrites


def linked_ids(record: pymarc.Record) -> set[int]:
    """The Asteri ids the record's name headings link to ($0 in any form)."""
    found: set[int] = set()
    for field in record.fields:
        if field.tag in LINKED_NAME_TAGS and not field.control_field:
            for sf in field.subfields:
                if sf.code == "0":
                    linked = asteri_id(sf.value)
                    if linked is not None:
                        found.add(linked)
    return found


def _first_link(field: Field) -> int | None:
    for sf in field.subfields:
        if sf.code == "0":
            linked = asteri_id(sf.value)
            if linked is not None:
                return linked
    return None


def authority_heading_field(authority: pymarc.Record) -> Field | None:
    """The authority's established heading (its first 100/110/111/130/150/151)."""
    for field in authority.fields:
        if field.tag in AUTHORITY_HEADING_TAGS and not field.control_field:
            return field
    return None


def authority_dates(authority: pymarc.Record) -> str | None:
    """The dates of a person authority (100 `$d`), without terminal punctuation."""
    for field in authority.get_fields("100"):
        for sf in field.subfields:
            if sf.code == "d" and sf.value.strip():
                return sf.value.strip().rstrip(".,; ").strip() or None
    return None


def with_dates(field: Field, dates: Mapping[int, str]) -> Field | None:
    """The field as the fin01alma view shows it with its authority's dates, or None when the
    rule does not apply (not a person heading, a `$d` already, no linked authority with dates)."""
    if field.tag not in ENRICHED_TAGS or field.control_field:
        return None
    subfields = field.subfields
    if any(sf.code == "d" for sf in subfields):
        return None
    linked = _first_link(field)
    found = dates.get(linked) if linked is not None else None
    if not found:
        return None
    point = 0
    while point < len(subfields) and subfields[point].code in _LEADING_NAME:
        point += 1
    if point == 0:
        return None
    before = subfields[point - 1].value
    stripped = before.rstrip()
    if stripped.endswith(".") and not stripped.endswith(".."):
        before, mark = stripped[:-1] + ",", "" if found.endswith("-") else "."
    elif stripped.endswith(","):
        before, mark = stripped, ","
    else:
        before, mark = stripped + ",", ""
    new = [
        *subfields[: point - 1],
        Subfield(subfields[point - 1].code, before),
        Subfield("d", found + mark),
        *subfields[point:],
    ]
    return Field(field.tag, field.indicators, new)


Enrichments = Mapping[FieldKey, Sequence[Field | None]]


def enrichments(
    record: pymarc.Record, dates: Mapping[int, str]
) -> dict[FieldKey, list[Field | None]]:
    """What upstream must undo: for each form of a person heading in the view, its
    occurrences in field order, each the stored field it was enriched from or None (a field
    that has that form itself: it stays)."""
    found: dict[FieldKey, list[Field | None]] = {}
    if not dates:
        return found
    for field in record.fields:
        if field.tag not in ENRICHED_TAGS or field.control_field:
            continue
        enriched = with_dates(field, dates)
        found.setdefault(field_key(enriched or field), []).append(field if enriched else None)
    return {key: seen for key, seen in found.items() if any(f is not None for f in seen)}


def without_dates(fields: Iterable[Field], originals: Enrichments) -> list[Field]:
    """Upstream: each occurrence of a form the view enriched becomes the stored field again."""
    if not originals:
        return list(fields)
    counts: dict[FieldKey, int] = {}
    result: list[Field] = []
    for field in fields:
        if field.tag in ENRICHED_TAGS and not field.control_field:
            key = field_key(field)
            seen = originals.get(key)
            if seen is not None:
                index = counts.get(key, 0)
                counts[key] = index + 1
                original = seen[index] if index < len(seen) else None
                if original is not None:
                    result.append(original)
                    continue
        result.append(field)
    return result


# --- authority heading changes reach the linked headings --------------------------------------


def _name_run(subfields: list[Subfield]) -> int:
    end = 0
    while end < len(subfields) and subfields[end].code in NAME_CODES:
        end += 1
    return end


def _terminal(value: str) -> str:
    stripped = value.rstrip()
    return stripped[-1] if stripped and stripped[-1] in ".," else ""


def relinked(field: Field, authority_id: int, new_heading: Field) -> Field | None:
    """The bib heading rewritten after the linked authority's heading became `new_heading`, or
    None when the field does not link there, is another kind of name, or is unchanged.

    The name subfields ($a $b $c $d $g $n $q) come from the authority ($d only into a heading
    that has dates); the rest ($e, $t, $0, $4, …) stay; the bib heading's terminal mark stays
    where it was."""
    if field.tag not in LINKED_NAME_TAGS or field.control_field:
        return None
    if field.tag[1:] != new_heading.tag[1:] or _first_link(field) != authority_id:
        return None
    subfields = list(field.subfields)
    end = _name_run(subfields)
    if end == 0:
        return None
    mark = _terminal(subfields[end - 1].value)
    # a heading without dates stays so (the fin01alma view shows the authority's)
    codes = (
        NAME_CODES if any(sf.code == "d" for sf in subfields[:end]) else NAME_CODES.replace("d", "")
    )
    names = [Subfield(sf.code, sf.value) for sf in new_heading.subfields if sf.code in codes]
    if not names:
        return None
    last = names[-1].value.rstrip()
    if last.endswith((".", ",")) and not last.endswith(".."):
        last = last[:-1]
    if mark and not (mark == "." and last.endswith("-")):
        last += mark
    names[-1] = Subfield(names[-1].code, last)
    rewritten = Field(field.tag, field.indicators, [*names, *subfields[end:]])
    return None if field_key(rewritten) == field_key(field) else rewritten


def relink_record(
    record: pymarc.Record, authority_id: int, new_heading: Field
) -> pymarc.Record | None:
    """The record with every heading linked to the authority rewritten, or None if none changed."""
    changed = False
    fields: list[Field] = []
    for field in record.fields:
        rewritten = relinked(field, authority_id, new_heading)
        changed = changed or rewritten is not None
        fields.append(rewritten or field)
    if not changed:
        return None
    record.fields = fields
    return record


# --- see-from rules ---------------------------------------------------------------------------


def see_from_headings(authority: pymarc.Record) -> set[str]:
    """The authority's see-from forms (4XX), normalised as searched."""
    found: set[str] = set()
    for tag in AUTHORITY_HEADING_TAGS:
        for field in authority.get_fields("4" + tag[1:]):
            name = heading(" ".join(sf.value for sf in field.subfields if sf.code in NAME_CODES))
            if name:
                found.add(name)
    return found


def established_heading(authority: pymarc.Record) -> str:
    field = authority_heading_field(authority)
    if field is None:
        return ""
    return heading(" ".join(sf.value for sf in field.subfields if sf.code in NAME_CODES))


def see_from_breaks(
    authority: pymarc.Record,
    *,
    headings_elsewhere: Mapping[str, int],
    see_froms_elsewhere: Mapping[str, int],
) -> list[str]:
    """Why saving the authority would break a see-from chain (empty: it would not).

    A see-from form leads a searcher to exactly one established heading, so it may not be
    another authority's established heading, and a heading may not be another's see-from
    form (the name would lead two ways). The maps give, for each of this record's names,
    the other authority that holds it as heading / as see-from."""
    problems: list[str] = []
    for name in sorted(see_from_headings(authority)):
        other = headings_elsewhere.get(name)
        if other is not None:
            problems.append(
                f"see-from '{name}' is the established heading of authority {other:09d}"
            )
    own = established_heading(authority)
    other = see_froms_elsewhere.get(own) if own else None
    if other is not None:
        problems.append(f"heading '{own}' is a see-from form of authority {other:09d}")
    return problems
