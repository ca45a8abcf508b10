"""The staleness check (024 $d) and the CAT-conflict check, on the smallest records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.errors import CatConflictError, StaleRecordError
from gateway.rules import check_staleness, fin01alma_view
from gateway.rules.fields import record_from_lines

STORED_AT = int(datetime(2023, 3, 24, 14, 26, 39, tzinfo=UTC).timestamp())
CAT_1 = "CAT __$aFENNI-KV$b30$c20221009$lFIN01$h0700"
CAT_2 = "CAT __$aANDER0000$b30$c20230323$lFIN01$h0705"
CAT_3 = "CAT __$aPIKI7001$b30$c20230324$lFIN01$h1426"


def check(incoming_lines: list[str], current_lines: list[str], updated: int = STORED_AT) -> None:
    check_staleness(
        record_from_lines(*incoming_lines),
        record_from_lines(*current_lines),
        record_id=18516347,
        current_updated=updated,
    )


# --- staleness: the 024 $d ------------------------------------------------------------------


def test_copy_read_at_the_current_version_is_fresh() -> None:
    current = record_from_lines("245 10$aTitle")
    copy = fin01alma_view(current, record_id=18516347, updated=STORED_AT, deleted=False)
    check_staleness(copy, current, record_id=18516347, current_updated=STORED_AT)


def test_copy_older_than_the_stored_record_is_stale_and_says_both_times() -> None:
    with pytest.raises(StaleRecordError) as caught:
        check(["024 8_$a018516347$d20230324142638", "245 10$aTitle"], ["245 10$aTitle"])
    message = str(caught.value)
    assert "20230324142638" in message
    assert "2023-03-24 14:26:38 UTC" in message
    assert "2023-03-24 14:26:39 UTC" in message
    assert "018516347" in message


def test_copy_newer_than_the_stored_record_is_fresh() -> None:
    check(["024 8_$a018516347$d20230324142640", "245 10$aTitle"], ["245 10$aTitle"])


def test_record_without_staleness_field_is_not_checked_by_time() -> None:
    check(["245 10$aTitle"], ["245 10$aTitle"], updated=2_000_000_000)


def test_staleness_field_with_impossible_date_is_stale() -> None:
    with pytest.raises(StaleRecordError, match="invalid"):
        check(["024 8_$a018516347$d20231399999999", "245 10$aTitle"], ["245 10$aTitle"])


# --- CAT conflict ------------------------------------------------------------------------------


def test_update_without_cat_is_no_conflict() -> None:
    check(["245 10$aTitle"], ["245 10$aTitle", CAT_1, CAT_2])


def test_update_with_the_stored_cat_history_is_no_conflict() -> None:
    check(["245 10$aTitle", CAT_1, CAT_2], ["245 10$aOld", CAT_1, CAT_2])


def test_cat_history_in_another_order_or_with_empty_subfields_is_no_conflict() -> None:
    stored = ["245 10$aTitle", "CAT __$aCONV-ISBD$b$c20120401$lFIN01$h2007", CAT_1]
    check(["245 10$aTitle", CAT_1, "CAT __$aCONV-ISBD$c20120401$lFIN01$h2007"], stored)


def test_update_missing_the_latest_cat_conflicts_and_names_it() -> None:
    with pytest.raises(CatConflictError) as caught:
        check(["245 10$aTitle", CAT_1, CAT_2], ["245 10$aTitle", CAT_1, CAT_2, CAT_3])
    message = str(caught.value)
    assert "CAT line 3" in message
    assert "$aPIKI7001$b30$c20230324$lFIN01$h1426" in message
    assert "018516347" in message


def test_update_with_a_cat_the_store_never_wrote_conflicts() -> None:
    with pytest.raises(CatConflictError, match=r"CAT line 2: the update has CAT \$aFAKE"):
        check(["245 10$aT", CAT_1, "CAT __$aFAKE$b30$c20230101$lFIN01$h0000"], ["245 10$aT", CAT_1])


def test_second_of_two_saves_in_the_same_minute_by_the_same_user_conflicts() -> None:
    # The save appends a CAT identical to the previous one (minute precision); folding
    # duplicates, as Melinda's own validator does, would let the stale copy through.
    with pytest.raises(CatConflictError):
        check(["245 10$aT", CAT_1, CAT_3], ["245 10$aT", CAT_1, CAT_3, CAT_3])
