"""The fin01alma view and its inverse, rule by rule, on the smallest records that show each."""

from __future__ import annotations

from datetime import UTC, datetime

import pymarc
import pytest

from gateway.records.stamps import parse_staleness_stamp
from gateway.rules import fin01alma_view, from_alma, is_alma_form
from gateway.rules.fields import record_from_lines, record_key, record_lines

UPDATED = int(datetime(2020, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
STALENESS = "024 8_$a000123456$d20201231235959"
DELETED = "024 8_$aDeleted record, do not use"


def view(*lines: str, deleted: bool = False) -> list[str]:
    record = record_from_lines(*lines)
    return record_lines(fin01alma_view(record, record_id=123456, updated=UPDATED, deleted=deleted))


def up(*lines: str) -> list[str]:
    return record_lines(from_alma(record_from_lines(*lines)))


def assert_round_trip(record: pymarc.Record, *, deleted: bool = False) -> None:
    down = fin01alma_view(record, record_id=123456, updated=UPDATED, deleted=deleted)
    assert record_key(from_alma(down)) == record_key(record)


# --- rule 1: Asteri headings --------------------------------------------------------------


@pytest.mark.parametrize(
    "asteri_id",
    [
        "(FIN11)000054135",
        "(FI-ASTERI-N)000054135",
        "http://urn.fi/URN:NBN:fi:au:finaf:000054135",
        "https://urn.fi/URN:NBN:fi:au:finaf:000054135",
    ],
)
def test_asteri_heading_gets_indicator_7_and_finaf(asteri_id: str) -> None:
    assert view("600 14$aOjanen, Eero$0" + asteri_id) == [
        STALENESS,
        f"600 17$aOjanen, Eero.$0{asteri_id}$2finaf",
    ]
    assert up(f"600 17$aOjanen, Eero.$0{asteri_id}$2finaf") == [
        "600 14$aOjanen, Eero$0" + asteri_id
    ]


@pytest.mark.parametrize(
    "zero",
    [
        "(FI-ASTERI-S)000054135",  # Asteri's subject authorities are not finaf
        "http://urn.fi/URN:NBN:fi:au:slm:s1188",  # another urn.fi vocabulary
        "http://www.yso.fi/onto/yso/p1056",
    ],
)
def test_heading_without_asteri_name_id_keeps_indicator_4(zero: str) -> None:
    assert view("651 _4$aMiddle-earth$0" + zero) == [STALENESS, "651 _4$aMiddle-earth$0" + zero]


def test_asteri_heading_with_a_source_keeps_indicator_4() -> None:
    line = "600 14$aGandalf$2local$0(FIN11)000000001"
    assert view(line)[1] == "600 14$aGandalf.$0(FIN11)000000001$2local"


# --- rule 2: local fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("melinda", "alma"),
    [("019", "920"), ("039", "921"), ("049", "923"), ("509", "924"), ("930", "929")],
)
def test_local_fields_map_to_alma_tags(melinda: str, alma: str) -> None:
    assert f"{alma} __$alocal" in view(f"{melinda} __$alocal")
    assert up(f"{alma} __$alocal") == [f"{melinda} __$alocal"]


# --- rule 3: subject subfield order and terminal period ------------------------------------


def test_subject_heading_gets_terminal_period_and_zero_before_two() -> None:
    melinda = "650 _7$81\\u$asaamelaiset$2yso/fin$0http://www.yso.fi/onto/yso/p11537$9FENNI<KEEP>"
    alma = "650 _7$81\\u$asaamelaiset.$0http://www.yso.fi/onto/yso/p11537$2yso/fin$9FENNI<KEEP>"
    assert view(melinda)[1] == alma
    assert up(alma) == [melinda]


@pytest.mark.parametrize("heading", ["Mitä?", "Hurraa!", "Ojanen, Eero, 1954-"])
def test_subject_heading_ending_in_punctuation_gets_no_period(heading: str) -> None:
    melinda = f"650 _7$a{heading}$2yso/fin$0p1"
    assert view(melinda)[1] == f"650 _7$a{heading}$0p1$2yso/fin"
    assert up(f"650 _7$a{heading}$0p1$2yso/fin") == [melinda]


def test_subject_heading_already_ending_in_a_period_is_left_alone() -> None:
    assert view("650 _0$aParishes$yRussia.$2lcsh$0p1")[1] == "650 _0$aParishes$yRussia.$2lcsh$0p1"


def test_subject_heading_without_zero_is_left_alone() -> None:
    assert view("650 _7$achemistry$2atla")[1] == "650 _7$achemistry$2atla"


def test_heading_already_in_alma_form_is_shown_in_melinda_form() -> None:
    # The exchange is what keeps the view lossless for such a (rare) Melinda record.
    assert view("650 _7$aseikkailu.$0p2904$2kauno/fin")[1] == "650 _7$aseikkailu$2kauno/fin$0p2904"


# --- rule 4: the staleness field, deleted records -------------------------------------------


def test_staleness_field_is_024_with_melinda_id_and_utc_timestamp() -> None:
    assert view("001 000123456", "020 __$a978-951-1-33251-0", "245 10$aTitle") == [
        "001 000123456",
        "020 __$a978-951-1-33251-0",
        STALENESS,
        "245 10$aTitle",
    ]


def test_staleness_field_goes_before_the_records_own_024() -> None:
    own = "024 8_$a000999999$d19991231000000"  # shaped exactly like a staleness field
    assert view("024 7_$a10.1000/1$2doi", own) == [STALENESS, "024 7_$a10.1000/1$2doi", own]
    assert up(STALENESS, "024 7_$a10.1000/1$2doi", own) == ["024 7_$a10.1000/1$2doi", own]


def test_deleted_record_carries_deleted_text_before_staleness_field() -> None:
    assert view("245 10$aTitle", deleted=True) == [DELETED, STALENESS, "245 10$aTitle"]
    assert up(DELETED, STALENESS, "245 10$aTitle") == ["245 10$aTitle"]


def test_records_own_deleted_text_024_survives_the_round_trip() -> None:
    assert_round_trip(record_from_lines("245 10$aTitle", DELETED))
    assert_round_trip(record_from_lines("245 10$aTitle", DELETED), deleted=True)


# --- the conversions as a whole ---------------------------------------------------------------


def test_view_returns_a_new_record_and_leaves_the_input_alone() -> None:
    record = record_from_lines("019 __$ax", "600 14$aGandalf$0(FIN11)1", "650 _7$ax$2yso/fin$0p1")
    before = record_key(record)
    down = fin01alma_view(record, record_id=1, updated=UPDATED, deleted=True)
    assert down is not record
    assert record_key(record) == before
    for field in down.fields:
        assert all(field is not original for original in record.fields)
    up_record = from_alma(down)
    down_before = record_key(down)
    up_record.fields[0].tag = "999"
    assert record_key(down) == down_before


def test_leader_is_unchanged() -> None:
    record = record_from_lines("245 10$aTitle", leader="00000dam a2200000 i 4500")
    down = fin01alma_view(record, record_id=1, updated=UPDATED, deleted=True)
    assert str(down.leader) == "00000dam a2200000 i 4500"


def test_round_trip_of_record_already_carrying_alma_marks() -> None:
    record = record_from_lines(
        "019 __$amelinda",
        "920 __$aalma",
        "600 17$aGandalf.$0(FIN11)1$2finaf",
        "600 14$aGandalf$0(FIN11)1",
        "650 _7$ax.$0p1$2yso/fin",
        "650 _7$ax..$0p1$2yso/fin",
        "650 _7$ax$2yso/fin$0p1$2other",
        "650 _7$a$2yso/fin$0p1",
    )
    assert_round_trip(record)


def test_record_arriving_from_alma_converts_to_melinda_form() -> None:
    assert up(
        STALENESS,
        "245 10$aTitle",
        "600 17$aOjanen, Eero.$0(FI-ASTERI-N)000054135$2finaf",
        "650 _7$ametsät.$0http://www.yso.fi/onto/yso/p5454$2yso/fin",
        "920 __$alocal",
    ) == [
        "245 10$aTitle",
        "600 14$aOjanen, Eero$0(FI-ASTERI-N)000054135",
        "650 _7$ametsät$2yso/fin$0http://www.yso.fi/onto/yso/p5454",
        "019 __$alocal",
    ]


@pytest.mark.parametrize(
    "mark",
    [STALENESS, "920 __$ax", "921 __$ax", "923 __$ax", "924 __$ax", "929 __$ax",
     "650 _7$ax$0(FIN11)1$2finaf"],
)  # fmt: skip
def test_is_alma_form_recognises_alma_marks(mark: str) -> None:
    assert is_alma_form(record_from_lines("245 10$aTitle", mark))


@pytest.mark.parametrize(
    "line",
    ["024 8_$a123$d20201231235959", "019 __$ax", "650 _7$ax$2yso/fin$0p1", "600 14$ax$0(FIN11)1"],
)
def test_is_alma_form_false_for_melinda_form(line: str) -> None:
    assert not is_alma_form(record_from_lines("245 10$aTitle", line))


@pytest.mark.parametrize(
    ("stamp", "epoch"),
    [
        ("19700101000000", 0),
        ("20240229235959", 1709251199),
        ("20230229000000", None),  # no 29 February in 2023
        ("20241301000000", None),
        ("20240101240000", None),
        ("20240101000060", None),
        ("00001231000000", None),
        ("2024010100000", None),
        ("2024010100000x", None),
    ],
)
def test_staleness_stamps_parse_as_utc_or_not_at_all(stamp: str, epoch: int | None) -> None:
    assert parse_staleness_stamp(stamp) == epoch
