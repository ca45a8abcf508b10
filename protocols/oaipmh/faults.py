"""An injected OAI-PMH fault: HTTP 503 with Retry-After, the flow control OAI-PMH 2.0 (3.1.2.3) names."""

from __future__ import annotations

from aiohttp import web

from protocols.host import Fault

DEFAULT_TEXT = "The repository is temporarily unavailable (fault injected by the admin API)"


async def fault_response(request: web.Request, operation: str, fault: Fault) -> web.Response:
    return web.Response(
        status=503,
        text=fault.message or DEFAULT_TEXT,
        headers={"Retry-After": str(fault.retry_after)},
    )
