"""ISO 18626 (interlibrary loan) over HTTP: `POST /iso18626`, and the client that sends ours.

Every incoming message is read and checked (codec.py, schema.py), handed to the
libraries' ILL service (gateway/ill) and answered with the standard's confirmation; a
message that is refused gets messageStatus ERROR with errorData, never a bare HTTP error.
Only a non-POST (405), a non-XML body (415) and the scenario HTTP_ERROR_500 leave as HTTP
statuses.

Deviates from a real ILL system (for the README's coverage table):
- the 1.2 schema checks every message, forgiving only an unqualified `version`, a 1.0/1.1
  header without multipleItemRequestId and Alma's empty status in a Notification;
- requestingAgencyAuthentication is not checked;
- ShippedForward and patron requests are not supported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web

from gateway.ill import (
    AgencyTable,
    Confirmation,
    DeliveryError,
    ErrorType,
    IllError,
    IllService,
    IllSettings,
    Kind,
    Message,
    MessageEvent,
    ScriptedHttpStatus,
    refuse,
    summary_of,
)
from protocols.host import GATEWAY_KEY, Gateway, Timer
from protocols.iso18626.codec import (
    InvalidOwnMessage,
    MessageRefused,
    read_confirmation,
    read_message,
    write_confirmation,
    write_message,
)
from protocols.iso18626.schema import MAX_MESSAGE_BYTES, Schema, load_schema

log = logging.getLogger("melinda.iso18626")

PATH: Final = "/iso18626"
XML_TYPES: Final = ("text/xml", "application/xml")
INTERFACE: Final = "iso18626"


@dataclass
class Iso18626:
    """The endpoint's parts: the schema (read at start-up), the service, the HTTP client."""

    service: IllService
    timeout: float
    schema_path: Path | None
    schema: Schema | None = None
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def send(self, url: str, message: Message) -> Confirmation:
        """One message to a peer; its confirmation. Raises DeliveryError to be tried again."""
        try:
            body = write_message(message, self.schema)
        except InvalidOwnMessage as exc:
            raise DeliveryError(f"our message breaks the schema: {exc}") from exc
        if self.session is None:
            raise DeliveryError("the gateway is not running")
        try:
            async with self.session.post(
                url,
                data=body,
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                answer = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if status != 200:
            raise DeliveryError(f"HTTP {status}")
        try:
            return read_confirmation(answer, self.schema)
        except IllError as exc:
            raise DeliveryError(f"the answer is no valid confirmation: {exc.value}") from exc


ILL_KEY: web.AppKey[Iso18626] = web.AppKey("iso18626")
OTHERS_LOOK_SECONDS = 0.5  # the outbox's longest wait when other processes add messages too


def install(gateway: Gateway) -> None:
    settings = gateway.settings
    endpoint: Iso18626  # made below; the service's sender calls it only once running

    def own_url() -> str:
        return settings.ill_public_url or f"{gateway.http_url}{PATH}"

    def journal(event: MessageEvent) -> None:
        gateway.journal.record(
            INTERFACE,
            f"{event.direction} {event.summary}",
            client=event.peer,
            parameters={"library": event.library, "request": event.request},
            outcome=event.outcome,
        )

    async def send(url: str, message: Message) -> Confirmation:
        return await endpoint.send(url, message)

    service = IllService(
        gateway.catalog,
        AgencyTable(settings.ill_agencies, settings.ill_default_profile),
        IllSettings(
            delay=settings.ill_delay_ms / 1000,
            retry_base=settings.ill_retry_base_ms / 1000,
            retry_limit=max(1, settings.ill_retry_limit),
            loan_days=settings.ill_loan_days,
            lending_fee=settings.ill_lending_fee,
        ),
        send,
        own_url,
        journal,
    )
    endpoint = Iso18626(
        service=service,
        timeout=settings.ill_timeout_ms / 1000,
        schema_path=Path(settings.iso18626_schema) if settings.iso18626_schema else None,
    )
    gateway.http[ILL_KEY] = endpoint
    gateway.http.router.add_route("*", PATH, iso18626_endpoint)
    gateway.http.cleanup_ctx.append(_running)

    async def start_outbox() -> None:
        service.start(idle_seconds=5.0 if gateway.shared is None else OTHERS_LOOK_SECONDS)

    # one outbox for the catalog: with several processes, the holder of the singleton lock
    gateway.add_singleton_job("ill-outbox", start_outbox, service.stop)


async def _running(app: web.Application) -> AsyncIterator[None]:
    """Schema read and client opened before the first message (the gateway starts the
    outbox, which resumes the store's unsent messages); all stopped before the store closes."""
    endpoint = app[ILL_KEY]
    endpoint.schema = await asyncio.to_thread(load_schema, endpoint.schema_path)
    endpoint.session = aiohttp.ClientSession()
    try:
        yield
    finally:
        await endpoint.service.stop()  # the gateway stopped its outbox job already
        await endpoint.session.close()
        endpoint.session = None


async def iso18626_endpoint(request: web.Request) -> web.Response:
    if request.method != "POST":
        return web.Response(
            status=405, text="ISO 18626 messages are POSTed\n", headers={"Allow": "POST"}
        )
    if request.content_type not in XML_TYPES:
        return web.Response(status=415, text="ISO 18626 messages are text/xml\n")
    endpoint = request.app[ILL_KEY]
    timer = Timer()
    message: Message | None = None
    try:
        body = await _read_bounded(request)
        message = read_message(body, endpoint.schema)
        confirmation = await endpoint.service.receive(message)
    except MessageRefused as exc:
        confirmation = Confirmation(
            kind=exc.kind,
            header=exc.header,
            ok=False,
            error_type=exc.error.error_type,
            error_value=exc.error.value,
        )
    except IllError as exc:
        confirmation = refuse(message, exc)
    except ScriptedHttpStatus as exc:
        _journal(request, message, f"HTTP {exc.status} (scenario)", timer)
        return web.Response(status=exc.status, text=f"{exc}\n")
    except Exception as exc:  # answered in the protocol's own terms, never a 500
        log.exception("ISO 18626 message failed")
        confirmation = refuse(
            message,
            IllError(ErrorType.UNRECOGNISED_DATA_VALUE, f"not processed: {type(exc).__name__}"),
        )
    outcome = (
        "ok" if confirmation.ok else f"ERROR {confirmation.error_type}: {confirmation.error_value}"
    )
    _journal(request, message, outcome, timer)
    return web.Response(
        body=write_confirmation(confirmation, endpoint.schema),
        content_type="text/xml",
        charset="utf-8",
    )


async def _read_bounded(request: web.Request) -> bytes:
    """The body, refused (as a message too large) past MAX_MESSAGE_BYTES without reading it all."""
    too_large = MessageRefused(
        IllError(ErrorType.BADLY_FORMED_MESSAGE, f"message larger than {MAX_MESSAGE_BYTES} bytes"),
        Kind.REQUEST,
        None,
    )
    if (request.content_length or 0) > MAX_MESSAGE_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_MESSAGE_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _journal(request: web.Request, message: Message | None, outcome: str, timer: Timer) -> None:
    gateway = request.app[GATEWAY_KEY]
    parameters: dict[str, str] = {}
    if message is not None:
        header = message.header
        parameters = {
            "supplyingAgencyId": header.supplying,
            "requestingAgencyId": header.requesting,
            "requestingAgencyRequestId": header.requesting_request_id,
        }
    gateway.journal.record(
        INTERFACE,
        f"in {summary_of(message) if message is not None else '(unreadable)'}",
        client=request.remote or "",
        parameters=parameters,
        outcome=outcome,
        duration_ms=timer.ms,
    )
