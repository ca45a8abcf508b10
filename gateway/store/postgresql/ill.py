"""Interlibrary loans on the PostgreSQL store: not there yet. Reads answer empty, so a gateway
on PostgreSQL starts and serves everything else; an ISO 18626 message is refused clearly."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.store.ill import (
    IllMessageRow,
    IllRequestRow,
    NewIllMessage,
    NewIllRequest,
    RequestChange,
)


class IllNotOnPostgresError(RuntimeError):
    """An interlibrary-loan change asked of the PostgreSQL store."""

    def __init__(self) -> None:
        super().__init__(
            "interlibrary loan (ISO 18626) keeps its requests in the SQLite store only;"
            " the PostgreSQL store does not have its tables yet"
        )


class NoIllStore:
    """The `IllStore` of a PostgreSQL store: no requests, and none may be made."""

    async def create(
        self, request: NewIllRequest, messages: Sequence[NewIllMessage], at: float
    ) -> int | None:
        raise IllNotOnPostgresError()

    async def record(
        self, request: int, change: RequestChange, messages: Sequence[NewIllMessage], at: float
    ) -> list[int]:
        raise IllNotOnPostgresError()

    async def fire(
        self, message: int, body: str, request: int, change: RequestChange, at: float
    ) -> bool:
        raise IllNotOnPostgresError()

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
        raise IllNotOnPostgresError()

    async def find(
        self, role: str, own_symbol: str, peer_symbol: str, request_id: str
    ) -> IllRequestRow | None:
        return None

    async def get(self, request: int) -> IllRequestRow | None:
        return None

    async def latest(self, limit: int) -> list[IllRequestRow]:
        return []

    async def messages(self, request: int) -> list[IllMessageRow]:
        return []

    async def message(self, message: int) -> IllMessageRow | None:
        return None

    async def open_heads(self) -> list[IllMessageRow]:
        return []
