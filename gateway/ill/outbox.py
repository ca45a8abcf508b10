"""The ILL outbox: one worker sends the store's unsent messages, in order within a request,
retrying with backoff; a lender's planned message changes its request's status when it goes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Final

from gateway.ill.base import DeliveryError, IllSettings, MessageEvent, Sender, status_of
from gateway.ill.messages import (
    Message,
    SupplyingAgencyMessage,
    message_from_json,
    message_json,
    now_text,
)
from gateway.ill.states import TERMINAL, may_become
from gateway.store import OPEN, IllMessageRow, IllRequestRow, IllStore, RequestChange

log = logging.getLogger("melinda.ill")

MAX_BACKOFF: Final = 60.0


class Outbox:
    """Sends what the store holds unsent; `wake()` when something new is there."""

    def __init__(
        self,
        rows: IllStore,
        lock: asyncio.Lock,
        send: Sender,
        settings: IllSettings,
        notify: Callable[[MessageEvent], None],
    ) -> None:
        self.rows = rows
        self._lock = lock  # the service's: a status changes under it, never beside it
        self._send = send
        self.settings = settings
        self._notify = notify
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}  # request -> its send in flight
        # the longest wait between looks at the store: messages other processes add wake
        # nothing here, so with several processes it is short
        self.idle_seconds = 5.0

    def wake(self) -> None:
        self._wake.set()

    async def _row(self, request_id: int) -> IllRequestRow:
        row = await self.rows.get(request_id)
        if row is None:
            raise LookupError(f"no ILL request {request_id}")
        return row

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="ill-outbox")

    async def stop(self) -> None:
        tasks = [t for t in (self._worker, *self._sending.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None
        self._sending.clear()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self.idle_seconds
            try:
                heads = await self.rows.open_heads()
            except Exception:  # the store closing under us: the next start resumes
                log.exception("reading the ILL outbox failed")
                heads = []
            now = time.time()
            for head in heads:
                if head.request in self._sending:
                    continue
                if head.due <= now:
                    self._sending[head.request] = asyncio.create_task(self._deliver(head))
                else:
                    wait = min(wait, head.due - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))

    async def _deliver(self, head: IllMessageRow) -> None:
        try:
            await self._deliver_one(head)
        except Exception:
            log.exception("sending ILL message %s failed", head.id)
        finally:
            self._sending.pop(head.request, None)
            self._wake.set()

    async def _deliver_one(self, seen: IllMessageRow) -> None:
        # read again: the worker's list may predate this message's last send settling
        head = await self.rows.message(seen.id)
        if head is None or head.delivery not in OPEN:
            return
        row = await self._row(head.request)
        message = message_from_json(head.body)
        if head.delivery == "planned":
            fired = await self._fire(head, row, message)
            if fired is None:
                return
            message = fired
        attempts = head.attempts + 1
        try:
            if not row.peer_url:
                raise DeliveryError("the peer gave no address for answers")
            confirmation = await self._send(row.peer_url, message)
        except DeliveryError as exc:
            give_up = attempts >= self.settings.retry_limit or not row.peer_url
            await self._failed(head, row, attempts, str(exc), give_up)
            return
        if confirmation.ok:
            await self.rows.settle(head.id, "delivered", attempts=attempts)
            self._event("out", row, head.summary, "ok")
            return
        detail = f"{confirmation.error_type}: {confirmation.error_value}"
        await self.rows.settle(
            head.id,
            "rejected",
            attempts=attempts,
            detail=detail,
            request_change=(row.id, RequestChange(error=f"{head.summary} refused: {detail}")),
            at=time.time(),
        )
        self._event("out", row, head.summary, f"ERROR {detail}")

    async def _fire(
        self, head: IllMessageRow, row: IllRequestRow, message: Message
    ) -> Message | None:
        """A planned lender message is due: it changes the status now, or is skipped when
        the request has moved on past it."""
        async with self._lock:
            row = await self._row(head.request)
            status = message.status if isinstance(message, SupplyingAgencyMessage) else None
            current = status_of(row)
            if status is not None and not may_become(current, status) and status != current:
                await self.rows.settle(
                    head.id, "skipped", attempts=0, detail=f"the request is {current}"
                )
                return None
            fresh = dataclasses.replace(
                message, header=dataclasses.replace(message.header, timestamp=now_text())
            )
            if isinstance(fresh, SupplyingAgencyMessage):
                fresh = dataclasses.replace(fresh, last_change=now_text())
            change = RequestChange(
                status=str(status) if status is not None else None,
                skip_planned=status in TERMINAL,
            )
            if not await self.rows.fire(head.id, message_json(fresh), row.id, change, time.time()):
                return None
            return fresh

    async def _failed(
        self, head: IllMessageRow, row: IllRequestRow, attempts: int, reason: str, give_up: bool
    ) -> None:
        if give_up:
            await self.rows.settle(
                head.id,
                "failed",
                attempts=attempts,
                detail=reason,
                request_change=(
                    row.id,
                    RequestChange(error=f"{head.summary} undeliverable: {reason}"),
                ),
                at=time.time(),
            )
            self._event("out", row, head.summary, f"failed: {reason}")
            return
        backoff = min(self.settings.retry_base * 2 ** (attempts - 1), MAX_BACKOFF)
        await self.rows.settle(
            head.id, "pending", attempts=attempts, due=time.time() + backoff, detail=reason
        )
        self._event("out", row, head.summary, f"retry {attempts}: {reason}")

    def _event(self, direction: str, row: IllRequestRow, summary: str, outcome: str) -> None:
        self._notify(
            MessageEvent(direction, row.library, row.id, summary, row.peer_symbol, outcome)
        )
