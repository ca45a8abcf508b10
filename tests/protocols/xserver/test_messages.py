"""Domain errors and write results become Aleph's numbered update-doc lines."""

from __future__ import annotations

import re

import pytest

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
        "[0102] 336: no 336 - warning",
        "[0018] Document: 000123456 was updated successfully.",
    ]


def test_invalid_record_lists_mandatory_errors_then_warnings() -> None:
    exc = InvalidRecordError(
        [Problem("warning", "odd", tag="500"), Problem("error", "missing", tag="245")]
    )
    lines = messages.update_failure(exc, 5)
    assert lines[0] == "[0101] 245: missing - mandatory error"
    assert lines[1] == "[0102] 500: odd - warning"
    assert lines[2].startswith("[0103] Document: 000000005 was not saved")


@pytest.mark.parametrize(
    ("exc", "number"),
    [
        (StaleRecordError(7, "20200101000000", "20210101000000"), "0200"),
        (CatConflictError(7, "CAT differs"), "0201"),
        (OwnAuthorizationError("FENNI", "HELKA", "add"), "0300"),
        (LowsRemainError(7, ["HELKA"]), "0302"),
        (RecordNotFoundError(7), "0162"),
        (AuthenticationError("no"), "0400"),
        (WarningsNotAcceptedError([Problem("warning", "w", tag="500")]), "0104"),
        (GatewayError("something else"), "0500"),
    ],
)
def test_each_refusal_has_its_number(exc: GatewayError, number: str) -> None:
    lines = messages.update_failure(exc, 7)
    assert all(LINE.match(text) for text in lines)
    assert lines[-1].startswith(f"[{number}]")


def test_record_not_found_on_read() -> None:
    assert messages.read_failure(RecordNotFoundError(42)) == "Doc number 000000042 does not exist"
