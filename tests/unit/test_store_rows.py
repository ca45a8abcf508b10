"""The rows both SQL stores read, made into libraries, log entries and ILL rows in one place."""

from __future__ import annotations

from gateway.model import Library
from gateway.store.ill import RequestChange
from gateway.store.ill_rows import changed_columns, message_row, request_row
from gateway.store.rows import libraries_with_hashes, library_with_hash, significant_change


def test_libraries_take_their_own_lows_and_keys_in_order() -> None:
    rows = [("HELKA", "Helsinki", "helka", 30, 1, "h1"), ("TAY", "Tampere", "tay", 20, 0, "h2")]
    lows = [("HELKA", "HELKA"), ("HELKA", "HELKX")]
    keys = [("HELKA", "ssh-ed25519 A")]
    assert libraries_with_hashes(rows, lows, keys) == [
        (
            Library("HELKA", "Helsinki", "helka", ("HELKA", "HELKX"), ("ssh-ed25519 A",), 30, True),
            "h1",
        ),
        (Library("TAY", "Tampere", "tay", (), (), 20, False), "h2"),
    ]
    assert library_with_hash(rows[1], ["TAY"], []) == (
        Library("TAY", "Tampere", "tay", ("TAY",), (), 20, False),
        "h2",
    )


def test_a_significant_change_names_the_record_by_melinda_id_and_the_time_in_utc() -> None:
    entry = significant_change((7, 42, 1_700_000_000, "KVP", "KVP", '[{"tag": "245"}]'))
    assert entry == {
        "seq": 7,
        "record": "000000042",
        "at": "2023-11-14T22:13:20Z",
        "user": "KVP",
        "library": "KVP",
        "fields": [{"tag": "245"}],
    }


def test_a_request_change_sets_only_what_it_names_even_false_or_empty() -> None:
    assert changed_columns(RequestChange()) == []
    assert changed_columns(RequestChange(status="Loaned", received=False, error="")) == [
        ("status", "Loaned"),
        ("received", False),
        ("error", ""),
    ]
    assert changed_columns(RequestChange(supplier_request_id="s-1", skip_planned=True)) == [
        ("supplier_request_id", "s-1")
    ]


def test_ill_rows_come_back_as_their_classes() -> None:
    request = request_row(
        (1, "requester", "TAY", "ISIL:FI-Tay", "ISIL:FI-Hul", "http://x", "r1", "", "Loan",
         "000000001", "", "standard", "Loaned", 1, "", 1.0, 2.0)
    )  # fmt: skip
    assert request.received is True and request.status == "Loaned" and request.updated == 2.0
    message = message_row((3, 1, "out", "request", "", "<x/>", "delivered", 0.0, 1, "", 1.0))
    assert message.request == 1 and message.delivery == "delivered" and message.attempts == 1
