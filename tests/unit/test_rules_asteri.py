"""The pure Asteri rules: link forms, the view's dates and their punctuation, heading rewrites,
the see-from rules."""

from __future__ import annotations

import pytest

from gateway.indexing import asteri_id, asteri_id_key
from gateway.rules import asteri
from gateway.rules.fields import field_from_line, field_line, record_from_lines

AUT = "00000nz  a2200000n  4500"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("(FIN11)000123456", 123456),
        ("(FI-ASTERI-N)000123456", 123456),
        ("http://urn.fi/URN:NBN:fi:au:finaf:000123456", 123456),
        ("https://urn.fi/URN:NBN:fi:au:finaf:000123456", 123456),
        (" (FIN11)000000007 ", 7),
        ("(FIN10)000123456", None),  # subject authorities are not names
        ("(FI-ASTERI-S)000123456", None),
        ("http://urn.fi/URN:NBN:fi:au:slm:s123", None),
        ("(FIN11)", None),
        ("(FIN11)000000000", None),
        ("(FIN11)12345678901", None),
    ],
)
def test_the_three_link_forms_and_nothing_else(value: str, expected: int | None) -> None:
    assert asteri_id(value) == expected


def test_a_searched_id_may_be_bare_digits_or_any_link_form() -> None:
    assert asteri_id_key("000123456") == asteri_id_key("(FI-ASTERI-N)123456") == "123456"
    assert asteri_id_key("kivi") == ""


@pytest.mark.parametrize(
    ("line", "dates", "expected"),
    [
        ("100 1_$aKivi, Aleksis.$0(FIN11)000000001", "1834-1872",
         "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001"),
        ("100 1_$aKivi, Aleksis.$0(FIN11)000000001", "1950-",
         "100 1_$aKivi, Aleksis,$d1950-$0(FIN11)000000001"),
        ("700 1_$aKivi, Aleksis,$ekirjoittaja.$0(FIN11)000000001", "1834-1872",
         "700 1_$aKivi, Aleksis,$d1834-1872,$ekirjoittaja.$0(FIN11)000000001"),
        ("700 0_$aGandalf$cvelho$0(FIN11)000000001", "1834-1872",
         "700 0_$aGandalf$cvelho,$d1834-1872$0(FIN11)000000001"),
    ],
)  # fmt: skip
def test_the_view_adds_dates_with_the_terminal_mark_moved(
    line: str, dates: str, expected: str
) -> None:
    found = asteri.with_dates(field_from_line(line), {1: dates})
    assert found is not None and field_line(found) == expected


@pytest.mark.parametrize(
    "line",
    [
        "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001",  # has dates
        "100 1_$aKivi, Aleksis.$0(FIN11)000000002",  # no dates for that authority
        "100 1_$aKivi, Aleksis.",  # no link
        "110 2_$aOtava.$0(FIN11)000000001",  # not a person
        "600 14$aKivi, Aleksis.$0(FIN11)000000001",  # subjects are rule 1/3's
        "100 1_$0(FIN11)000000001$aKivi",  # no name before the link
    ],
)
def test_the_view_leaves_other_headings_alone(line: str) -> None:
    assert asteri.with_dates(field_from_line(line), {1: "1834-1872"}) is None


def test_authority_dates_lose_their_terminal_punctuation() -> None:
    record = record_from_lines("100 1_$aKivi, Aleksis,$d1834-1872.", leader=AUT)
    assert asteri.authority_dates(record) == "1834-1872"
    assert asteri.authority_dates(record_from_lines("110 2_$aOtava", leader=AUT)) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("100 1_$aKivi, Aleksis.$0(FIN11)000000001",
         "100 1_$aStenvall, Alexis.$0(FIN11)000000001"),
        ("700 1_$aKivi, Aleksis,$d1834-1872,$ekirjoittaja.$0(FI-ASTERI-N)000000001",
         "700 1_$aStenvall, Alexis,$d1834-1872,$ekirjoittaja.$0(FI-ASTERI-N)000000001"),
        ("600 14$aKivi, Aleksis,$d1834-1872$0http://urn.fi/URN:NBN:fi:au:finaf:000000001",
         "600 14$aStenvall, Alexis,$d1834-1872$0http://urn.fi/URN:NBN:fi:au:finaf:000000001"),
    ],
)  # fmt: skip
def test_a_linked_heading_takes_the_new_heading(line: str, expected: str) -> None:
    heading = field_from_line("100 1_$aStenvall, Alexis,$d1834-1872$0(FIN11)000000001")
    found = asteri.relinked(field_from_line(line), 1, heading)
    assert found is not None and field_line(found) == expected


def test_other_links_and_unchanged_headings_are_left() -> None:
    heading = field_from_line("100 1_$aKivi, Aleksis,$d1834-1872")
    for line in (
        "100 1_$aKivi, Aleksis.$0(FIN11)000000002",  # another authority
        "110 2_$aKivi.$0(FIN11)000000001",  # another kind of name
        "100 1_$aKivi, Aleksis.$0(FIN11)000000001",  # already the heading
    ):
        assert asteri.relinked(field_from_line(line), 1, heading) is None


def test_see_from_rules() -> None:
    record = record_from_lines(
        "100 1_$aKivi, Aleksis,$d1834-1872", "400 1_$aStenvall, Alexis", leader=AUT
    )
    assert asteri.see_from_breaks(record, headings_elsewhere={}, see_froms_elsewhere={}) == []
    problems = asteri.see_from_breaks(
        record,
        headings_elsewhere={"stenvall alexis": 7},
        see_froms_elsewhere={"kivi aleksis 1834 1872": 8},
    )
    assert problems == [
        "see-from 'stenvall alexis' is the established heading of authority 000000007",
        "heading 'kivi aleksis 1834 1872' is a see-from form of authority 000000008",
    ]
