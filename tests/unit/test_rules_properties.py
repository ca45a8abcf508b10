"""Property tests of the write rules on arbitrary, generated and real Melinda records.

- the round-trip law: `from_alma(fin01alma_view(r)) == r`, also with Asteri dates in the view
  (`from_alma(fin01alma_view(r, dates=d), originals=enrichments(r, d)) == r`);
- the protection merge never loses a protected field, whatever the incoming record omits;
- validation never raises, it only returns problems.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymarc import Field, Indicators, Subfield

from gateway.rules import fin01alma_view, from_alma, protection_merge, validate
from gateway.rules.asteri import enrichments
from gateway.rules.fields import FieldKey, field_from_line, field_key, record_key
from tests.conftest import FIXTURES, shared_fixture

NATIONAL = {"FENNI", "VIOLA", "FIKKA"}
LIBRARIES = ["HELKA", "FENNI", "FIKKA", "VIOLA", "ANDER", "TAMK", "ALMA", "KVP"]
TAGS = [
    "001", "005", "008", "019", "020", "024", "039", "049", "080", "084", "100", "245",
    "500", "509", "594", "600", "610", "650", "651", "655", "700", "830", "900", "901",
    "920", "921", "923", "924", "929", "930", "LOW", "SID", "CAT", "STA",
]  # fmt: skip
VALUES = [
    "(FIN11)000054135", "(FI-ASTERI-N)000054135", "(FI-ASTERI-S)1",
    "http://urn.fi/URN:NBN:fi:au:finaf:000054135", "http://www.yso.fi/onto/yso/p1056",
    "finaf", "yso/fin", "Suomi", "Suomi.", "Suomi..", "Mitä?", "1954-", "", ".",
    "000123456", "20201231235959", "Deleted record, do not use",
    "FENNI<KEEP>", "HELKA<DROP>", "FENNI", "HELKA", "helka", "FIKKA", "TAMK",
]  # fmt: skip

# Text as it may come from anywhere, lone surrogates (undecodable input) included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
interesting_text = st.one_of(st.sampled_from(VALUES), st.text(max_size=8))


# Strategies are built once: building them per draw costs more than the tests themselves.
tags = st.one_of(st.sampled_from(TAGS), st.text("0123456789ABZ", min_size=3, max_size=3))
indicator_pairs = st.tuples(st.sampled_from(" 01478"), st.sampled_from(" 01478"))
leaders = st.text("0123456789acdnmsi z^", min_size=24, max_size=24).map(pymarc.Leader)
texts = {"interesting": interesting_text, "any": any_text}
_subfield_lists = {
    kind: st.lists(st.builds(Subfield, st.sampled_from("a0259d8bc"), text), max_size=6)
    for kind, text in texts.items()
}


# Whole fields in the forms the conversions act on, so that collisions are tried often.
ALMA_SHAPED = [
    "024 8_$a000123456$d20201231235959",
    "024 8_$a999999999$d19700101000000",
    "024 8_$aDeleted record, do not use",
    "600 14$aGandalf$0(FIN11)000000001",
    "600 17$aGandalf.$0(FIN11)000000001$2finaf",
    "600 17$aGandalf$2finaf$0(FIN11)000000001",
    "650 _7$asaamelaiset$2yso/fin$0http://www.yso.fi/onto/yso/p11537",
    "650 _7$asaamelaiset.$0http://www.yso.fi/onto/yso/p11537$2yso/fin",
    "650 _7$asaamelaiset..$0p1$2yso/fin",
    "651 _4$aSuomi$0(FI-ASTERI-N)000000002$9FENNI<KEEP>",
    "019 __$ax",
    "920 __$ax",
    "930 __$ax",
    "929 __$ax",
    # person headings linked to Asteri, with and without dates, in the forms the view makes
    "100 1_$aKivi, Aleksis.$0(FIN11)000000001",
    "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001",
    "700 1_$aKivi, Aleksis,$ekirjoittaja.$0(FI-ASTERI-N)000000001",
    "700 1_$aKivi, Aleksis,$d1834-1872,$ekirjoittaja.$0(FI-ASTERI-N)000000001",
    "700 1_$aLinna, Väinö$0http://urn.fi/URN:NBN:fi:au:finaf:000000002",
    "700 1_$aLinna, Väinö,$d1920-$0http://urn.fi/URN:NBN:fi:au:finaf:000000002",
    "100 0_$aGandalf$cvelho.$0(FIN11)000000003$4aut",
]
# Asteri id -> the authority's 100 $d, as the catalog hands them to the view
asteri_dates = st.dictionaries(
    st.sampled_from([1, 2, 3, 54135]),
    st.sampled_from(["1834-1872", "1920-", "n. 1500-1560", "1834-1872", "x"]),
    max_size=4,
)


@st.composite
def fields(draw: st.DrawFn, text: str = "interesting") -> Field:
    if draw(st.integers(0, 4)) == 0:
        return field_from_line(draw(st.sampled_from(ALMA_SHAPED)))
    tag = draw(tags)
    if tag < "010" and tag.isdigit():
        return Field(tag, data=draw(texts[text]))
    return Field(tag, Indicators(*draw(indicator_pairs)), draw(_subfield_lists[text]))


@st.composite
def records(draw: st.DrawFn, text: str = "interesting") -> pymarc.Record:
    record = pymarc.Record()
    record.leader = draw(leaders)
    record.fields = draw(st.lists(fields(text), max_size=14))
    return record


@cache
def fixture_records() -> tuple[pymarc.Record, ...]:
    path = FIXTURES / "melinda-records.xml"
    if not path.exists():
        return ()
    return tuple(pymarc.parse_xml_to_array(str(path)))  # type: ignore[no-untyped-call]


@cache
def generated_records() -> tuple[pymarc.Record, ...]:
    try:
        from gateway.emulator.generator import generate_records
    except ImportError:
        return ()
    return tuple(generate_records(200, 4))


def real_records() -> st.SearchStrategy[pymarc.Record]:
    pool = fixture_records() + generated_records()
    if not pool:
        pytest.skip("neither ../shared/fixtures nor gateway.emulator.generator is available")
    return st.sampled_from(pool)


def some_records() -> st.SearchStrategy[pymarc.Record]:
    pool = fixture_records() + generated_records()
    return st.one_of(records(), st.sampled_from(pool)) if pool else records()


# --- the round-trip law ---------------------------------------------------------------------------


def assert_round_trip(
    record: pymarc.Record,
    record_id: int,
    updated: int,
    deleted: bool,
    dates: dict[int, str] | None = None,
) -> None:
    before = record_key(record)
    down = fin01alma_view(
        record, record_id=record_id, updated=updated, deleted=deleted, dates=dates
    )
    assert record_key(record) == before, "the view changed its input"
    assert record_key(from_alma(down, originals=enrichments(record, dates or {}))) == before


ids = st.integers(1, 999_999_999)
moments = st.integers(0, 4_102_444_799)  # up to 2099-12-31


@given(records(), ids, moments, st.booleans())
@settings(max_examples=200, deadline=None)
def test_round_trip_law_on_arbitrary_records(
    record: pymarc.Record, record_id: int, updated: int, deleted: bool
) -> None:
    assert_round_trip(record, record_id, updated, deleted)


@given(records(), ids, moments, st.booleans(), asteri_dates)
@settings(max_examples=300, deadline=None)
def test_round_trip_law_with_asteri_dates(
    record: pymarc.Record, record_id: int, updated: int, deleted: bool, dates: dict[int, str]
) -> None:
    assert_round_trip(record, record_id, updated, deleted, dates)


def test_the_dates_reach_the_view_and_leave_it_again() -> None:
    """The law above could hold with a view that adds nothing: here it must add."""
    record = pymarc.Record()
    record.fields = [
        field_from_line("100 1_$aKivi, Aleksis.$0(FIN11)000000001"),
        field_from_line("700 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001"),
        field_from_line("700 1_$aLinna, Väinö,$ekirjoittaja.$0(FI-ASTERI-N)000000002"),
    ]
    dates = {1: "1834-1872", 2: "1920-"}
    down = fin01alma_view(record, record_id=1, updated=0, deleted=False, dates=dates)
    lines = [str(f) for f in down.get_fields("100", "700")]
    assert lines == [
        "=100  1\\$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001",
        "=700  1\\$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001",
        "=700  1\\$aLinna, Väinö,$d1920-,$ekirjoittaja.$0(FI-ASTERI-N)000000002",
    ]
    back = from_alma(down, originals=enrichments(record, dates))
    assert record_key(back) == record_key(record)


def test_round_trip_law_on_every_fixture_record() -> None:
    pool = pymarc.parse_xml_to_array(str(shared_fixture("melinda-records.xml")))  # type: ignore[no-untyped-call]
    assert len(pool) == 12
    for number, record in enumerate(pool):
        for deleted in (False, True):
            assert_round_trip(record, int(record["001"].data), 1_700_000_000 + number, deleted)


def test_round_trip_law_on_generated_records() -> None:
    if not generated_records():
        pytest.skip("gateway.emulator.generator is not available")
    for number, record in enumerate(generated_records()):
        assert_round_trip(record, number + 1, 1_700_000_000 + number, deleted=number % 2 == 0)


@given(st.data(), ids, moments, st.booleans())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_law_on_edited_real_records(
    data: st.DataObject, record_id: int, updated: int, deleted: bool
) -> None:
    record = data.draw(real_records())
    extra = data.draw(st.lists(fields(), max_size=4))
    edited = pymarc.Record()
    edited.leader = record.leader
    edited.fields = [*record.fields, *extra]
    assert_round_trip(edited, record_id, updated, deleted)
    assert_round_trip(edited, record_id, updated, deleted, data.draw(asteri_dates))


# --- the protection merge ----------------------------------------------------------------------


def owners(field: Field) -> set[str]:
    """$5 CODE and $9 CODE<KEEP|DROP>, spelled out again here, independently of the rules."""
    found: set[str] = set()
    for sf in [] if field.control_field else field.subfields:
        value = sf.value.strip()
        if sf.code == "5" and value:
            found.add(value.upper())
        if sf.code == "9" and value.upper().endswith(("<KEEP>", "<DROP>")) and len(value) > 6:
            found.add(value[:-6].strip().upper())
    return found


def expected_protected(current: pymarc.Record, writer: str) -> list[Field]:
    """What the brief says an update by `writer` may not remove from `current`."""
    lows = {
        sf.value.strip().upper()
        for f in current.get_fields("LOW")
        for sf in f.subfields
        if sf.code == "a"
    }
    national = lows & NATIONAL
    kept: list[Field] = []
    for field in current.fields:
        if field.control_field:
            continue
        if field.tag == "CAT":
            kept.append(field)
        elif field.tag == "LOW":
            codes = {sf.value.strip().upper() for sf in field.subfields if sf.code == "a"}
            if codes - {writer, ""}:
                kept.append(field)
        elif field.tag == "SID":
            if not {sf.value.strip().upper() for sf in field.subfields if sf.code == "b"} & {
                writer
            }:
                kept.append(field)
        elif owners(field) - {writer} or (
            field.tag.isdigit()
            and field.tag.startswith("9")
            and national
            and writer not in national
        ):
            kept.append(field)
    return kept


def low_key(field: Field) -> FieldKey:
    """LOWs count as present by code, whatever else the field holds."""
    if field.tag == "LOW":
        codes = sorted(
            {sf.value.strip().upper() for sf in field.subfields if sf.code == "a"} - {""}
        )
        return ("LOW", None, "", "", (("a", codes[0] if codes else ""),))
    return field_key(field)


def assert_merge_keeps_protected(
    current: pymarc.Record, incoming: pymarc.Record, writer: str
) -> None:
    before = (record_key(current), record_key(incoming))
    merged = protection_merge(current, incoming, library=writer)
    assert (record_key(current), record_key(incoming)) == before, "the merge changed its input"
    result = Counter(low_key(f) for f in merged.fields)
    protected = [f for f in expected_protected(current, writer) if f.tag != "LOW"]
    missing = Counter(field_key(f) for f in protected) - result
    assert not missing, f"protected fields lost: {list(missing)}"
    protected_lows = {low_key(f) for f in expected_protected(current, writer) if f.tag == "LOW"}
    assert protected_lows <= set(result), "a protected LOW was lost"
    # Everything the update sent (but CAT, which the server keeps) is stored.
    sent = Counter(field_key(f) for f in incoming.fields if f.tag != "CAT")
    assert not sent - Counter(field_key(f) for f in merged.fields)
    # The CAT history is exactly the stored one.
    assert [field_key(f) for f in merged.fields if f.tag == "CAT"] == [
        field_key(f) for f in current.fields if f.tag == "CAT"
    ]


@given(st.data(), st.sampled_from(LIBRARIES))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_protection_merge_never_loses_a_protected_field(data: st.DataObject, writer: str) -> None:
    current = data.draw(some_records())
    kept = data.draw(
        st.lists(st.booleans(), min_size=len(current.fields), max_size=len(current.fields))
    )
    incoming = pymarc.Record()
    incoming.leader = current.leader
    incoming.fields = [f for f, keep in zip(current.fields, kept, strict=True) if keep]
    incoming.fields += data.draw(st.lists(fields(), max_size=4))
    assert_merge_keeps_protected(current, incoming, writer)


def test_protection_merge_keeps_everything_protected_when_the_update_is_empty() -> None:
    pool = fixture_records() + generated_records()
    if not pool:
        pytest.skip("neither ../shared/fixtures nor gateway.emulator.generator is available")
    for record in pool:
        for writer in LIBRARIES:
            assert_merge_keeps_protected(record, pymarc.Record(), writer)


# --- validation never raises ---------------------------------------------------------------------


@given(records("any"), st.booleans())
@settings(max_examples=200, deadline=None)
def test_validation_never_raises_on_arbitrary_records(record: pymarc.Record, is_new: bool) -> None:
    found = validate(record, is_new=is_new)
    assert all(p.severity in {"error", "warning"} and p.message for p in found)


@given(st.data(), st.booleans())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_validation_never_raises_on_damaged_records(data: st.DataObject, is_new: bool) -> None:
    record = data.draw(some_records())
    damaged = pymarc.Record()
    damaged.leader = data.draw(st.one_of(st.just(record.leader), any_text, st.none()))  # type: ignore[assignment]
    damaged.fields = list(record.fields)
    for _ in range(data.draw(st.integers(0, 3))):
        field = Field("500", Indicators(" ", " "), [Subfield("a", "x")])
        field.tag = data.draw(st.one_of(any_text, st.none(), st.integers()))  # type: ignore[assignment]
        field.subfields = data.draw(
            st.lists(st.one_of(st.tuples(any_text, any_text), st.tuples(st.none(), st.none())))
        )
        damaged.fields.insert(data.draw(st.integers(0, len(damaged.fields))), field)
    found = validate(damaged, is_new=is_new)
    assert isinstance(found, list)
