"""The one mapping from catalog outcomes and domain errors to Aleph's numbered update-doc messages.

Aleph answers update-doc with `<error>` lines `[NNNN] text`, optionally suffixed
`- mandatory error` or `- warning`; `[0018] Document: 000123456 was updated successfully.`
is Aleph's own success line (clients look for it). The other numbers are this gateway's
choice, all listed here:

| number    | meaning                                                                |
|-----------|------------------------------------------------------------------------|
| 0018      | saved: `Document: NNNNNNNNN was updated successfully.` (create, update) |
| 0019      | deleted: `Document: NNNNNNNNN was deleted successfully.`                |
| 0050      | nothing saved: the record has mandatory errors (after their lines)      |
| 0051      | nothing saved: UPDATE-CHK found warnings (send UPDATE to save anyway)    |
| 0060      | the doc number does not exist                                           |
| 0070      | xml_full_req is not a readable record (with line:column when XML)        |
| 0071      | xml_full_req is longer than the limit                                   |
| 0100-0199 | validation findings, numbered by `gateway.rules.problem_number` (0100:  |
|           | a finding without a number); suffix `- mandatory error` / `- warning`   |
| 0200      | stale record: the update was made from an older copy (024 $d)           |
| 0201      | modification history (CAT) mismatch: concurrent edit                    |
| 0300      | own authorization error: another library's LOW added or removed        |
| 0301      | the user may not do this                                                |
| 0302      | delete refused while LOWs remain                                        |
| 0400      | staff user or password not accepted                                     |
| 0500      | any other refusal of the catalog                                        |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from gateway import rules
from gateway.errors import (
    AuthenticationError,
    CatConflictError,
    GatewayError,
    InvalidRecordError,
    LowsRemainError,
    MalformedRecordError,
    NotAuthorisedError,
    OwnAuthorizationError,
    Problem,
    RecordNotFoundError,
    StaleRecordError,
    WarningsNotAcceptedError,
)

UNNUMBERED_PROBLEM: Final = 100
MANDATORY: Final = "mandatory error"
WARNING: Final = "warning"
# Aleph's own text for a failed login (shared/fixtures/xserver/user-auth-response2.xml).
NO_SUCH_STAFF_MEMBER: Final = (
    "No such staff member exist. Make sure both user and password are correct."
)


def line(number: int, text: str, suffix: str = "") -> str:
    """One Aleph message: `[0018] text` or `[0102] text - warning`."""
    out = f"[{number:04d}] {text}"
    return f"{out} - {suffix}" if suffix else out


def doc_number(record_id: int) -> str:
    return f"{record_id:09d}"


def _problem_line(problem: Problem) -> str:
    found = rules.problem_number(problem)
    number = int(found) if found.isdigit() else UNNUMBERED_PROBLEM
    return line(number, str(problem), MANDATORY if problem.is_error else WARNING)


def problem_lines(problems: Iterable[object]) -> list[str]:
    """Validation findings as Aleph lines; errors first as Aleph lists them."""
    found = [p for p in problems if isinstance(p, Problem)]
    others = [str(p) for p in problems if not isinstance(p, Problem)]
    errors = [_problem_line(p) for p in found if p.is_error]
    warnings = [_problem_line(p) for p in found if not p.is_error]
    return errors + warnings + [line(UNNUMBERED_PROBLEM, text, WARNING) for text in others]


def saved(record_id: int, warnings: Sequence[object] = ()) -> list[str]:
    """The reply lines of a successful create or update: warnings, then Aleph's success line."""
    return [
        *problem_lines(warnings),
        line(18, f"Document: {doc_number(record_id)} was updated successfully."),
    ]


def deleted(record_id: int) -> list[str]:
    return [line(19, f"Document: {doc_number(record_id)} was deleted successfully.")]


def malformed_request(detail: str) -> list[str]:
    return [line(70, f"xml_full_req is not a valid record: {detail}")]


def overlong_request(limit: int, length: int) -> list[str]:
    return [
        line(
            71,
            f"xml_full_req has {length} characters; at most {limit} are accepted"
            " (setting xserver_max_request_chars)",
        )
    ]


def update_failure(exc: GatewayError, record_id: int | None) -> list[str]:
    """The lines that explain why a write saved nothing."""
    target = f"Document: {doc_number(record_id)}" if record_id else "The new document"
    if isinstance(exc, InvalidRecordError):
        return [
            *problem_lines(exc.problems),
            line(50, f"{target} was not saved: the record has mandatory errors."),
        ]
    if isinstance(exc, WarningsNotAcceptedError):
        return [
            *problem_lines(exc.problems),
            line(
                51,
                f"{target} was not saved: the check found warnings; "
                "send UPDATE to save despite them.",
            ),
        ]
    if isinstance(exc, RecordNotFoundError):
        return [
            line(
                60,
                f"Doc number {doc_number(exc.record_id)} does not exist. "
                "To insert a new document use doc number 000000000.",
            )
        ]
    if isinstance(exc, StaleRecordError):
        return [line(200, str(exc), MANDATORY)]
    if isinstance(exc, CatConflictError):
        return [line(201, str(exc), MANDATORY)]
    if isinstance(exc, OwnAuthorizationError):
        return [line(300, str(exc), MANDATORY)]
    if isinstance(exc, NotAuthorisedError):
        return [line(301, str(exc), MANDATORY)]
    if isinstance(exc, LowsRemainError):
        return [line(302, str(exc), MANDATORY)]
    if isinstance(exc, AuthenticationError):
        return [line(400, NO_SUCH_STAFF_MEMBER)]
    if isinstance(exc, MalformedRecordError):
        return malformed_request(str(exc))
    return [line(500, str(exc) or type(exc).__name__)]


def read_failure(exc: GatewayError) -> str:
    """The `<error>` text of a read op (find, present, find-doc) the catalog refused."""
    if isinstance(exc, RecordNotFoundError):
        return f"Doc number {doc_number(exc.record_id)} does not exist"
    if isinstance(exc, AuthenticationError):
        return NO_SUCH_STAFF_MEMBER
    return str(exc) or type(exc).__name__
