"""Aleph fields on a record: Melinda ID forms, LOW, SID, CAT order and history, STA deletion."""

from __future__ import annotations

from datetime import UTC, datetime

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield

from gateway.records import (
    add_low,
    append_cat,
    cat_fields,
    is_deleted,
    iter_marcxml,
    lows,
    mark_deleted,
    melinda_id,
    new_record,
    old_melinda_ids,
    order_aleph_fields,
    remove_low,
    remove_sid,
    set_melinda_id,
    set_sid,
    sids,
    undelete,
)
from tests.conftest import shared_fixture


def df(tag: str, *pairs: str) -> Field:
    subfields = [Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return Field(tag=tag, indicators=Indicators(" ", " "), subfields=subfields)


def make(*fields: Field) -> pymarc.Record:
    record = new_record("00000cam a2200000 i 4500")
    record.fields = list(fields)
    return record


def tags(record: pymarc.Record) -> list[str]:
    return [f.tag for f in record.fields]


# --- Melinda ID ------------------------------------------------------------------------------


def test_melinda_id_from_001_when_003_is_melinda_or_absent() -> None:
    assert melinda_id(make(Field(tag="001", data="000123456"))) == 123456
    record = make(Field(tag="001", data="000123456"), Field(tag="003", data="FI-MELINDA"))
    assert melinda_id(record) == 123456


def test_001_of_another_system_is_not_a_melinda_id() -> None:
    record = make(
        Field(tag="001", data="017379727"),
        Field(tag="003", data="DLC"),
        df("035", "a", "(OCoLC)123"),
    )
    assert melinda_id(record) is None


@pytest.mark.parametrize(
    "value", ["(FI-MELINDA)000123456", "(FIN01)000123456", "FCC000123456", "(FI-MELINDA)123456"]
)
def test_melinda_id_from_035_forms(value: str) -> None:
    record = make(
        Field(tag="001", data="991234"), Field(tag="003", data="FI-X"), df("035", "a", value)
    )
    assert melinda_id(record) == 123456


def test_fi_melinda_035_beats_older_forms() -> None:
    record = make(df("035", "a", "FCC000000007"), df("035", "a", "(FI-MELINDA)000000009"))
    assert melinda_id(record) == 9


def test_old_ids_come_from_035_z() -> None:
    record = make(df("035", "a", "(FI-MELINDA)000000009", "z", "(FI-MELINDA)000000005"))
    assert old_melinda_ids(record) == [5]


def test_set_melinda_id_leaves_exactly_one_melinda_035_and_keeps_others() -> None:
    record = make(
        Field(tag="001", data="991234"),
        Field(tag="003", data="FI-X"),
        Field(tag="008", data="x"),
        df("020", "a", "9789510000000"),
        df("035", "a", "(OCoLC)42"),
        df("035", "a", "FCC000000077"),
        df("035", "a", "(FI-MELINDA)000000077"),
        df("245", "a", "Title"),
    )
    set_melinda_id(record, 77)
    assert record["001"].data == "000000077"
    assert record["003"].data == "FI-MELINDA"
    f035 = [[tuple(s) for s in f.subfields] for f in record.get_fields("035")]
    assert f035 == [[("a", "(OCoLC)42")], [("a", "(FI-MELINDA)000000077")]]
    assert tags(record) == ["001", "003", "008", "020", "035", "035", "245"]


def test_set_melinda_id_moves_another_records_id_to_z_and_inserts_in_tag_order() -> None:
    record = make(
        Field(tag="008", data="x"),
        df("035", "a", "(FIN01)000000005"),
        df("245", "a", "Title"),
        df("LOW", "a", "FENNI"),
    )
    set_melinda_id(record, 9)
    assert tags(record) == ["001", "003", "008", "035", "035", "245", "LOW"]
    assert [tuple(s) for s in record.get_fields("035")[1].subfields] == [
        ("z", "(FI-MELINDA)000000005")
    ]
    assert melinda_id(record) == 9 and old_melinda_ids(record) == [5]


def test_set_melinda_id_on_a_record_without_035() -> None:
    record = make(df("245", "a", "T"))
    set_melinda_id(record, 1)
    assert tags(record) == ["001", "003", "035", "245"]


# --- LOW and SID --------------------------------------------------------------------------


def test_lows_add_and_remove() -> None:
    record = make(df("245", "a", "T"), df("LOW", "a", "FENNI"))
    assert lows(record) == ["FENNI"]
    assert add_low(record, "helka") is True
    assert add_low(record, "HELKA") is False
    assert lows(record) == ["FENNI", "HELKA"]
    assert remove_low(record, "fenni") is True
    assert remove_low(record, "FENNI") is False
    assert lows(record) == ["HELKA"]


def test_add_low_goes_last() -> None:
    record = make(df("245", "a", "T"), df("CAT", "a", "X", "c", "20200101"))
    add_low(record, "TAMK")
    assert tags(record) == ["245", "CAT", "LOW"]


def test_sids_set_replace_remove() -> None:
    record = make(df("245", "a", "T"), df("CAT", "a", "X"), df("LOW", "a", "HELKA"))
    set_sid(record, "helka", "123")
    assert tags(record) == ["245", "SID", "CAT", "LOW"]
    set_sid(record, "tamk", "9")
    set_sid(record, "helka", "456")
    assert sids(record) == [("456", "helka"), ("9", "tamk")]
    assert [tuple(s) for s in record.get_fields("SID")[0].subfields] == [
        ("c", "456"),
        ("b", "helka"),
    ]
    assert remove_sid(record, "HELKA") is True
    assert remove_sid(record, "helka") is False
    assert sids(record) == [("9", "tamk")]


# --- CAT ------------------------------------------------------------------------------------


def test_append_cat_stamps_finnish_time_before_lows() -> None:
    record = make(df("245", "a", "T"), df("CAT", "a", "OLD", "c", "20200101"), df("LOW", "a", "X"))
    append_cat(record, "kvp", 30, datetime(2024, 1, 2, 10, 4, tzinfo=UTC))
    new = cat_fields(record)[-1]
    assert [tuple(s) for s in new.subfields] == [
        ("a", "KVP"),
        ("b", "30"),
        ("c", "20240102"),
        ("l", "FIN01"),
        ("h", "1204"),  # UTC+2 in January
    ]
    assert tags(record) == ["245", "CAT", "CAT", "LOW"]


def test_order_aleph_fields() -> None:
    record = make(
        df("LOW", "a", "B"),
        df("CAT", "a", "LATE", "c", "20200102", "h", "0100"),
        df("245", "a", "T"),
        df("CAT", "a", "EARLY", "c", "20200101", "h", "2300"),
        df("SID", "c", "1", "b", "x"),
        df("LOW", "a", "A"),
        df("CAT", "a", "SAMEDAY", "c", "20200102", "h", "0030"),
    )
    order_aleph_fields(record)
    assert tags(record) == ["245", "SID", "CAT", "CAT", "CAT", "LOW", "LOW"]
    assert [f["a"] for f in cat_fields(record)] == ["EARLY", "SAMEDAY", "LATE"]
    assert lows(record) == ["B", "A"]


# --- STA --------------------------------------------------------------------------------------


def test_delete_and_undelete() -> None:
    record = make(df("245", "a", "T"), df("STA", "a", "TEST"), df("LOW", "a", "X"))
    assert not is_deleted(record)
    mark_deleted(record)
    assert is_deleted(record)
    assert str(record.leader)[5] == "d"
    assert ("STA", "DELETED") in [(f.tag, f["a"]) for f in record.fields]
    mark_deleted(record)
    assert len(record.get_fields("STA")) == 2
    undelete(record)
    assert not is_deleted(record)
    assert str(record.leader)[5] == "c"
    assert [f["a"] for f in record.get_fields("STA")] == ["TEST"]


def test_fixture_records_aleph_fields() -> None:
    with open(shared_fixture("melinda-records.xml"), "rb") as handle:
        records = list(iter_marcxml(handle))
    by_id = {melinda_id(r): r for r in records}
    first = by_id[20]
    assert lows(first) == ["VAARI", "GMC"]
    assert ("1130723", "gmc") in sids(first)
    # 003 "(FI-MELINDA)" in one real record still marks a Melinda 001.
    assert 123456 in by_id
    assert sum(1 for r in records if is_deleted(r)) >= 1
