"""The journal ring and the fault rules, as pure objects."""

from __future__ import annotations

import random

import pytest

from gateway.emulator.faults import Faults, FaultSpecError
from gateway.emulator.journal import Journal, mask


def test_journal_is_bounded_and_keeps_the_newest() -> None:
    journal = Journal(size=3)
    for n in range(5):
        journal.record("sru", f"op{n}", at=1000.0 + n)
    assert [e.operation for e in journal.entries()] == ["op2", "op3", "op4"]
    assert [e.number for e in journal.entries()] == [3, 4, 5]


def test_journal_filters_by_interface_time_operation_and_limit() -> None:
    journal = Journal()
    journal.record("sru", "searchRetrieve", at=100.0)
    journal.record("z3950", "search", at=200.0)
    journal.record("sru", "scan", at=300.0)
    assert [e.operation for e in journal.entries(interface="sru")] == ["searchRetrieve", "scan"]
    assert [e.operation for e in journal.entries(interface=["z3950", "sftp"])] == ["search"]
    assert [e.operation for e in journal.entries(since=150.0, until=250.0)] == ["search"]
    assert [e.operation for e in journal.entries(operation="scan")] == ["scan"]
    assert [e.operation for e in journal.entries(limit=2)] == ["search", "scan"]
    journal.clear()
    assert journal.entries() == []


def test_secrets_are_masked() -> None:
    masked = mask(
        {
            "staff_pass": "a",
            "user_password": "b",
            "Authorization": "Bearer c",
            "password": "d",
            "op": "user-auth",
        }
    )
    assert masked == {
        "staff_pass": "***",
        "user_password": "***",
        "Authorization": "***",
        "password": "***",
        "op": "user-auth",
    }


def test_long_parameter_values_are_cut() -> None:
    entry = Journal().record("xserver", "update-doc", parameters={"xml_full_req": "x" * 5000})
    assert len(entry.parameters["xml_full_req"]) < 600


def test_counted_fault_fires_n_times_then_is_gone() -> None:
    faults = Faults()
    faults.add({"interface": "sru", "kind": "error", "operation": "searchRetrieve", "count": 2})
    assert faults.match("sru", "scan") is None
    assert faults.match("oai-pmh", "searchRetrieve") is None
    assert faults.match("sru", "searchRetrieve") is not None
    assert faults.match("sru", "searchretrieve") is not None  # operations match in any case
    assert faults.match("sru", "searchRetrieve") is None
    assert faults.rules() == []


def test_probability_fault_fires_about_that_often() -> None:
    faults = Faults(random.Random(5))
    faults.add({"interface": "z3950", "kind": "drop", "probability": 0.25})
    fired = sum(faults.match("z3950", "search") is not None for _ in range(2000))
    assert 400 < fired < 600
    assert len(faults.rules()) == 1  # a probability rule stays until cleared


def test_first_matching_rule_wins_and_wildcard_matches_all() -> None:
    faults = Faults()
    faults.add({"interface": "sftp", "kind": "error", "operation": "rename", "count": 1})
    faults.add({"interface": "sftp", "kind": "latency", "latency_ms": 50})
    first = faults.match("sftp", "rename")
    assert first is not None and first.kind == "error"
    second = faults.match("sftp", "rename")
    assert second is not None and second.kind == "latency"
    assert faults.match("sftp", "open") is not None


@pytest.mark.parametrize(
    "spec",
    [
        {"interface": "gopher", "kind": "error"},
        {"interface": "sru", "kind": "explode"},
        {"interface": "sru", "kind": "latency"},
        {"interface": "sru", "kind": "error", "probability": 1.5},
        {"interface": "sru", "kind": "error", "count": 0},
        {"interface": "sru", "kind": "error", "count": 1, "probability": 0.5},
        {"interface": "sru", "kind": "error", "count": "x"},
        {"interface": "admin", "kind": "error"},
    ],
)
def test_bad_fault_specs_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(FaultSpecError):
        Faults().add(spec)


def test_journal_after_gives_the_newer_entries_oldest_first_and_as_json_keeps_every_field() -> None:
    journal = Journal(size=5)
    for n in range(8):
        journal.record("z3950", f"op{n}", parameters={"query": f"q{n}"}, at=1000.0 + n)
    assert [e.number for e in journal.after(5)] == [6, 7, 8]
    assert [e.number for e in journal.after(0)] == [4, 5, 6, 7, 8]  # the ring keeps five
    assert journal.after(8) == []
    data = journal.after(7)[0].as_json()
    assert data["operation"] == "op7" and data["parameters"] == {"query": "q7"}
    assert data["time_iso"] == "1970-01-01T00:16:47Z"
    assert set(data) == {
        "number", "time", "interface", "client", "operation", "parameters", "response",
        "outcome", "duration_ms", "user", "time_iso",
    }  # fmt: skip
    data["parameters"]["query"] = "changed"  # a copy: the entry itself stays as recorded
    assert journal.after(7)[0].parameters == {"query": "q7"}
