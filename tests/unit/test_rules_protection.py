"""The protection merge and the withdrawal of a library's title, one rule per test."""

from __future__ import annotations

from collections import Counter

from gateway.rules import protection_merge, withdraw_title
from gateway.rules.fields import record_from_lines, record_key, record_lines


def merge(
    current: list[str], incoming: list[str], library: str = "HELKA", **options: object
) -> list[str]:
    merged = protection_merge(
        record_from_lines(*current),
        record_from_lines(*incoming),
        library=library,
        **options,  # type: ignore[arg-type]
    )
    return record_lines(merged)


def same_fields(left: list[str], right: list[str]) -> bool:
    return Counter(left) == Counter(right)


# --- LOW -----------------------------------------------------------------------------------


def test_low_of_another_library_is_kept() -> None:
    assert merge(
        ["245 10$aT", "LOW __$aHELKA", "LOW __$aFENNI"], ["245 10$aT", "LOW __$aHELKA"]
    ) == [
        "245 10$aT",
        "LOW __$aHELKA",
        "LOW __$aFENNI",
    ]


def test_own_low_can_be_removed() -> None:
    assert merge(["245 10$aT", "LOW __$aHELKA"], ["245 10$aT"]) == ["245 10$aT"]


def test_own_low_is_kept_when_the_writer_never_sends_lows() -> None:
    assert merge(["245 10$aT", "LOW __$aHELKA"], ["245 10$aT"], keep_lows=True) == [
        "245 10$aT",
        "LOW __$aHELKA",
    ]


def test_every_owned_low_code_counts_as_own() -> None:
    current = ["245 10$aT", "LOW __$aHELKA", "LOW __$aHELKX"]
    assert merge(current, ["245 10$aT"], owned_lows={"helka", "HELKX"}) == ["245 10$aT"]


def test_low_is_matched_by_code_whatever_the_case() -> None:
    assert merge(["245 10$aT", "LOW __$aFENNI"], ["245 10$aT", "LOW __$afenni"]) == [
        "245 10$aT",
        "LOW __$afenni",
    ]


def test_privileged_writer_may_remove_any_low_but_not_cat() -> None:
    current = ["245 10$aT", "CAT __$aX$c20200101$lFIN01$h1200", "LOW __$aFENNI"]
    assert merge(current, ["245 10$aT"], privileged=True) == [
        "245 10$aT",
        "CAT __$aX$c20200101$lFIN01$h1200",
    ]


# --- SID -------------------------------------------------------------------------------------


def test_sid_of_another_library_is_kept() -> None:
    assert merge(["245 10$aT", "SID __$c123$bander"], ["245 10$aT"]) == [
        "245 10$aT",
        "SID __$c123$bander",
    ]


def test_own_sid_can_be_removed() -> None:
    assert merge(["245 10$aT", "SID __$c123$bhelka"], ["245 10$aT"]) == ["245 10$aT"]
    assert merge(["245 10$aT", "SID __$c9$bhelsinki"], ["245 10$aT"], sid_code="helsinki") == [
        "245 10$aT"
    ]


# --- CAT -------------------------------------------------------------------------------------


def test_cat_history_comes_from_the_stored_record() -> None:
    cat = "CAT __$aLOAD-FIX$b30$c20160810$lFIN01$h2157"
    fake = "CAT __$aFAKE$b30$c20990101$lFIN01$h0000"
    assert merge(["245 10$aT", cat], ["245 10$aT"]) == ["245 10$aT", cat]
    assert merge(["245 10$aT", cat], ["245 10$aT", fake]) == ["245 10$aT", cat]
    assert merge(["245 10$aT", cat], ["245 10$aT", cat]) == ["245 10$aT", cat]


# --- $5 and $9 -----------------------------------------------------------------------------


def test_field_of_another_library_is_kept() -> None:
    note = "500 __$aEI VIELÄ ILMESTYNYT$5VAARA"
    assert merge(["245 10$aT", note], ["245 10$aT"]) == ["245 10$aT", note]


def test_own_field_can_be_removed() -> None:
    assert merge(["245 10$aT", "500 __$aOwn note$5HELKA"], ["245 10$aT"]) == ["245 10$aT"]


def test_field_of_two_libraries_is_kept_while_either_marks_it() -> None:
    note = "594 __$aENNAKKOTIETO$5HELKA$5FENNI"
    assert merge(["245 10$aT", note], ["245 10$aT"]) == ["245 10$aT", note]


def test_field_with_another_librarys_replication_command_is_kept() -> None:
    heading = "650 _7$afilosofia$2yso/fin$0http://www.yso.fi/onto/yso/p1056$9FENNI<KEEP>"
    drop = "084 __$a11$2ykl$9FENNI<DROP>"
    assert merge(["245 10$aT", heading, drop], ["245 10$aT"]) == [drop, "245 10$aT", heading]
    assert merge(["245 10$aT", heading, drop], ["245 10$aT"], library="FENNI") == ["245 10$aT"]


# --- 9XX of national-collection records ------------------------------------------------------


def test_9xx_of_a_national_collection_record_is_kept() -> None:
    current = ["245 10$aT", "901 __$aMU20230317", "LOW __$aFENNI", "LOW __$aHELKA"]
    assert merge(current, ["245 10$aT", "LOW __$aFENNI", "LOW __$aHELKA"]) == [
        "245 10$aT",
        "901 __$aMU20230317",
        "LOW __$aFENNI",
        "LOW __$aHELKA",
    ]


def test_national_collection_may_remove_its_9xx() -> None:
    current = ["245 10$aT", "901 __$aMU20230317", "LOW __$aFIKKA"]
    assert merge(current, ["245 10$aT", "LOW __$aFIKKA"], library="KVP", owned_lows={"FIKKA"}) == [
        "245 10$aT",
        "LOW __$aFIKKA",
    ]


def test_9xx_of_other_records_can_be_removed() -> None:
    assert merge(["245 10$aT", "901 __$ax", "LOW __$aTAMK"], ["245 10$aT", "LOW __$aTAMK"]) == [
        "245 10$aT",
        "LOW __$aTAMK",
    ]


# --- the merge as a whole ---------------------------------------------------------------------


def test_kept_field_the_update_already_has_is_not_doubled() -> None:
    note = "500 __$aNote$5FENNI"
    assert merge(["245 10$aT", note, note], ["245 10$aT", note]) == ["245 10$aT", note, note]


def test_kept_field_returns_to_its_tag_order_place() -> None:
    assert merge(
        ["245 10$aOld", "500 __$aNote$5FENNI", "SID __$c1$bander"],
        ["245 10$aNew", "650 _7$ax", "LOW __$aHELKA"],
    ) == ["245 10$aNew", "500 __$aNote$5FENNI", "650 _7$ax", "LOW __$aHELKA", "SID __$c1$bander"]


def test_unprotected_fields_follow_the_update() -> None:
    assert merge(["245 10$aOld", "500 __$aOld note"], ["245 10$aNew"]) == ["245 10$aNew"]


def test_merge_leaves_both_inputs_alone() -> None:
    current = record_from_lines("245 10$aT", "500 __$aN$5FENNI", "LOW __$aFENNI")
    incoming = record_from_lines("245 10$aU")
    before = (record_key(current), record_key(incoming))
    merged = protection_merge(current, incoming, library="HELKA")
    merged.fields[0].tag = "246"
    merged.fields[1].subfields.append(merged.fields[1].subfields[0])
    assert (record_key(current), record_key(incoming)) == before


# --- withdrawing a title --------------------------------------------------------------------------


def test_withdrawing_a_title_removes_low_sid_and_local_data() -> None:
    record = record_from_lines(
        "245 10$aT",
        "500 __$aHELKA's own note$5HELKA",
        "594 __$aShared note$5HELKA$5FENNI",
        "650 _7$afilosofia$2yso/fin$0p1056$9HELKA<KEEP>",
        "084 __$a11$2ykl$9FENNI<KEEP>",
        "SID __$c176515$bhelka",
        "SID __$c1$bander",
        "LOW __$aHELKA",
        "LOW __$aANDER",
    )
    assert record_lines(withdraw_title(record, "HELKA")) == [
        "245 10$aT",
        "594 __$aShared note$5FENNI",
        "650 _7$afilosofia$2yso/fin$0p1056",
        "084 __$a11$2ykl$9FENNI<KEEP>",
        "SID __$c1$bander",
        "LOW __$aANDER",
    ]


def test_withdrawing_uses_the_librarys_sid_code() -> None:
    record = record_from_lines("245 10$aT", "SID __$c9$bhelsinki", "LOW __$aHELKA")
    assert record_lines(withdraw_title(record, "HELKA", sid_code="helsinki")) == ["245 10$aT"]


def test_withdrawing_a_title_the_library_does_not_hold_changes_nothing() -> None:
    record = record_from_lines("245 10$aT", "500 __$aN$5FENNI", "LOW __$aFENNI")
    assert record_key(withdraw_title(record, "HELKA")) == record_key(record)
    assert same_fields(record_lines(record), ["245 10$aT", "500 __$aN$5FENNI", "LOW __$aFENNI"])


def test_kept_field_goes_after_the_last_smaller_tag_when_aleph_fields_come_first() -> None:
    # A real fixture record (000654321) has its LOW before 001.
    assert merge(
        ["LOW __$aFIKKA", "001 000654321", "245 __$aTitle.", "500 __$aNote$5VAARA"],
        ["LOW __$aFIKKA", "001 000654321", "245 __$aTitle.", "CAT __$aX$c20200101$lFIN01$h1200"],
    ) == ["LOW __$aFIKKA", "001 000654321", "245 __$aTitle.", "500 __$aNote$5VAARA"]
