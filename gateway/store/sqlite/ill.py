"""The SQLite ILL tables: requests and their message history, each change one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from gateway.store import ill_rows
from gateway.store.ill import (
    IllMessageRow,
    IllRequestRow,
    NewIllMessage,
    NewIllRequest,
    RequestChange,
)

_T = TypeVar("_T")


class SqlTransaction(Protocol):
    async def run(self, work: Callable[[sqlite3.Connection], _T]) -> _T: ...


class SqlStore(Protocol):
    """What these tables need of the SQLite store: a read, and a write transaction."""

    async def read(self, work: Callable[[sqlite3.Connection], _T]) -> _T: ...

    def transaction(self) -> AbstractAsyncContextManager[SqlTransaction]: ...


def _insert_message(db: sqlite3.Connection, request: int, message: NewIllMessage, at: float) -> int:
    cursor = db.execute(
        "INSERT INTO ill_messages (request, direction, kind, summary, body, delivery, due, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request,
            message.direction,
            message.kind,
            message.summary,
            message.body,
            message.delivery,
            message.due,
            at,
        ),
    )
    return int(cursor.lastrowid or 0)


def _apply_change(db: sqlite3.Connection, request: int, change: RequestChange, at: float) -> None:
    sets: list[str] = ["updated = ?"]
    params: list[object] = [at]
    for column, value in ill_rows.changed_columns(change):
        sets.append(f"{column} = ?")
        params.append(value)  # a bool: sqlite3 stores it as 0/1
    db.execute(f"UPDATE ill_requests SET {', '.join(sets)} WHERE id = ?", [*params, request])
    if change.skip_planned:
        db.execute(
            "UPDATE ill_messages SET delivery = 'skipped' WHERE request = ? AND delivery = 'planned'",
            (request,),
        )


class SqliteIllRows:
    """The ILL tables of one SQLite store (`store.ill`), an `IllStore`."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def create(
        self, request: NewIllRequest, messages: Sequence[NewIllMessage], at: float
    ) -> int | None:
        """Insert a request and its first messages; None if that request id is taken."""

        def work(db: sqlite3.Connection) -> int | None:
            try:
                cursor = db.execute(
                    "INSERT INTO ill_requests (role, library, own_symbol, peer_symbol, peer_url,"
                    " request_id, supplier_request_id, service, record, scenario, profile, status,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
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
                        at,
                    ),
                )
            except sqlite3.IntegrityError:
                return None
            new_id = int(cursor.lastrowid or 0)
            for message in messages:
                _insert_message(db, new_id, message, at)
            return new_id

        async with self._store.transaction() as txn:
            return await txn.run(work)

    async def record(
        self,
        request: int,
        change: RequestChange,
        messages: Sequence[NewIllMessage],
        at: float,
    ) -> list[int]:
        """One message's effect on a request, with the messages it adds, in one transaction."""

        def work(db: sqlite3.Connection) -> list[int]:
            _apply_change(db, request, change, at)  # first: a skip must not drop the new messages
            return [_insert_message(db, request, m, at) for m in messages]

        async with self._store.transaction() as txn:
            return await txn.run(work)

    async def fire(
        self, message: int, body: str, request: int, change: RequestChange, at: float
    ) -> bool:
        """A planned message becomes pending (sent from now on) and changes its request;
        False if it is no longer planned."""

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE ill_messages SET delivery = 'pending', body = ?, at = ?"
                " WHERE id = ? AND delivery = 'planned'",
                (body, at, message),
            )
            if cursor.rowcount != 1:
                return False
            _apply_change(db, request, change, at)
            return True

        async with self._store.transaction() as txn:
            return await txn.run(work)

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

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE ill_messages SET delivery = ?, attempts = ?, due = ?, detail = ? WHERE id = ?",
                (delivery, attempts, due, detail, message),
            )
            if request_change is not None:
                _apply_change(db, request_change[0], request_change[1], at)

        async with self._store.transaction() as txn:
            await txn.run(work)

    # --- reads ------------------------------------------------------------------------------
    async def find(
        self, role: str, own_symbol: str, peer_symbol: str, request_id: str
    ) -> IllRequestRow | None:
        def work(db: sqlite3.Connection) -> IllRequestRow | None:
            rows = db.execute(
                f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests WHERE role = ? AND own_symbol = ?"
                " COLLATE NOCASE AND peer_symbol = ? COLLATE NOCASE AND request_id = ?",
                (role, own_symbol, peer_symbol, request_id),
            ).fetchall()
            return ill_rows.request_row(rows[0]) if rows else None

        return await self._store.read(work)

    async def get(self, request: int) -> IllRequestRow | None:
        def work(db: sqlite3.Connection) -> IllRequestRow | None:
            rows = db.execute(
                f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests WHERE id = ?", (request,)
            ).fetchall()
            return ill_rows.request_row(rows[0]) if rows else None

        return await self._store.read(work)

    async def latest(self, limit: int) -> list[IllRequestRow]:
        def work(db: sqlite3.Connection) -> list[IllRequestRow]:
            rows = db.execute(
                f"SELECT {ill_rows.REQUEST_COLUMNS} FROM ill_requests ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [ill_rows.request_row(r) for r in rows]

        return await self._store.read(work)

    async def messages(self, request: int) -> list[IllMessageRow]:
        def work(db: sqlite3.Connection) -> list[IllMessageRow]:
            rows = db.execute(
                f"SELECT {ill_rows.MESSAGE_COLUMNS} FROM ill_messages WHERE request = ? ORDER BY id",
                (request,),
            ).fetchall()
            return [ill_rows.message_row(r) for r in rows]

        return await self._store.read(work)

    async def message(self, message: int) -> IllMessageRow | None:
        def work(db: sqlite3.Connection) -> IllMessageRow | None:
            rows = db.execute(
                f"SELECT {ill_rows.MESSAGE_COLUMNS} FROM ill_messages WHERE id = ?", (message,)
            ).fetchall()
            return ill_rows.message_row(rows[0]) if rows else None

        return await self._store.read(work)

    async def open_heads(self) -> list[IllMessageRow]:
        """Of each request, the first outgoing message not yet settled: messages of one
        request go in order, so only these may be sent now."""

        def work(db: sqlite3.Connection) -> list[IllMessageRow]:
            rows = db.execute(ill_rows.OPEN_HEADS).fetchall()
            return [ill_rows.message_row(r) for r in rows]

        return await self._store.read(work)
