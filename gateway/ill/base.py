"""What the ILL service's parts share: its settings, errors, the journal's event, the roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from gateway.ill.messages import (
    Confirmation,
    Message,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
)
from gateway.store import IllRequestRow

REQUESTER: Final = "requester"
SUPPLIER: Final = "supplier"


class DeliveryError(Exception):
    """A message could not be delivered this time (no answer, HTTP error, no confirmation)."""


class ScriptedHttpStatus(Exception):
    """A scenario asks for a bare HTTP status instead of a confirmation."""

    def __init__(self, status: int) -> None:
        super().__init__(f"scenario answers HTTP {status}")
        self.status = status


class IllCommandError(Exception):
    """An admin command that cannot be done: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Sender = Callable[[str, Message], Awaitable[Confirmation]]


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One message in or out, for the journal."""

    direction: str  # in | out
    library: str
    request: int
    summary: str  # "request", the status or the action
    peer: str
    outcome: str  # "ok", "ERROR UnrecognisedDataValue: …", "retry 2: …", "failed: …"


@dataclass(frozen=True, slots=True)
class IllSettings:
    delay: float = 1.0  # seconds between a lender's messages
    retry_base: float = 0.5  # first retry after this, doubling
    retry_limit: int = 6  # attempts before a message is given up
    loan_days: int = 28
    lending_fee: str = ""  # e.g. "5.00 EUR": deliveryCosts of Loaned and CopyCompleted


def status_of(row: IllRequestRow) -> Status | None:
    return Status(row.status) if row.status else None


def summary_of(message: Message) -> str:
    if isinstance(message, SupplyingAgencyMessage):
        return f"{message.reason} {message.status or '(no status)'}"
    if isinstance(message, RequestingAgencyMessage):
        return str(message.action)
    return "request"
