"""Bib-1 diagnostics: the one place domain errors become Z39.50 conditions."""

from __future__ import annotations

import logging
from typing import Final

from gateway.errors import (
    AuthenticationError,
    GatewayError,
    QueryError,
    RecordNotFoundError,
    UnknownIndexError,
    UnsupportedRelationError,
    UnsupportedTruncationError,
)

log = logging.getLogger("melinda.z3950")

# Bib-1 conditions this target sends (ANSI/NISO Z39.50-1995 Appendix 4).
PERMANENT_SYSTEM_ERROR: Final = 1
TEMPORARY_SYSTEM_ERROR: Final = 2
UNSUPPORTED_SEARCH: Final = 3
PRESENT_OUT_OF_RANGE: Final = 13
SYSTEM_ERROR_IN_PRESENTING: Final = 14
RECORD_EXCEEDS_MESSAGE_SIZE: Final = 16
RECORD_EXCEEDS_RECORD_SIZE: Final = 17
RESULT_SET_AS_TERM: Final = 18
RESULT_SET_EXISTS: Final = 21
ELEMENT_SET_NOT_VALID: Final = 25
RESULT_SET_DOES_NOT_EXIST: Final = 30
QUERY_TYPE_UNSUPPORTED: Final = 107
MALFORMED_QUERY: Final = 108
OPERATOR_UNSUPPORTED: Final = 110
TOO_MANY_DATABASES: Final = 111
UNSUPPORTED_ATTRIBUTE_TYPE: Final = 113
UNSUPPORTED_USE: Final = 114
UNSUPPORTED_RELATION: Final = 117
UNSUPPORTED_STRUCTURE: Final = 118
UNSUPPORTED_POSITION: Final = 119
UNSUPPORTED_TRUNCATION: Final = 120
UNSUPPORTED_ATTRIBUTE_SET: Final = 121
UNSUPPORTED_COMPLETENESS: Final = 122
UNSUPPORTED_COMBINATION: Final = 123
MALFORMED_TERM: Final = 125
ONLY_ZERO_STEP_SIZE: Final = 205
TOO_MANY_RESULT_SETS: Final = 112
TERM_TYPE_UNSUPPORTED: Final = 229
SCAN_POSITION_UNSUPPORTED: Final = 233
DATABASE_DOES_NOT_EXIST: Final = 235
RECORD_NOT_IN_SYNTAX: Final = 238
RECORD_SYNTAX_UNSUPPORTED: Final = 239
ADDITIONAL_RANGES_UNSUPPORTED: Final = 243
COMP_SPEC_UNSUPPORTED: Final = 244
RESULT_ATTR_UNSUPPORTED: Final = 245
COMPLEX_ATTRIBUTE_UNSUPPORTED: Final = 246
SORT_UNSUPPORTED: Final = 207
BAD_USER_OR_PASSWORD: Final = 1011
OUT_OF_RESOURCES: Final = 1018


class Bib1Diagnostic(Exception):
    """A request this target answers with a Bib-1 diagnostic instead of results."""

    def __init__(self, condition: int, addinfo: str = "") -> None:
        self.condition = condition
        self.addinfo = addinfo
        super().__init__(f"Bib-1 {condition}" + (f": {addinfo}" if addinfo else ""))


def to_diagnostic(exc: Exception) -> Bib1Diagnostic:
    """The Bib-1 diagnostic a failure is reported as (unexpected ones are logged)."""
    if isinstance(exc, Bib1Diagnostic):
        return exc
    if isinstance(exc, UnknownIndexError):
        return Bib1Diagnostic(UNSUPPORTED_USE, exc.index)
    if isinstance(exc, UnsupportedRelationError):
        return Bib1Diagnostic(UNSUPPORTED_RELATION, str(exc))
    if isinstance(exc, UnsupportedTruncationError):
        return Bib1Diagnostic(UNSUPPORTED_TRUNCATION, str(exc))
    if isinstance(exc, QueryError):
        return Bib1Diagnostic(MALFORMED_QUERY, str(exc))
    if isinstance(exc, RecordNotFoundError):
        return Bib1Diagnostic(SYSTEM_ERROR_IN_PRESENTING, str(exc))
    if isinstance(exc, AuthenticationError):
        return Bib1Diagnostic(BAD_USER_OR_PASSWORD, str(exc))
    if isinstance(exc, GatewayError):
        return Bib1Diagnostic(PERMANENT_SYSTEM_ERROR, str(exc))
    log.exception("Z39.50 request failed", exc_info=exc)
    return Bib1Diagnostic(TEMPORARY_SYSTEM_ERROR, "internal error")
