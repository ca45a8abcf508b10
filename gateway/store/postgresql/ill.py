"""The PostgreSQL ILL tables: requests and their message history, each change one transaction,
so every gateway process on the database sees the same interlibrary loans."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from gateway.store import ill_rows
from gateway.store.ill import (
    IllMessageRow,
    IllRequestRow,
    NewIllMessage,
    NewIllRequest,
    RequestChange,
)


class PgTransaction(Protocol):
    async def execute(self, sql: str, *params: object) -> None: ...

    async def fetchval(self, sql: str, *params: object) -> Any: ...


class PgStore(Protocol):
    """What these tables need of the PostgreSQL store: a read, and a write transaction (one
    beside the catalog's: ILL rows wait for no record write)."""

    async def fetch_rows(self, sql: str, *params: object) -> list[Any]: ...

    def side_transaction(self) -> AbstractAsyncContextManager[PgTransaction]: ...


async def _insert_message(
    txn: PgTransaction, request: int, message: NewIllMessage, at: float
) -> int:
    found = await txn.fetchval(
        "INSERT INTO ill_messages (request, direction, kind, summary, body, delivery, due, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        request,
        message.direction,
        message.kind,
        message.summary,
        message.body,
        message.delivery,
        message.due,
        at,
    )
    return int(found)


async def _apply_change(txn: PgTransaction, request: int, change: RequestChange, at: float) -> None:
    sets: list[str] = ["updated = $1"]
    params: list[object] = [at]
    for column, value in ill_rows.changed_columns(change):
        params.append(value)
        sets.append(f"{column} = ${len(params)}")
    params.append(request)
    await txn.execute(
        f"UPDATE ill_requests SET {', '.join(sets)} WHERE id = ${len(params)}", *params
    )
    if change.skip_planned:
        await txn.execute(
            "UPDATE ill_messages SET delivery = 'skipped'"
            " WHERE request = $1 AND delivery = 'planned'",
            request,
        )


class PostgresIllRows:
    """The ILL tables of one PostgreSQL store (`store.ill`), an `IllStore`."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    async def create(
        self, request: NewIllRequest, messages: Sequence[NewIllMessage], at: float
    ) -> int | None:
        """Insert a request and its first messages; None if that request id is taken."""
        async with self._store.side_transaction() as txn:
            found = await txn.fetchval(
                "INSERT INTO ill_requests (role, library, own_symbol, peer_symbol, peer_url,"
                " request_id, supplier_request_id, service, record, scenario, profile, status,"
                " created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                " $13, $13) ON CONFLICT (role, own_symbol, peer_symbol, request_id) DO NOTHING"
                " RETURNING id",
                request.role,
                request.library,
                request.own_symbol,
                request.peer_symbol,
                request.peer_url,
                request.request_id,
                request.supplier_request_id,
                request.service,
                request.record,
                request.scenario,
                request.profile,
                request.status,
                at,
            )
            if found is None:
                return None
            new_id = int(found)
            for message in messages:
                await _insert_message(txn, new_id, message, at)
            return new_id

    async def record(
        self,
        request: int,
        change: RequestChange,
        messages: Sequence[NewIllMessage],
        at: float,
    ) -> list[int]:
        """One message's effect on a request, with the messages it adds, in one transaction."""
        async with self._store.side_transaction() as txn:
            await _apply_change(txn, request, change, at)  # first: a skip keeps the new ones
            return [await _insert_message(txn, request, m, at) for m in messages]

    async def fire(
        self, message: int, body: str, request: int, change: RequestChange, at: float
    ) -> bool:
        """A planned message becomes pending (sent from now on) and changes its request;
        False if it is no longer planned."""
        async with self._store.side_transaction() as txn:
            fired = await txn.fetchval(
                "UPDATE ill_messages SET delivery = 'pending', body = $1, at = $2"
                " WHERE id = $3 AND delivery = 'planned' RETURNING id",
                body,
                at,
                message,
            )
            if fired is None:
                return False
            await _apply_change(txn, request, change, at)
            return True

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
        async with self._store.side_transaction() as txn:
            await txn.execute(
                "UPDATE ill_messages SET delivery = $1, attempts = $2, due = $3, detail = $4"
                " WHERE id = $5",
                delivery,
                attempts,
                due,
                detail,
                message,
            )
            if request_change is not None:
                await _apply_change(txn, request_change[0], request_change[1], at)

    # --- reads ------------------------------------------------------------------------------
    async def find(
        self, role: str, own_symbol: str, peer_symbol: str, request_id: str
    ) -> IllRequestRow | None:
        # symbols compare without case, as on SQLite (COLLATE NOCASE)
        rows = await self._store.fetch_rows(
            f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests WHERE role = $1"
            " AND lower(own_symbol) = lower($2) AND lower(peer_symbol) = lower($3)"
            " AND request_id = $4 ORDER BY id LIMIT 1",
            role,
            own_symbol,
            peer_symbol,
            request_id,
        )
        return ill_rows.request_row(rows[0]) if rows else None

    async def get(self, request: int) -> IllRequestRow | None:
        rows = await self._store.fetch_rows(
            f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests WHERE id = $1", request
        )
        return ill_rows.request_row(rows[0]) if rows else None

    async def latest(self, limit: int) -> list[IllRequestRow]:
        rows = await self._store.fetch_rows(
            f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests ORDER BY id DESC LIMIT $1", limit
        )
        return [ill_rows.request_row(r) for r in rows]

    async def messages(self, request: int) -> list[IllMessageRow]:
        rows = await self._store.fetch_rows(
            f"SELECT {ill_rows.MESSAGE_COLUMNS} FROM ill_messages WHERE request = $1 ORDER BY id",
            request,
        )
        return [ill_rows.message_row(r) for r in rows]

    async def message(self, message: int) -> IllMessageRow | None:
        rows = await self._store.fetch_rows(
            f"SELECT {ill_rows.MESSAGE_COLUMNS} FROM ill_messages WHERE id = $1", message
        )
        return ill_rows.message_row(rows[0]) if rows else None

    async def open_heads(self) -> list[IllMessageRow]:
        """Of each request, the first outgoing message not yet settled: messages of one
        request go in order, so only these may be sent now."""
        rows = await self._store.fetch_rows(ill_rows.OPEN_HEADS)
        return [ill_rows.message_row(r) for r in rows]
