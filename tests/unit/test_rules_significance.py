"""Significant changes: which saves touched 1XX/240/245/7XX/8XX/080/084."""

from __future__ import annotations

from gateway.rules import significant_changes
from gateway.rules.fields import record_from_lines

BEFORE = [
    "080 __$a641",
    "100 1_$aBoine, Mari,$eesittäjä.",
    "245 10$aEight seasons",
    "500 __$aNote",
    "650 _7$asaamelaiset$2yso/fin",
    "700 1_$aA",
    "700 1_$aB",
]


def changes(before: list[str] | None, after: list[str]) -> list[str]:
    return significant_changes(
        record_from_lines(*before) if before is not None else None, record_from_lines(*after)
    )


def test_new_record_is_significant_for_every_such_field_it_has() -> None:
    assert changes(None, BEFORE) == ["080", "100", "245", "700"]


def test_unchanged_record_has_no_significant_change() -> None:
    assert changes(BEFORE, list(BEFORE)) == []


def test_change_outside_the_significant_fields_is_not_significant() -> None:
    after = [line.replace("Note", "Other note").replace("saamelaiset", "samer") for line in BEFORE]
    assert changes(BEFORE, after) == []


def test_title_change_is_significant() -> None:
    after = [line.replace("Eight seasons", "Nine seasons") for line in BEFORE]
    assert changes(BEFORE, after) == ["245"]


def test_indicator_change_is_significant() -> None:
    after = [line.replace("245 10", "245 14") for line in BEFORE]
    assert changes(BEFORE, after) == ["245"]


def test_added_and_removed_fields_are_significant() -> None:
    after = [*BEFORE[1:], "084 __$a78.897$2ykl", "830 _0$aSeries"]
    assert changes(BEFORE, after) == ["080", "084", "830"]


def test_reordered_added_entries_are_significant() -> None:
    after = [*BEFORE[:5], "700 1_$aB", "700 1_$aA"]
    assert changes(BEFORE, after) == ["700"]
