"""The libraries as ISO 18626 peers: lending and borrowing, every message kept, sent in order.

Incoming messages are answered here with a Confirmation; outgoing ones are rows in the
store, sent by the outbox (outbox.py) through the `Sender` the wiring hands in. A restart
reads the rows and carries on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from gateway.catalog import Catalog
from gateway.errors import LibraryNotFoundError
from gateway.ill.agencies import Agency, AgencyTable, Profile
from gateway.ill.base import (
    REQUESTER,
    SUPPLIER,
    IllCommandError,
    IllSettings,
    MessageEvent,
    ScriptedHttpStatus,
    Sender,
    status_of,
    summary_of,
)
from gateway.ill.holdings import resolve_holding
from gateway.ill.lending import lending_steps, plan
from gateway.ill.messages import (
    Action,
    Confirmation,
    ErrorType,
    Header,
    IllError,
    IllRequest,
    Message,
    Reason,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    confirm,
    message_from_json,
    message_json,
)
from gateway.ill.outbox import Outbox
from gateway.ill.scenarios import SCENARIOS, Scenario, Step, scenario_of
from gateway.ill.states import BEFORE_SHIPPING, ON_LOAN, TERMINAL, may_become, refusal_of_action
from gateway.store import (
    IllMessageRow,
    IllRequestRow,
    NewIllMessage,
    NewIllRequest,
    RequestChange,
)

LENDER_STATUSES: Final = (Status.OVERDUE.value, Status.RECALLED.value)  # a lender's own steps


class IllService:
    """ISO 18626 for every library of one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        agencies: AgencyTable,
        settings: IllSettings,
        send: Sender,
        own_url: Callable[[], str],
        notify: Callable[[MessageEvent], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.rows = catalog.store.ill
        self.agencies = agencies
        self.settings = settings
        self._own_url = own_url
        self._notify = notify or (lambda event: None)
        self._lock = asyncio.Lock()  # one change of ILL state at a time: read, decide, write
        self._outbox = Outbox(self.rows, self._lock, send, settings, self._notify)

    # --- incoming messages ---------------------------------------------------------------
    async def receive(self, message: Message) -> Confirmation:
        """The confirmation of one incoming message. Raises IllError (answered ERROR, nothing
        changed) or ScriptedHttpStatus."""
        async with self._lock:
            if isinstance(message, IllRequest):
                await self._receive_request(message)
            elif isinstance(message, RequestingAgencyMessage):
                await self._receive_action(message)
            else:
                await self._receive_status(message)
        self._outbox.wake()
        return confirm(message)

    async def _agency(self, symbol: str, element: str) -> Agency:
        codes = [library.code for library in await self.catalog.libraries()]
        agency = self.agencies.by_symbol(symbol, codes)
        if agency is None:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE, f"{element} {symbol}: no such agency here"
            )
        return agency

    async def _receive_request(self, request: IllRequest) -> None:
        header = request.header
        agency = await self._agency(header.supplying, "supplyingAgencyId")
        if not header.requesting_request_id.strip():
            raise IllError(ErrorType.UNRECOGNISED_DATA_VALUE, "requestingAgencyRequestId is empty")
        if await self.rows.find(
            SUPPLIER, agency.symbol, header.requesting, header.requesting_request_id
        ):
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"requestingAgencyRequestId {header.requesting_request_id} already exists",
            )
        scenario = scenario_of(request)
        record = ""
        if scenario is not None:
            if scenario.http_status:
                raise ScriptedHttpStatus(scenario.http_status)
            if scenario.confirmation_error:
                raise IllError(ErrorType.UNRECOGNISED_DATA_VALUE, f"scenario {scenario.name}")
            steps = scenario.on_request
        else:
            library = await self.catalog.library(agency.library)
            holding = await resolve_holding(self.catalog, request, library)
            record = f"{holding.record:09d}" if holding.record is not None else ""
            steps = lending_steps(request, holding.held, holding.reason_unfilled)
        row = NewIllRequest(
            role=SUPPLIER,
            library=agency.library,
            own_symbol=agency.symbol,
            peer_symbol=header.requesting,
            peer_url=request.requester_url,
            request_id=header.requesting_request_id,
            supplier_request_id=f"{agency.library}-{uuid.uuid4().hex[:12]}",
            service=str(request.service_type or ServiceType.LOAN),
            record=record,
            scenario=scenario.name if scenario else "",
            profile=str(agency.profile),
        )
        incoming = NewIllMessage("in", request.kind, "request", message_json(request), "received")
        planned = plan(
            row, agency.profile, steps, self.settings, first_reason=Reason.REQUEST_RESPONSE
        )
        await self.rows.create(row, [incoming, *planned], time.time())

    async def _supplier_request(self, header: Header) -> IllRequestRow:
        agency = await self._agency(header.supplying, "supplyingAgencyId")
        row = await self.rows.find(
            SUPPLIER, agency.symbol, header.requesting, header.requesting_request_id
        )
        if row is None:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"no request {header.requesting_request_id} from {header.requesting} to {agency.symbol}",
            )
        return row

    async def _receive_action(self, message: RequestingAgencyMessage) -> None:
        row = await self._supplier_request(message.header)
        current = status_of(row)
        refusal = refusal_of_action(message.action, current, row.received)
        if refusal is not None:
            raise IllError(ErrorType.UNSUPPORTED_ACTION_TYPE, refusal)
        profile = Profile(row.profile)
        change = RequestChange()
        planned: list[NewIllMessage] = []
        action = message.action
        if action is Action.RECEIVED:
            change = RequestChange(received=True)
            scenario: Scenario | None = SCENARIOS.get(row.scenario)
            if scenario is not None:
                planned = plan(row, profile, scenario.on_received, self.settings)
        elif action is Action.SHIPPED_RETURN:
            planned = plan(row, profile, (Step(Status.LOAN_COMPLETED),), self.settings)
        elif action is Action.RENEW:
            renewed = current is not Status.RECALLED
            status = Status.LOANED if renewed else Status.RECALLED
            planned = plan(
                row,
                profile,
                (Step(status),),
                self.settings,
                first_reason=Reason.RENEW_RESPONSE,
                answer="Y" if renewed else "N",
            )
        elif action is Action.CANCEL:
            cancelled = current in BEFORE_SHIPPING
            change = RequestChange(skip_planned=cancelled)
            status = Status.CANCELLED if cancelled else (current or Status.REQUEST_RECEIVED)
            planned = plan(
                row,
                profile,
                (Step(status),),
                self.settings,
                first_reason=Reason.CANCEL_RESPONSE,
                answer="Y" if cancelled else "N",
            )
        elif action is Action.STATUS_REQUEST:
            planned = plan(
                row,
                profile,
                (Step(current or Status.REQUEST_RECEIVED),),
                self.settings,
                first_reason=Reason.STATUS_REQUEST_RESPONSE,
            )
        incoming = NewIllMessage("in", message.kind, str(action), message_json(message), "received")
        await self.rows.record(row.id, change, [incoming, *planned], time.time())

    async def _receive_status(self, message: SupplyingAgencyMessage) -> None:
        header = message.header
        agency = await self._agency(header.requesting, "requestingAgencyId")
        row = await self.rows.find(
            REQUESTER, agency.symbol, header.supplying, header.requesting_request_id
        )
        if row is None:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"no request {header.requesting_request_id} from {agency.symbol} to {header.supplying}",
            )
        current = status_of(row)
        status = message.status
        if status is not None and not may_become(current, status):
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"status {status} cannot follow {current or 'no status'}",
            )
        if status is None and current in TERMINAL:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE, f"the request is {current}: it is finished"
            )
        change = RequestChange(
            status=str(status) if status is not None else None,
            supplier_request_id=header.supplying_request_id or None,
        )
        incoming = NewIllMessage(
            "in", message.kind, summary_of(message), message_json(message), "received"
        )
        await self.rows.record(row.id, change, [incoming], time.time())

    # --- the requester's commands (admin API) --------------------------------------------
    async def create_request(
        self,
        library_code: str,
        supplier: str,
        supplier_url: str,
        record: str,
        service: str = "Loan",
        note: str = "",
    ) -> IllRequestRow:
        """A library asks a peer for an item: the request is kept and sent."""
        try:
            library = await self.catalog.library(library_code)
        except LibraryNotFoundError as exc:
            raise IllCommandError(404, f"no library {library_code}") from exc
        try:
            service_type = ServiceType(service)
        except ValueError as exc:
            raise IllCommandError(400, "service must be Loan, Copy or CopyOrLoan") from exc
        if ":" not in supplier:
            raise IllCommandError(400, "supplier is an agency symbol TYPE:VALUE, e.g. ISIL:FI-Hul")
        if not supplier_url.startswith(("http://", "https://")):
            raise IllCommandError(400, "supplier_url must be the peer's http(s) ISO 18626 address")
        if not record.strip():
            raise IllCommandError(400, "record (a Melinda ID or a scenario name) is required")
        agency = self.agencies.agency(library.code)
        request = IllRequest(
            Header(
                supplying=supplier,
                requesting=agency.symbol,
                requesting_request_id=f"{library.code}-{uuid.uuid4().hex[:12]}",
            ),
            supplier_unique_record_id=record.strip(),
            service_type=service_type,
            request_type="New",
            note=note,
            requester_url=self._own_url(),
            requester_name=library.name,
        )
        title, author, isbn = await self._described(record.strip())
        request = dataclasses.replace(request, title=title, author=author, isbn=isbn)
        row = NewIllRequest(
            role=REQUESTER,
            library=library.code,
            own_symbol=agency.symbol,
            peer_symbol=supplier,
            peer_url=supplier_url,
            request_id=request.header.requesting_request_id,
            service=str(service_type),
            record=record.strip(),
            profile=str(agency.profile),
        )
        outgoing = NewIllMessage(
            "out", request.kind, "request", message_json(request), "pending", time.time()
        )
        async with self._lock:
            new_id = await self.rows.create(row, [outgoing], time.time())
        self._outbox.wake()
        assert new_id is not None  # the request id was made fresh
        return await self._row(new_id)

    async def _described(self, record: str) -> tuple[str, str, str]:
        """Title, author and ISBN of a Melinda ID this catalog has, for the peer's search."""
        if not record.isdigit():
            return "", "", ""
        found = await self.catalog.fetch([int(record)])
        if not found or found[0].deleted:
            return "", "", ""
        parsed = found[0].record()
        title = (parsed.title or "").strip(" /:")
        return title, (parsed.author or "").strip(" ,."), parsed.isbn or ""

    async def act(self, request_id: int, action_name: str, note: str = "") -> IllRequestRow:
        """The library's own next step on a request: a requester's action; a lender's
        Notification, or its Overdue / Recalled of an item on loan."""
        async with self._lock:
            row = await self._row(request_id)
            if row.role == SUPPLIER and action_name in LENDER_STATUSES:
                await self._lender_status(row, Status(action_name), note)
            else:
                try:
                    action = Action(action_name)
                except ValueError as exc:
                    raise IllCommandError(400, f"unknown action {action_name}") from exc
                if row.role == SUPPLIER:
                    await self._lender_notification(row, action, note)
                else:
                    await self._requester_action(row, action, note)
        self._outbox.wake()
        return await self._row(request_id)

    async def _requester_action(self, row: IllRequestRow, action: Action, note: str) -> None:
        refusal = refusal_of_action(action, status_of(row), row.received)
        if refusal is not None:
            raise IllCommandError(409, refusal)
        message = RequestingAgencyMessage(
            Header(
                supplying=row.peer_symbol,
                requesting=row.own_symbol,
                requesting_request_id=row.request_id,
                supplying_request_id=row.supplier_request_id,
            ),
            action=action,
            note=note,
        )
        change = RequestChange(received=True) if action is Action.RECEIVED else RequestChange()
        outgoing = NewIllMessage(
            "out", message.kind, str(action), message_json(message), "pending", time.time()
        )
        await self.rows.record(row.id, change, [outgoing], time.time())

    async def _lender_status(self, row: IllRequestRow, status: Status, note: str) -> None:
        current = status_of(row)
        if current not in ON_LOAN or not may_become(current, status):
            raise IllCommandError(
                409,
                f"{status} needs an item on loan; the request is {current or 'not answered yet'}",
            )
        planned = plan(row, Profile(row.profile), (Step(status),), self.settings, note=note)
        await self.rows.record(row.id, RequestChange(), planned, time.time())

    async def _lender_notification(self, row: IllRequestRow, action: Action, note: str) -> None:
        if action is not Action.NOTIFICATION:
            raise IllCommandError(
                409, "a lending library sends a Notification, Overdue or Recalled by hand"
            )
        current = status_of(row)
        if current in TERMINAL:
            raise IllCommandError(409, f"the request is {current}: it is finished")
        planned = plan(
            row,
            Profile(row.profile),
            (Step(current or Status.REQUEST_RECEIVED),),
            self.settings,
            first_reason=Reason.NOTIFICATION,
            note=note,
        )
        await self.rows.record(row.id, RequestChange(), planned, time.time())

    async def _row(self, request_id: int) -> IllRequestRow:
        row = await self.rows.get(request_id)
        if row is None:
            raise IllCommandError(404, f"no ILL request {request_id}")
        return row

    # --- views -----------------------------------------------------------------------------
    async def request_view(self, request_id: int) -> dict[str, Any]:
        row = await self._row(request_id)
        view = request_json(row)
        view["messages"] = [message_view(m) for m in await self.rows.messages(request_id)]
        return view

    async def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        return [request_json(row) for row in await self.rows.latest(limit)]

    # --- the outgoing worker ---------------------------------------------------------------
    def start(self, *, idle_seconds: float = 5.0) -> None:
        """Send what the store holds unsent; `idle_seconds`: the longest wait between looks
        (short when other processes add messages too)."""
        self._outbox.idle_seconds = idle_seconds
        self._outbox.start()

    async def stop(self) -> None:
        await self._outbox.stop()


def request_json(row: IllRequestRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "role": row.role,
        "library": row.library,
        "agency": row.own_symbol,
        "peer": row.peer_symbol,
        "peer_url": row.peer_url,
        "requesting_agency_request_id": row.request_id,
        "supplying_agency_request_id": row.supplier_request_id,
        "service": row.service,
        "record": row.record,
        "scenario": row.scenario,
        "profile": row.profile,
        "status": row.status,
        "received": row.received,
        "problem": row.error,  # a message the peer refused or that could not be delivered
        "created": row.created,
        "updated": row.updated,
    }


def message_view(row: IllMessageRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": row.direction,
        "kind": row.kind,
        "summary": row.summary,
        "delivery": row.delivery,
        "attempts": row.attempts,
        "detail": row.detail,
        "at": row.at,
        "message": dataclasses.asdict(message_from_json(row.body)),
    }
