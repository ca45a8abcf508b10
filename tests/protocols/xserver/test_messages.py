"""Domain errors and write results become Aleph's numbered update-doc lines."""

from __future__ import annotations

import re

import pymarc
import pytest

from gateway import rules
from gateway.errors import (
    AuthenticationError,
    CatConflictError,
    GatewayError,
    InvalidRecordError,
    LowsRemainError,
    OwnAuthorizationError,
    Problem,
    RecordNotFoundError,
    StaleRecordError,
    WarningsNotAcceptedError,
)
from protocols.xserver import messages

LINE = re.compile(r"^\[\d{4}\] .+")


def test_success_is_alephs_0018_line_after_the_warnings() -> None:
    lines = messages.saved(123456, [Problem("warning", "no 336", tag="336")])
    assert lines == [
        "[0100] 336: no 336 - warning",
        "[0018] Document: 000123456 was updated successfully.",
    ]


def test_invalid_record_lists_mandatory_errors_then_warnings() -> None:
    exc = InvalidRecordError(
        [Problem("warning", "odd", tag="500"), Problem("error", "missing", tag="245")]
    )
    lines = messages.update_failure(exc, 5)
    assert lines[0] == "[0100] 245: missing - mandatory error"
    assert lines[1] == "[0100] 500: odd - warning"
    assert lines[2].startswith("[0050] Document: 000000005 was not saved")


def test_validation_findings_carry_the_validators_numbers() -> None:
    record = pymarc.Record(leader="00000nam a2200000 i 4500")
    record.add_field(pymarc.Field(tag="008", data="200101s2020    fi " + "|" * 17 + "fin d"))
    problems = rules.validate(record, is_new=True)
    lines = messages.update_failure(InvalidRecordError(problems), None)
    assert any(text.startswith("[0110] 245") for text in lines), lines
    assert all(LINE.match(text) for text in lines)
    assert lines[-1] == "[0050] The new document was not saved: the record has mandatory errors."


@pytest.mark.parametrize(
    ("exc", "number"),
    [
        (StaleRecordError(7, "20200101000000", "20210101000000"), "0200"),
        (CatConflictError(7, "CAT differs"), "0201"),
        (OwnAuthorizationError("FENNI", "HELKA", "add"), "0300"),
        (LowsRemainError(7, ["HELKA"]), "0302"),
        (RecordNotFoundError(7), "0060"),
        (AuthenticationError("no"), "0400"),
        (WarningsNotAcceptedError([Problem("warning", "w", tag="500")]), "0051"),
        (GatewayError("something else"), "0500"),
    ],
)
def test_each_refusal_has_its_number(exc: GatewayError, number: str) -> None:
    lines = messages.update_failure(exc, 7)
    assert all(LINE.match(text) for text in lines)
    assert lines[-1].startswith(f"[{number}]")


def test_record_not_found_on_read() -> None:
    assert messages.read_failure(RecordNotFoundError(42)) == "Doc number 000000042 does not exist"
