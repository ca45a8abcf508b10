"""Validation on save: each check on the smallest record that fails it, and the real records."""

from __future__ import annotations

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield

from gateway.errors import Problem
from gateway.records import record_to_iso2709
from gateway.rules import problem_number, validate
from gateway.rules.fields import record_from_lines
from tests.conftest import shared_fixture

FULL = [
    "001 000000001",
    "008 " + "151120s2016    fi            ||||    fin||"[:40],
    "245 10$aTitle.",
    "264 _1$aHelsinki :$bOtava,$c2019",
    "300 __$a300 sivua",
    "336 __$ateksti$btxt$2rdacontent",
    "337 __$akäytettävissä ilman laitetta$bn$2rdamedia",
    "338 __$anide$bnc$2rdacarrier",
]


def problems(
    *lines: str, is_new: bool = True, leader: str = "00000cam a2200000 i 4500"
) -> list[Problem]:
    return validate(record_from_lines(*lines, leader=leader), is_new=is_new)


def numbered(found: list[Problem]) -> list[tuple[str, str, str]]:
    return [(p.severity, problem_number(p), p.tag) for p in found]


def without(tag: str) -> list[str]:
    return [line for line in FULL if not line.startswith(tag)]


def test_full_record_has_no_problem() -> None:
    assert len(FULL[1]) == 44
    assert problems(*FULL) == []


# --- Leader -------------------------------------------------------------------------------------


def test_missing_leader_is_an_error() -> None:
    record = record_from_lines(*FULL)
    record.leader = None  # type: ignore[assignment]
    assert numbered(validate(record, is_new=False)) == [("error", "0101", "LDR")]


def test_leader_of_wrong_length_is_an_error() -> None:
    record = record_from_lines(*FULL)
    # A plain string, as a careless caller might set.
    record.leader = "00000cam a2200000 i 450"  # type: ignore[assignment]
    assert numbered(validate(record, is_new=False)) == [("error", "0101", "LDR")]


def test_blank_leader_is_an_error() -> None:
    assert ("error", "0102", "LDR") in numbered(
        problems(*FULL, leader=" " * 10 + "22" + " " * 8 + "4500")
    )


@pytest.mark.parametrize(
    ("position", "number"), [(6, "0102"), (7, "0102"), (5, "0103"), (17, "0103")]
)
def test_leader_position_with_invalid_value(position: int, number: str) -> None:
    leader = list("00000cam a2200000 i 4500")
    leader[position] = "%"
    found = problems(*FULL, leader="".join(leader))
    assert [(problem_number(p), p.code) for p in found] == [(number, f"{position:02d}")]
    assert found[0].is_error == (number == "0102")


def test_aleph_blanks_in_the_leader_are_blanks() -> None:
    assert problems(*FULL, leader="00000cam^a22001937i^4500") == []


# --- required fields ------------------------------------------------------------------------------


def test_missing_245_is_an_error_even_on_update() -> None:
    assert numbered(problems(*without("245"), is_new=False)) == [("error", "0110", "245")]


def test_repeated_245_is_a_warning() -> None:
    assert numbered(problems(*FULL, "245 10$aOther")) == [("warning", "0111", "245")]


def test_missing_008_is_an_error_on_new_and_a_warning_on_update() -> None:
    assert numbered(problems(*without("008"))) == [("error", "0120", "008")]
    assert numbered(problems(*without("008"), is_new=False)) == [("warning", "0120", "008")]


def test_008_of_wrong_length_is_an_error() -> None:
    found = problems(*without("008"), "008 " + "x" * 41, is_new=False)
    assert numbered(found) == [("error", "0121", "008")]
    assert "41 characters" in found[0].message


@pytest.mark.parametrize(
    ("tag", "number"), [("26", "0130"), ("300", "0131"), ("336", "0132"), ("338", "0132")]
)
def test_missing_publication_extent_or_content_type_fields(tag: str, number: str) -> None:
    assert [(s, n) for s, n, _ in numbered(problems(*without(tag)))] == [("error", number)]
    assert [(s, n) for s, n, _ in numbered(problems(*without(tag), is_new=False))] == [
        ("warning", number)
    ]


def test_260_does_as_well_as_264() -> None:
    assert problems(*without("264"), "260 __$aHelsinki") == []


@pytest.mark.parametrize("level", ["5", "7", "8"])
def test_brief_and_prepublication_records_are_exempt(level: str) -> None:
    leader = f"00000cam a2200000{level}i 4500"
    assert problems("008 " + "x" * 40, "245 10$aTitle", leader=leader) == []


# --- fields --------------------------------------------------------------------------------------


def test_empty_subfield_is_an_error() -> None:
    assert numbered(problems(*FULL, "500 __$a")) == [("error", "0143", "500")]


def test_cat_with_empty_subfield_is_fine() -> None:
    assert problems(*FULL, "CAT __$aCONV-ISBD$b$c20120401$lFIN01$h2007") == []


def test_field_without_subfields_is_an_error() -> None:
    assert numbered(problems(*FULL, "500 __")) == [("error", "0143", "500")]


def test_empty_control_field_is_an_error() -> None:
    assert numbered(problems(*FULL, "007 ")) == [("error", "0143", "007")]


@pytest.mark.parametrize("indicators", ["#_", "_\N{LATIN SMALL LETTER A WITH DIAERESIS}", "A_"])
def test_invalid_indicator_is_an_error(indicators: str) -> None:
    found = problems(*FULL, f"500 {indicators}$aNote")
    assert numbered(found) == [("error", "0141", "500")]


def test_invalid_subfield_code_is_an_error() -> None:
    assert numbered(problems(*FULL, "500 __$ANote")) == [("error", "0142", "500")]


def test_invalid_tag_is_an_error() -> None:
    assert numbered(problems(*FULL, "5x0 __$aNote")) == [("error", "0140", "5x0")]


def test_lone_surrogate_is_invalid_utf8() -> None:
    found = problems(*FULL, "500 __$aBad \udcc3 byte")
    assert numbered(found) == [("error", "0144", "500")]
    assert "UTF-8" in found[0].message


def test_control_character_is_an_error() -> None:
    assert numbered(problems(*FULL, "500 __$aField\x1eseparator")) == [("error", "0144", "500")]


def test_record_over_45000_bytes_is_an_error() -> None:
    long_notes = [f"505 0_$a{'x' * 1990}" for _ in range(23)]
    assert numbered(problems(*FULL, *long_notes)) == [("error", "0150", "")]
    assert numbered(problems(*FULL, *long_notes[:22])) == []


def test_size_counts_utf8_bytes() -> None:
    # 23 fields of 1000 two-byte characters: under 45,000 characters, over 45,000 bytes.
    notes = [f"505 0_$a{'ä' * 1000}" for _ in range(23)]
    assert numbered(problems(*FULL, *notes)) == [("error", "0150", "")]


@pytest.mark.parametrize("subfields", ["$a{}", "$aä$b{}$cö", "$a{}$b"])
def test_the_size_limit_is_the_iso2709_length_to_the_byte(subfields: str) -> None:
    # a clean field and one with a problem (an empty $b) are measured alike
    def record(filler: int) -> pymarc.Record:
        bulk = [f"505 0_$a{'x' * 9000}"] * 4  # a field holds at most 9,999 bytes
        return record_from_lines(*FULL, *bulk, "505 0_" + subfields.format("x" * filler))

    base = len(record_to_iso2709(record(0)))
    at_limit = record(45_000 - base)
    assert len(record_to_iso2709(at_limit)) == 45_000
    assert "0150" not in [problem_number(p) for p in validate(at_limit, is_new=True)]
    over = record(45_001 - base)
    assert "0150" in [problem_number(p) for p in validate(over, is_new=True)]


# --- never raises ------------------------------------------------------------------------------


def test_unreadable_fields_are_problems_not_exceptions() -> None:
    record = record_from_lines(*FULL)
    odd = Field("500", Indicators(" ", " "), [Subfield("a", "x")])
    odd.subfields = [Subfield(None, None), ("a",), 5]  # type: ignore[arg-type,list-item]
    weird = Field("600", Indicators(" ", " "), [Subfield("a", "x")])
    weird.tag = None  # type: ignore[assignment]
    record.fields.extend([odd, weird, Field("001", data=None)])
    found = validate(record, is_new=True)
    assert found
    assert all(p.is_error for p in found)


def test_not_a_record_at_all_is_a_problem() -> None:
    assert validate(object(), is_new=True)  # type: ignore[arg-type]


# --- numbers ---------------------------------------------------------------------------------------


def test_problem_number_is_empty_for_foreign_problems() -> None:
    assert problem_number(Problem("error", "Something else entirely")) == ""


def test_every_message_template_reads_back_as_its_number() -> None:
    from gateway.rules.validation import MESSAGES

    for number, template in MESSAGES.items():
        message = template.replace("{", "<").replace("}", ">")
        assert problem_number(Problem("error", message)) == number


# --- the real records ---------------------------------------------------------------------------


def test_every_fixture_record_validates_without_errors_as_an_update() -> None:
    records = pymarc.parse_xml_to_array(str(shared_fixture("melinda-records.xml")))  # type: ignore[no-untyped-call]
    assert len(records) == 12
    for record in records:
        errors = [str(p) for p in validate(record, is_new=False) if p.is_error]
        assert errors == [], record["001"].data


def test_generated_records_validate_without_any_problem() -> None:
    generator = pytest.importorskip("gateway.emulator.generator")
    for record in generator.generate_records(300, 5):
        for is_new in (False, True):
            assert validate(record, is_new=is_new) == [], record["001"].data
