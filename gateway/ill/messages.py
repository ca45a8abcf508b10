"""ISO 18626 messages as plain values: what a request, a supplier's and a requester's message say.

The wire form (XML) lives in protocols/iso18626; these carry the same fields flat, as
text, so that a message can be kept in the store as JSON and sent again after a restart.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final


class Status(StrEnum):
    REQUEST_RECEIVED = "RequestReceived"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    LOANED = "Loaned"
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    RETRY_POSSIBLE = "RetryPossible"
    UNFILLED = "Unfilled"
    COPY_COMPLETED = "CopyCompleted"
    LOAN_COMPLETED = "LoanCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    CANCELLED = "Cancelled"


class Action(StrEnum):
    STATUS_REQUEST = "StatusRequest"
    RECEIVED = "Received"
    CANCEL = "Cancel"
    RENEW = "Renew"
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"
    NOTIFICATION = "Notification"


class Reason(StrEnum):
    """reasonForMessage of a supplying agency message."""

    REQUEST_RESPONSE = "RequestResponse"
    STATUS_REQUEST_RESPONSE = "StatusRequestResponse"
    RENEW_RESPONSE = "RenewResponse"
    CANCEL_RESPONSE = "CancelResponse"
    STATUS_CHANGE = "StatusChange"
    NOTIFICATION = "Notification"


class ServiceType(StrEnum):
    COPY = "Copy"
    LOAN = "Loan"
    COPY_OR_LOAN = "CopyOrLoan"


class ErrorType(StrEnum):
    UNSUPPORTED_ACTION_TYPE = "UnsupportedActionType"
    UNSUPPORTED_REASON_FOR_MESSAGE_TYPE = "UnsupportedReasonForMessageType"
    UNRECOGNISED_DATA_ELEMENT = "UnrecognisedDataElement"
    UNRECOGNISED_DATA_VALUE = "UnrecognisedDataValue"
    BADLY_FORMED_MESSAGE = "BadlyFormedMessage"


class Kind(StrEnum):
    """The three messages and their confirmations share one header: this says which it is."""

    REQUEST = "request"
    SUPPLYING = "supplyingAgencyMessage"
    REQUESTING = "requestingAgencyMessage"


VERSIONS: Final = ("1.0", "1.1", "1.2")  # what we accept; we speak 1.2


class IllError(Exception):
    """A message refused: answered with a confirmation whose messageStatus is ERROR."""

    def __init__(self, error_type: ErrorType, value: str) -> None:
        super().__init__(f"{error_type}: {value}")
        self.error_type = error_type
        self.value = value


def now_text() -> str:
    """The current time as an xs:dateTime in UTC, to the millisecond."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def split_symbol(symbol: str) -> tuple[str, str]:
    """`ISIL:FI-Hul` -> ("ISIL", "FI-Hul"); agency ids travel as type and value."""
    kind, _, value = symbol.partition(":")
    return (kind, value) if value else ("", kind)


@dataclass(frozen=True, slots=True)
class Header:
    supplying: str  # agency symbol, TYPE:VALUE
    requesting: str
    requesting_request_id: str
    timestamp: str = field(default_factory=now_text)
    supplying_request_id: str = ""
    multiple_item_request_id: str = ""


@dataclass(frozen=True, slots=True)
class IllRequest:
    header: Header
    supplier_unique_record_id: str = ""
    title: str = ""
    author: str = ""
    isbn: str = ""
    issn: str = ""
    service_type: ServiceType | None = None
    request_type: str = ""  # New / Retry / Reminder
    previous_request_id: str = ""
    note: str = ""
    requester_url: str = ""  # requestingAgencyInfo's electronic address: where answers go
    requester_name: str = ""
    kind: Kind = Kind.REQUEST


@dataclass(frozen=True, slots=True)
class SupplyingAgencyMessage:
    header: Header
    reason: Reason
    status: Status | None  # None: Alma's notifications carry an empty status
    last_change: str = field(default_factory=now_text)
    answer_yes_no: str = ""
    note: str = ""
    reason_unfilled: str = ""
    reason_retry: str = ""
    offered_costs: str = ""  # "35.00 EUR"
    due_date: str = ""
    date_sent: str = ""  # deliveryInfo is sent when this is set
    item_id: str = ""
    sent_via: str = ""
    loan_condition: str = ""
    delivered_format: str = ""
    delivery_costs: str = ""
    kind: Kind = Kind.SUPPLYING


@dataclass(frozen=True, slots=True)
class RequestingAgencyMessage:
    header: Header
    action: Action
    note: str = ""
    kind: Kind = Kind.REQUESTING


Message = IllRequest | SupplyingAgencyMessage | RequestingAgencyMessage


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The synchronous answer to any message: OK, or ERROR with the error's type and text."""

    kind: Kind
    header: Header | None  # the confirmed message's header, echoed (None: none could be read)
    ok: bool = True
    error_type: ErrorType | None = None
    error_value: str = ""
    reason: Reason | None = None  # echoed by a supplying agency message's confirmation
    action: Action | None = None  # echoed by a requesting agency message's confirmation
    timestamp: str = field(default_factory=now_text)


def confirm(message: Message) -> Confirmation:
    return Confirmation(
        kind=message.kind,
        header=message.header,
        reason=message.reason if isinstance(message, SupplyingAgencyMessage) else None,
        action=message.action if isinstance(message, RequestingAgencyMessage) else None,
    )


def refuse(message: Message | None, error: IllError, kind: Kind = Kind.REQUEST) -> Confirmation:
    return Confirmation(
        kind=message.kind if message is not None else kind,
        header=message.header if message is not None else None,
        ok=False,
        error_type=error.error_type,
        error_value=error.value,
        reason=message.reason if isinstance(message, SupplyingAgencyMessage) else None,
        action=message.action if isinstance(message, RequestingAgencyMessage) else None,
    )


# --- kept in the store as JSON ---------------------------------------------------------------
def message_json(message: Message) -> str:
    return json.dumps(dataclasses.asdict(message), ensure_ascii=False)


def message_from_json(text: str) -> Message:
    data: dict[str, Any] = json.loads(text)
    header = Header(**data.pop("header"))
    kind = Kind(data.pop("kind"))
    if kind is Kind.REQUEST:
        service = data.pop("service_type")
        return IllRequest(header, service_type=ServiceType(service) if service else None, **data)
    if kind is Kind.SUPPLYING:
        status = data.pop("status")
        return SupplyingAgencyMessage(
            header,
            reason=Reason(data.pop("reason")),
            status=Status(status) if status else None,
            **data,
        )
    return RequestingAgencyMessage(header, action=Action(data.pop("action")), note=data["note"])


def with_header(message: Message, header: Header) -> Message:
    return dataclasses.replace(message, header=header)
