"""Set membership from record content, as Melinda's provider's set definitions give it."""

from __future__ import annotations

import json

import pymarc
import pytest
from pymarc import Field, Subfield

from gateway.emulator.generator import generate_records
from gateway.oai_sets import MELINDA_SETS, oai_sets_of, set_specs_of_xml, set_specs_tuple
from gateway.records.marcxml import record_to_marcxml
from tests.conftest import shared_fixture


def record(level: str = "m", **fields: list[tuple[str, str]]) -> pymarc.Record:
    """A record with Leader/07 `level` and, per tag, fields of (code, value) subfield pairs."""
    rec = pymarc.Record()
    rec.leader = pymarc.Leader(f"00000na{level} a2200000 i 4500")
    for tag, subfields in fields.items():
        for code, value in subfields:
            rec.add_field(
                Field(tag=tag.lstrip("_"), indicators=[" ", " "], subfields=[Subfield(code, value)])
            )
    return rec


def test_named_sets_match_the_providers_definitions() -> None:
    definitions = json.loads(
        shared_fixture("oai-pmh-responses", "melinda-sets.json").read_text(encoding="utf-8")
    )
    assert [(s.spec, s.name) for s in MELINDA_SETS] == [(d["spec"], d["name"]) for d in definitions]


def test_fennica_needs_both_fikka_and_042_finb() -> None:
    both = record(LOW=[("a", "FIKKA")], _042=[("a", "finb")])
    assert {"fennica", "monographic", "monographic:fennica"} <= oai_sets_of(both)
    assert "fennica" not in oai_sets_of(record(LOW=[("a", "FIKKA")]))
    assert "fennica" not in oai_sets_of(record(_042=[("a", "finb")]))


def test_viola_is_042_finbd_and_finbd_is_not_fennica() -> None:
    sets = oai_sets_of(record("m", LOW=[("a", "FIKKA")], _042=[("a", "finbd")]))
    assert "viola" in sets
    assert "fennica" not in sets


@pytest.mark.parametrize(
    ("level", "expected", "absent"),
    [("m", "monographic", "serial"), ("s", "serial", "monographic")],
)
def test_bibliographic_level_from_leader_07(level: str, expected: str, absent: str) -> None:
    fennica = record(level, LOW=[("a", "FIKKA")], _042=[("a", "finb")])
    sets = oai_sets_of(fennica)
    assert {expected, f"{expected}:fennica"} <= sets
    assert absent not in sets and f"{absent}:fennica" not in sets


def test_component_part_is_neither_monographic_nor_serial() -> None:
    assert oai_sets_of(record("a", LOW=[("a", "HELKA")])) == set()


def test_arto_musa_helmet() -> None:
    assert "arto" in oai_sets_of(record(_960=[("a", "ARTO")]))
    assert "musa" in oai_sets_of(record(LOW=[("a", "MUSA")]))
    assert "helmet" in oai_sets_of(record(SID=[("b", "helme")]))
    assert "helmet" not in oai_sets_of(record(LOW=[("a", "HELME")]))


def test_headings_are_case_and_blank_insensitive() -> None:
    sets = oai_sets_of(record(LOW=[("a", " fikka ")], _042=[("a", "FINB")]))
    assert "fennica" in sets


def test_low_sets_are_not_computed_here() -> None:
    assert not any(spec.startswith("low:") for spec in oai_sets_of(record(LOW=[("a", "HELKA")])))


def expected_specs(rec: pymarc.Record) -> list[str]:
    """The sets of a record the long way (pymarc): named sets in Melinda's order, then LOWs."""
    named = oai_sets_of(rec)
    lows = {
        value.strip().upper()
        for field in rec.get_fields("LOW")
        for value in field.get_subfields("a")
        if value.strip()
    }
    return [s.spec for s in MELINDA_SETS if s.spec in named] + [f"low:{c}" for c in sorted(lows)]


def tricky_records() -> list[pymarc.Record]:
    """Headings in every case and spelling the byte scan must still read as Melinda does."""
    two_b = Field(tag="SID", indicators=[" ", " "],
                  subfields=[Subfield("c", "1"), Subfield("b", "x"), Subfield("b", " HeLmE ")])  # fmt: skip
    both = Field(tag="042", indicators=[" ", " "],
                 subfields=[Subfield("a", "finbd"), Subfield("a", "finb")])  # fmt: skip
    found = [
        record(LOW=[("a", "fikka")], _042=[("a", "f\u0131nb")]),  # dotless i upper-cases to I
        record(LOW=[("a", "FIKKA")], _042=[("a", "\ufb01nb")]),  # the ligature fi: FI
        record("s", LOW=[("a", " FIKKA "), ("a", "x&y")], _042=[("a", "FINB")]),
        record(LOW=[("a", "musa")], _960=[("a", "arto")], SID=[("b", "helme"), ("c", "9")]),
        record(SID=[("b", "helme-x")], _960=[("a", "artox")]),
    ]
    with_fields = record(LOW=[("a", "FIKKA")])
    with_fields.add_field(two_b, both)
    return [*found, with_fields]


def test_sets_read_from_the_stored_bytes_equal_the_long_way() -> None:
    corpus = [*generate_records(400, 21), *tricky_records()]
    for rec in corpus:
        xml = record_to_marcxml(rec)
        assert set_specs_of_xml(xml) == expected_specs(rec), xml
        assert set_specs_of_xml(xml) == list(set_specs_tuple(xml))  # remembered alike
    specs = [set_specs_of_xml(record_to_marcxml(r)) for r in tricky_records()]
    assert specs[0] == ["fennica", "monographic", "monographic:fennica", "low:FIKKA"]
    assert "fennica" in specs[1] and "serial:fennica" in specs[2]
    assert {"arto", "musa", "helmet"} <= set(specs[3]) and "helmet" not in specs[4]
    assert {"viola", "fennica", "helmet"} <= set(specs[5])
