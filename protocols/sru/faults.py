"""An injected SRU fault: diagnostic 1 ("Permanent system error") in the asked operation's response."""

from __future__ import annotations

from aiohttp import web

from gateway.faults import Fault
from protocols.sru.diagnostics import Diagnostic
from protocols.sru.request import envelope

DEFAULT_DETAILS = "fault injected by the gateway's admin API"


async def fault_response(request: web.Request, operation: str, fault: Fault) -> web.Response:
    from protocols.sru import CONTENT_TYPE, _parameters, failure_response

    params = await _parameters(request)
    diagnostic = Diagnostic(1, fault.message or DEFAULT_DETAILS)
    body = failure_response(envelope(params), params, diagnostic)
    return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")
