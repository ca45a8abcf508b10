"""SRU diagnostics: the one mapping from request and catalog exceptions to SRU's numbers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from gateway.errors import (
    GatewayError,
    QueryError,
    RecordNotFoundError,
    UnknownIndexError,
    UnsupportedRelationError,
    UnsupportedTruncationError,
)
from protocols.sru import cql

log = logging.getLogger("melinda.gateway.sru")

# Messages as YAZ words them; Melinda's SRU server answers with these (e.g. "Permanent
# system error" for 1, shared/fixtures/sru-responses/sru-client-06.xml).
MESSAGES: Final[dict[int, str]] = {
    1: "Permanent system error",
    4: "Unsupported operation",
    5: "Unsupported version",
    6: "Unsupported parameter value",
    7: "Mandatory parameter not supplied",
    8: "Unsupported parameter",
    10: "Query syntax error",
    11: "Unsupported query type",
    13: "Invalid or unsupported use of parentheses",
    14: "Invalid or unsupported use of quotes",
    15: "Unsupported context set",
    16: "Unsupported index",
    19: "Unsupported relation",
    20: "Unsupported relation modifier",
    27: "Empty term unsupported",
    28: "Masking character not supported",
    29: "Masked words too short",
    30: "Too many masking characters in term",
    32: "Anchoring character in unsupported position",
    39: "Proximity not supported",
    46: "Unsupported boolean modifier",
    48: "Query feature unsupported",
    61: "First record position out of range",
    65: "Record does not exist",
    66: "Unknown schema for retrieval",
    71: "Unsupported record packing",
    72: "XPath retrieval unsupported",
    80: "Sort not supported",
    91: "Unsupported case",
    110: "Stylesheets not supported",
    120: "Response position out of range",
    121: "Too many terms requested",
    235: "Database does not exist",
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: int
    details: str = ""

    @property
    def uri(self) -> str:
        return f"info:srw/diagnostic/1/{self.code}"

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, "Permanent system error")


class SruError(Exception):
    """A request the wire layer refuses (bad parameter, version, schema, ...)."""

    def __init__(self, code: int, details: str = "") -> None:
        self.code = code
        self.details = details
        super().__init__(f"{code}: {details}")


# Most specific first: the first class the exception is an instance of decides.
EXCEPTION_CODES: Final[tuple[tuple[type[BaseException], int], ...]] = (
    (cql.UnbalancedParenthesesError, 13),
    (cql.UnbalancedQuotesError, 14),
    (cql.CQLSyntaxError, 10),
    (cql.UnsupportedContextSetError, 15),
    (UnknownIndexError, 16),
    (UnsupportedRelationError, 19),
    (cql.UnsupportedRelationModifierError, 20),
    (cql.EmptyTermError, 27),
    (cql.MaskingNotSupportedError, 28),
    (UnsupportedTruncationError, 28),
    (cql.MaskedWordTooShortError, 29),
    (cql.TooManyMaskingCharactersError, 30),
    (cql.AnchoringPositionError, 32),
    (cql.ProximityNotSupportedError, 39),
    (cql.UnsupportedBooleanModifierError, 46),
    (cql.UnsupportedSortCaseError, 91),
    (cql.SortNotSupportedError, 80),
    (QueryError, 48),
    (RecordNotFoundError, 65),
)


def to_diagnostic(exc: BaseException) -> Diagnostic:
    """The SRU diagnostic for any exception; unexpected ones become 1 and are logged."""
    if isinstance(exc, SruError):
        return Diagnostic(exc.code, exc.details)
    for kind, code in EXCEPTION_CODES:
        if isinstance(exc, kind):
            return Diagnostic(code, _details(exc))
    if isinstance(exc, GatewayError):
        return Diagnostic(1, str(exc))
    log.error("SRU request failed", exc_info=exc)
    return Diagnostic(1, "Internal error; the gateway's log has the details")


def _details(exc: BaseException) -> str:
    if isinstance(exc, cql.CQLError):
        return exc.details or str(exc)
    if isinstance(exc, UnknownIndexError):
        return exc.index
    if isinstance(exc, UnsupportedRelationError):
        return exc.relation
    return str(exc)
