"""The catalog's exception hierarchy; every protocol maps these to its own diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding: an error ("red", refuses the save) or a warning ("green")."""

    severity: str  # "error" | "warning"
    message: str
    tag: str = ""
    code: str = ""  # subfield code or indicator position the problem concerns

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.tag}" + (f" {self.code}" if self.code else "")
        return f"{where}: {self.message}" if where else self.message


class GatewayError(Exception):
    """Base of every domain error; `str(exc)` is a message fit for a client."""


class MalformedRecordError(GatewayError):
    """Input could not be read as a record; the message says what and where."""

    def __init__(self, message: str, *, position: str = "") -> None:
        self.position = position
        super().__init__(f"{message} ({position})" if position else message)


class RecordNotFoundError(GatewayError):
    def __init__(self, record_id: int) -> None:
        self.record_id = record_id
        super().__init__(f"Record {record_id:09d} does not exist")


class InvalidRecordError(GatewayError):
    """Validation found errors; nothing was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid record")


class WarningsNotAcceptedError(GatewayError):
    """A check-only write (UPDATE-CHK) found warnings; nothing was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class StaleRecordError(GatewayError):
    """An update was built from an older copy than the stored record (024 $d older)."""

    def __init__(self, record_id: int, given: str, current: str) -> None:
        self.record_id = record_id
        self.given = given
        self.current = current
        super().__init__(
            f"Record {record_id:09d} is stale: the update was made from the version of {given}, "
            f"but Melinda's record was updated {current}"
        )


class CatConflictError(GatewayError):
    """An update's CAT history differs from the stored record's (concurrent edit)."""

    def __init__(self, record_id: int, detail: str) -> None:
        self.record_id = record_id
        self.detail = detail
        super().__init__(f"Modification history mismatch (CAT) on record {record_id:09d}: {detail}")


class AuthenticationError(GatewayError):
    """Unknown user or wrong password."""


class NotAuthorisedError(GatewayError):
    """The user may not do this (e.g. add or remove another library's LOW)."""


class OwnAuthorizationError(NotAuthorisedError):
    def __init__(self, code: str, library: str, action: str) -> None:
        self.low_code = code
        self.library = library
        super().__init__(
            f"Own authorization error: library {library} may not {action} LOW {code}, "
            f"which belongs to another library"
        )


class LowsRemainError(GatewayError):
    """A delete was refused because libraries still hold the record."""

    def __init__(self, record_id: int, lows: Sequence[str]) -> None:
        self.record_id = record_id
        self.lows = list(lows)
        super().__init__(
            f"Record {record_id:09d} cannot be deleted: it still has LOW {', '.join(self.lows)}"
        )


class QueryError(GatewayError):
    """A search request the catalog cannot run."""


class QueryTooComplexError(QueryError):
    """A query nested deeper or holding more terms than the gateway answers."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"query too complex: {detail}")
        self.detail = detail


class UnknownIndexError(QueryError):
    def __init__(self, index: str) -> None:
        self.index = index
        super().__init__(f"Unsupported index: {index}")


class UnsupportedRelationError(QueryError):
    def __init__(self, relation: str, index: str = "") -> None:
        self.relation = relation
        self.index = index
        super().__init__(f"Unsupported relation {relation!r}" + (f" for {index}" if index else ""))


class UnsupportedTruncationError(QueryError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"Unsupported truncation: {detail}")


class LibraryNotFoundError(GatewayError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"No such library: {code}")
