"""The store's interface for interlibrary loans: requests, their messages, and each change as one
transaction (implemented by `gateway.store.sqlite.ill`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

OPEN: Final = ("planned", "pending")  # outgoing messages not yet settled


@dataclass(frozen=True, slots=True)
class IllRequestRow:
    id: int
    role: str
    library: str
    own_symbol: str
    peer_symbol: str
    peer_url: str
    request_id: str
    supplier_request_id: str
    service: str
    record: str
    scenario: str
    profile: str
    status: str
    received: bool
    error: str
    created: float
    updated: float


@dataclass(frozen=True, slots=True)
class NewIllRequest:
    role: str
    library: str
    own_symbol: str
    peer_symbol: str
    peer_url: str
    request_id: str
    supplier_request_id: str = ""
    service: str = ""
    record: str = ""
    scenario: str = ""
    profile: str = "standard"
    status: str = ""


@dataclass(frozen=True, slots=True)
class IllMessageRow:
    id: int
    request: int
    direction: str
    kind: str
    summary: str
    body: str
    delivery: str
    due: float
    attempts: int
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class NewIllMessage:
    direction: str
    kind: str
    summary: str
    body: str
    delivery: str
    due: float = 0.0


@dataclass(frozen=True, slots=True)
class RequestChange:
    """What one message does to its request (None: that column stays)."""

    status: str | None = None
    received: bool | None = None
    error: str | None = None
    supplier_request_id: str | None = None
    skip_planned: bool = False  # the request ended: lender steps not yet sent are dropped


class IllStore(Protocol):
    """The ILL tables of one store (`store.ill`)."""

    async def create(
        self, request: NewIllRequest, messages: Sequence[NewIllMessage], at: float
    ) -> int | None:
        """Insert a request and its first messages; None if that request id is taken."""
        ...

    async def record(
        self, request: int, change: RequestChange, messages: Sequence[NewIllMessage], at: float
    ) -> list[int]:
        """One message's effect on a request, with the messages it adds."""
        ...

    async def fire(
        self, message: int, body: str, request: int, change: RequestChange, at: float
    ) -> bool:
        """A planned message becomes pending and changes its request; False if no longer planned."""
        ...

    async def settle(
        self,
        message: int,
        delivery: str,
        *,
        attempts: int,
        due: float = 0.0,
        detail: str = "",
        request_change: tuple[int, RequestChange] | None = None,
        at: float = 0.0,
    ) -> None:
        """The outcome of one attempt to send: delivered, rejected, failed, or pending again."""
        ...

    async def find(
        self, role: str, own_symbol: str, peer_symbol: str, request_id: str
    ) -> IllRequestRow | None: ...

    async def get(self, request: int) -> IllRequestRow | None: ...

    async def latest(self, limit: int) -> list[IllRequestRow]: ...

    async def messages(self, request: int) -> list[IllMessageRow]: ...

    async def message(self, message: int) -> IllMessageRow | None: ...

    async def open_heads(self) -> list[IllMessageRow]:
        """Of each request, the first outgoing message not yet settled."""
        ...
