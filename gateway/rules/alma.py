"""The fin01alma view (downstream) and the upstream conversion of Alma-form records.

Downstream, `fin01alma_view` turns Melinda's record into the form Alma consumes (SPEC
section 3); upstream, `from_alma` is its exact inverse, so for every record r
`from_alma(fin01alma_view(r, ...)) == r` (the round-trip law). The rules:

1. Asteri headings. A 6XX field with 2nd indicator `4`, no `$2`, and at least one `$0`
   holding an Asteri name-authority id gets 2nd indicator `7` and `$2 finaf`, inserted
   right before its first `$0` (for the subject headings of rule 3, which then moves it
   after the `$0`s). Asteri ids are the forms Melinda's own validators recognise as
   Asteri (marc-record-validators-melinda):
   `(FIN11)…`, `(FI-ASTERI-N)…` and `http(s)://urn.fi/URN:NBN:fi:au:finaf:…`. finaf is
   Asteri's name authority file; `(FI-ASTERI-S)`/`(FIN10)` (subject authorities) and other
   urn.fi au vocabularies such as `slm` are not finaf and are left alone.
   Upstream: a 6XX with 2nd indicator `7`, exactly one `$2` whose value is `finaf` standing
   right before the first `$0`, and an Asteri `$0` gets indicator `4` and loses the `$2`.
2. Local fields. 019, 039, 049, 509, 930 are exchanged with 920, 921, 923, 924, 929.
   The exchange works both ways in both directions (a 920 in Melinda would become 019 in
   the view, and an Alma record's own 019 becomes 920 in Melinda): Melinda uses none of
   the 92X tags, and exchanging is what keeps the mapping lossless.
3. Subject headings (600, 610, 611, 630, 647, 648, 650, 651, 655) with exactly one `$2`
   and one unbroken run of `$0`s; the heading subfield is the one right before that
   `$2`/`$0` block and must have a letter code. Melinda form: `… heading $2 source $0 id…`
   with no terminal period; Alma form: `… heading. $0 id… $2 source`. A heading ending in
   `?`, `!` or `-` gets no period (ISBD adds none there); a Melinda heading that already
   ends in `.` is left alone (its Alma form could not be told from that of the heading
   without the period). Upstream a field in Alma form loses the period if it has one. As
   with rule 2 the exchange works both ways, so a field already in Alma form in Melinda is
   shown in Melinda form; fields in any other shape, or without `$0`, pass unchanged.
4. The staleness field, inserted before the record's first field tagged 024 or higher:
   exactly `024 8_ $a <Melinda ID, 9 digits> $d <YYYYMMDDhhmmss, UTC, last update>`.
   A deleted record also gets `024 8_ $a Deleted record, do not use` right before it
   (in `$a`, the subfield Alma shows for an identifier, so whoever finds it sees it).
   Upstream drops the first 024 of exactly that staleness form, and the deleted-record
   024 right before it; any other 024 is the record's own. Placing them before every
   original 024 makes "the first one" always the view's own.
5. Person-name `$d` from Asteri (SPEC downstream rule 5): a 100/700 without `$d` linked to
   an authority with dates shows them (`gateway.rules.asteri`, the gateway's reading of the
   guidelines); the catalog hands the authorities' dates in. Upstream puts back the stored
   field wherever the view enriched one (`from_alma(..., originals=enrichments(stored, dates))`).

Rules 1-3 are exchanges (involutions on fields); the view applies 1 then 3 and upstream
3 then 1, so the law holds for every record, including records that already carry
Alma-form fields. The view keeps field order and never touches the Leader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pymarc
from pymarc import Field, Indicators, Subfield

from gateway.records.stamps import STAMP_PATTERN, staleness_stamp
from gateway.rules.asteri import Enrichments, with_dates, without_dates
from gateway.rules.fields import copy_field, copy_record, is_numeric_tag

STALENESS_TAG = "024"
DELETED_TEXT = "Deleted record, do not use"

# Melinda local field -> Alma local field (an exchange: also applied the other way).
LOCAL_FIELD_MAP = {"019": "920", "039": "921", "049": "923", "509": "924", "930": "929"}
LOCAL_FIELD_EXCHANGE = {
    **LOCAL_FIELD_MAP,
    **{alma: melinda for melinda, alma in LOCAL_FIELD_MAP.items()},
}
ALMA_LOCAL_TAGS = frozenset(LOCAL_FIELD_MAP.values())

ASTERI_PREFIXES = (
    "(FIN11)",
    "(FI-ASTERI-N)",
    "http://urn.fi/URN:NBN:fi:au:finaf:",
    "https://urn.fi/URN:NBN:fi:au:finaf:",
)
FINAF = "finaf"
SUBJECT_TAGS = frozenset({"600", "610", "611", "630", "647", "648", "650", "651", "655"})
# After these a heading needs no terminal period (ISBD adds none after a comma either).
_NO_PERIOD_AFTER = ("?", "!", "-", ",")  # a name heading ending in a comma: "Kivi, Aleksis,"

_MELINDA_ID = re.compile(r"^[0-9]{9}$")


# --- the staleness field ---------------------------------------------------------------


def staleness_field(record_id: int, updated: int) -> Field:
    return Field(
        STALENESS_TAG,
        indicators=Indicators("8", " "),
        subfields=[Subfield("a", f"{record_id:09d}"), Subfield("d", staleness_stamp(updated))],
    )


def deleted_field() -> Field:
    return Field(
        STALENESS_TAG, indicators=Indicators("8", " "), subfields=[Subfield("a", DELETED_TEXT)]
    )


def is_staleness_field(field: Field) -> bool:
    """Exactly `024 8_ $a <9 digits> $d <14 digits>`."""
    if field.tag != STALENESS_TAG or field.control_field:
        return False
    if field.indicator1 != "8" or field.indicator2 != " " or len(field.subfields) != 2:
        return False
    (a, d) = field.subfields
    return (
        a.code == "a"
        and d.code == "d"
        and bool(_MELINDA_ID.match(a.value))
        and bool(STAMP_PATTERN.match(d.value))
    )


def is_deleted_field(field: Field) -> bool:
    """Exactly `024 8_ $a Deleted record, do not use`."""
    return (
        field.tag == STALENESS_TAG
        and not field.control_field
        and field.indicator1 == "8"
        and field.indicator2 == " "
        and len(field.subfields) == 1
        and field.subfields[0].code == "a"
        and field.subfields[0].value == DELETED_TEXT
    )


def find_staleness(record: pymarc.Record) -> tuple[str, str] | None:
    """(Melinda ID, `YYYYMMDDhhmmss`) of the record's staleness 024, if it carries one."""
    for field in record.fields:
        if is_staleness_field(field):
            return field.subfields[0].value, field.subfields[1].value
    return None


def _insertion_point(fields: list[Field]) -> int:
    """Before the first field tagged 024 or higher: ahead of every 024 the record has."""
    for index, field in enumerate(fields):
        if is_numeric_tag(field.tag) and field.tag >= STALENESS_TAG:
            return index
    return len(fields)


# --- rule 1: Asteri headings -------------------------------------------------------------


def is_asteri_id(value: str) -> bool:
    return value.strip().startswith(ASTERI_PREFIXES)


def _codes(field: Field) -> list[str]:
    return [sf.code for sf in field.subfields]


def _has_asteri_zero(field: Field) -> bool:
    return any(sf.code == "0" and is_asteri_id(sf.value) for sf in field.subfields)


def _is_melinda_asteri_heading(field: Field) -> bool:
    return (
        field.tag.startswith("6")
        and is_numeric_tag(field.tag)
        and field.indicator2 == "4"
        and "2" not in _codes(field)
        and _has_asteri_zero(field)
    )


def _is_alma_asteri_heading(field: Field) -> bool:
    if not (field.tag.startswith("6") and is_numeric_tag(field.tag)):
        return False
    if field.indicator2 != "7" or not _has_asteri_zero(field):
        return False
    codes = _codes(field)
    if codes.count("2") != 1:
        return False
    two = codes.index("2")
    return field.subfields[two].value == FINAF and codes.index("0") == two + 1


def _exchange_asteri_heading(field: Field) -> Field:
    """Rule 1 as an exchange: Melinda form <-> Alma form; other fields unchanged."""
    if _is_melinda_asteri_heading(field):
        first_zero = _codes(field).index("0")
        subfields = list(field.subfields)
        subfields.insert(first_zero, Subfield("2", FINAF))
        return Field(field.tag, Indicators(field.indicator1, "7"), subfields)
    if _is_alma_asteri_heading(field):
        subfields = [sf for sf in field.subfields if sf.code != "2"]
        return Field(field.tag, Indicators(field.indicator1, "4"), subfields)
    return field


# --- rule 3: subject subfield order and terminal period -------------------------------


def _zero_run(codes: list[str]) -> tuple[int, int] | None:
    """(first, last) index of the field's $0s when they form one unbroken run."""
    zeros = [i for i, code in enumerate(codes) if code == "0"]
    if not zeros or zeros[-1] - zeros[0] != len(zeros) - 1:
        return None
    return zeros[0], zeros[-1]


def _exchange_subject_form(field: Field) -> Field:
    """Rule 3 as an exchange: `H $2 s $0 i` <-> `H. $0 i $2 s`; other fields unchanged."""
    if field.tag not in SUBJECT_TAGS or field.control_field:
        return field
    codes = _codes(field)
    if codes.count("2") != 1:
        return field
    run = _zero_run(codes)
    if run is None:
        return field
    first, last = run
    two = codes.index("2")
    subfields = list(field.subfields)
    if two == first - 1:  # Melinda form: heading, $2, $0…
        heading = first - 2
        if heading < 0 or not subfields[heading].code.isalpha():
            return field
        text = subfields[heading].value
        if text.endswith("."):
            return field
        alma_text = text if text.endswith(_NO_PERIOD_AFTER) else text + "."
        block = subfields[first : last + 1]
        new = [
            *subfields[:heading],
            Subfield(subfields[heading].code, alma_text),
            *block,
            subfields[two],
            *subfields[last + 1 :],
        ]
        return Field(field.tag, Indicators(field.indicator1, field.indicator2), new)
    if two == last + 1:  # Alma form: heading., $0…, $2
        heading = first - 1
        if heading < 0 or not subfields[heading].code.isalpha():
            return field
        text = subfields[heading].value
        added_period = text.endswith(".") and not text[:-1].endswith((".", *_NO_PERIOD_AFTER))
        if not (added_period or text.endswith(_NO_PERIOD_AFTER)):
            return field
        block = subfields[first : last + 1]
        new = [
            *subfields[:heading],
            Subfield(subfields[heading].code, text[:-1] if added_period else text),
            subfields[two],
            *block,
            *subfields[two + 1 :],
        ]
        return Field(field.tag, Indicators(field.indicator1, field.indicator2), new)
    return field


# --- rule 2: local fields ----------------------------------------------------------------


def _exchange_local_tag(field: Field) -> Field:
    other = LOCAL_FIELD_EXCHANGE.get(field.tag)
    if other is None:
        return field
    moved = copy_field(field)
    moved.tag = other
    return moved


# --- the conversions -------------------------------------------------------------------


def downstream_field(field: Field) -> Field:
    """One field as the fin01alma view holds it (`field` itself when the view leaves it)."""
    if field.tag in LOCAL_FIELD_EXCHANGE:
        return _exchange_local_tag(field)
    if field.tag.startswith("6") and not field.control_field:
        return _exchange_subject_form(_exchange_asteri_heading(field))
    return field


def _upstream_field(field: Field) -> Field:
    if field.tag in LOCAL_FIELD_EXCHANGE:
        return _exchange_local_tag(field)
    if field.tag.startswith("6") and not field.control_field:
        return _exchange_asteri_heading(_exchange_subject_form(field))
    return field


def fin01alma_fields(
    record: pymarc.Record,
    *,
    record_id: int,
    updated: int,
    deleted: bool,
    dates: Mapping[int, str] | None = None,
) -> list[Field]:
    """The fields of the fin01alma view; those the view leaves alone are `record`'s own
    objects, not copies, so a caller can reuse work done on them (never mutate them).

    `dates`: Asteri id -> the authority's 100 $d, for the linked headings' dates (rule 5)."""
    fields = [downstream_field(f) for f in record.fields]
    if dates:
        fields = [with_dates(f, dates) or f for f in fields]
    added = [deleted_field()] if deleted else []
    added.append(staleness_field(record_id, updated))
    point = _insertion_point(fields)
    fields[point:point] = added
    return fields


def fin01alma_view(
    record: pymarc.Record,
    *,
    record_id: int,
    updated: int,
    deleted: bool,
    dates: Mapping[int, str] | None = None,
) -> pymarc.Record:
    """Melinda's record as Alma consumes it (SPEC section 3, downstream). Returns a new record.

    `updated` is the record's last update in epoch seconds (UTC); `deleted` adds the
    "Deleted record, do not use" 024.
    """
    fields = fin01alma_fields(
        record, record_id=record_id, updated=updated, deleted=deleted, dates=dates
    )
    return copy_record(record, fields)


def is_alma_form(record: pymarc.Record) -> bool:
    """Whether an incoming record arrives in Alma's form.

    True when it carries the staleness 024, any of 920/921/923/924/929, or a 6XX with 2nd
    indicator 7 and `$2 finaf`: marks only the fin01alma view (or Alma) produces.
    """
    for field in record.fields:
        if field.control_field:
            continue
        if field.tag in ALMA_LOCAL_TAGS or is_staleness_field(field):
            return True
        if (
            field.tag.startswith("6")
            and field.indicator2 == "7"
            and any(sf.code == "2" and sf.value.strip() == FINAF for sf in field.subfields)
        ):
            return True
    return False


def from_alma(record: pymarc.Record, *, originals: Enrichments | None = None) -> pymarc.Record:
    """The exact inverse of `fin01alma_view` (without the staleness 024). Returns a new record.

    Drops the first staleness 024 (and the deleted-record 024 right before it) and converts
    every field back to Melinda's form; `originals` (`asteri.enrichments` of the stored
    record) undoes the Asteri dates the view added.
    """
    fields = list(record.fields)
    for index, field in enumerate(fields):
        if is_staleness_field(field):
            start = index - 1 if index > 0 and is_deleted_field(fields[index - 1]) else index
            del fields[start : index + 1]
            break
    melinda = copy_record(record, fields)
    melinda.fields = without_dates([_upstream_field(f) for f in melinda.fields], originals or {})
    return melinda
