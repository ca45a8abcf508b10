"""The emulator's ILL controls: `/_admin/ill/requests` (make, act on, read) and what the console lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from gateway.emulator.host import Gateway
from gateway.ill import IllCommandError, IllService
from gateway.store.ill import IllMessageRow, IllRequestRow
from protocols.iso18626 import ILL_KEY

PREFIX: Final = "/_admin/ill/requests"
CONSOLE_REQUESTS: Final = 20


def ill_service(app: web.Application) -> IllService | None:
    """The ILL service of a gateway whose protocols include ISO 18626."""
    endpoint = app.get(ILL_KEY)
    return None if endpoint is None else endpoint.service


def _service(request: web.Request) -> IllService:
    service = ill_service(request.app)
    if service is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "ISO 18626 is not running"}), content_type="application/json"
        )
    return service


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"expected a JSON object: {exc}"}),
            content_type="application/json",
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "expected a JSON object"}), content_type="application/json"
        )
    return body


def _request_number(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit():
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no ILL request {text}"}), content_type="application/json"
        )
    return int(text)


async def create_request(request: web.Request) -> web.Response:
    """`{"library", "supplier", "supplier_url", "record", "service", "note"}`: a library asks."""
    service = _service(request)
    body = await _json_body(request)
    try:
        row = await service.create_request(
            str(body.get("library", "")),
            str(body.get("supplier", "")),
            str(body.get("supplier_url", "")),
            str(body.get("record", "")),
            str(body.get("service", "Loan")),
            str(body.get("note", "")),
        )
    except IllCommandError as exc:
        return _error(exc.status, str(exc))
    return web.json_response(await service.request_view(row.id), status=201)


async def list_requests(request: web.Request) -> web.Response:
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
    except ValueError:
        return _error(400, "limit must be a number")
    return web.json_response({"requests": await _service(request).latest(limit)})


async def get_request(request: web.Request) -> web.Response:
    try:
        view = await _service(request).request_view(_request_number(request))
    except IllCommandError as exc:
        return _error(exc.status, str(exc))
    return web.json_response(view)


async def act(request: web.Request) -> web.Response:
    """`{"action": "Received" | "ShippedReturn" | "Renew" | "Cancel" | "Notification", "note"}`."""
    service = _service(request)
    number = _request_number(request)
    body = await _json_body(request)
    try:
        await service.act(number, str(body.get("action", "")), str(body.get("note", "")))
        view = await service.request_view(number)
    except IllCommandError as exc:
        return _error(exc.status, str(exc))
    return web.json_response(view, status=202)


def install(gateway: Gateway) -> None:
    router = gateway.http.router
    router.add_post(PREFIX, create_request)
    router.add_get(PREFIX, list_requests)
    router.add_get(f"{PREFIX}/{{id}}", get_request)
    router.add_post(f"{PREFIX}/{{id}}/actions", act)


# --- for the console ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IllListing:
    """One request as the console lists it: the request and its messages, oldest first."""

    request: IllRequestRow
    messages: list[IllMessageRow]


async def latest_requests(
    gateway: Gateway, limit: int = CONSOLE_REQUESTS
) -> list[IllListing] | None:
    """The latest requests with their timelines; None when ISO 18626 is not running."""
    service = ill_service(gateway.http)
    if service is None:
        return None
    rows = await service.rows.latest(limit)
    return [IllListing(row, list(await service.rows.messages(row.id))) for row in rows]
