"""Set membership from record content, as Melinda's provider's set definitions give it."""

from __future__ import annotations

import json

import pymarc
import pytest
from pymarc import Field, Subfield

from gateway.oai_sets import MELINDA_SETS, oai_sets_of
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
