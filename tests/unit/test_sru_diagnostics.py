"""The one mapping from exceptions to SRU diagnostics, and the request envelope it answers in."""

from __future__ import annotations

import logging

import pytest

from gateway.errors import (
    LowsRemainError,
    QueryError,
    UnknownIndexError,
    UnsupportedRelationError,
    UnsupportedTruncationError,
)
from protocols.sru.diagnostics import Diagnostic, SruError, to_diagnostic
from protocols.sru.request import envelope


@pytest.mark.parametrize(
    ("exc", "code", "details"),
    [
        (UnknownIndexError("dc.nonesuch"), 16, "dc.nonesuch"),
        (UnsupportedRelationError("<>", "dc.title"), 19, "<>"),
        (UnsupportedTruncationError("left truncation on bath.isbn"), 28, ""),
        (QueryError("nested too deep"), 48, "nested too deep"),
        (SruError(61, "41"), 61, "41"),
    ],
)
def test_catalog_errors_map_to_sru_numbers(exc: Exception, code: int, details: str) -> None:
    diagnostic = to_diagnostic(exc)
    assert diagnostic.code == code
    assert diagnostic.uri == f"info:srw/diagnostic/1/{code}"
    if details:
        assert diagnostic.details == details


def test_other_domain_errors_are_system_errors_with_their_message() -> None:
    diagnostic = to_diagnostic(LowsRemainError(5, ["HELKA"]))
    assert (diagnostic.code, diagnostic.message) == (1, "Permanent system error")
    assert "HELKA" in diagnostic.details


def test_bugs_become_diagnostic_1_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="melinda.gateway.sru"):
        diagnostic = to_diagnostic(KeyError("secret internals"))
    assert diagnostic.code == 1
    assert "secret" not in diagnostic.details
    assert "secret internals" in caplog.text  # the server's log keeps what the client may not see


def test_messages_follow_yaz_wording() -> None:
    assert Diagnostic(66).message == "Unknown schema for retrieval"
    assert Diagnostic(235).message == "Database does not exist"


@pytest.mark.parametrize(
    ("params", "version", "operation"),
    [
        ({}, "2.0", "explain"),
        ({"query": "a"}, "2.0", "searchRetrieve"),
        ({"scanClause": "dc.title=a"}, "2.0", "scan"),
        ({"version": "1.1", "operation": "scan"}, "1.1", "scan"),
        ({"version": "1.2", "operation": "searchRetrieve"}, "1.2", "searchRetrieve"),
        ({"version": "1.3"}, "1.2", "explain"),
        ({"version": "9.9", "operation": "frobnicate"}, "2.0", "searchRetrieve"),
    ],
)
def test_envelope_infers_version_and_operation(
    params: dict[str, str], version: str, operation: str
) -> None:
    env = envelope(params)
    assert (env.version, env.operation) == (version, operation)
