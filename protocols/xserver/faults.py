"""An injected X-server fault: Aleph's `<error>` text inside the op's own root element (HTTP 200)."""

from __future__ import annotations

import re

from aiohttp import web

from protocols.host import Fault
from protocols.xserver import replies
from protocols.xserver.params import SESSION_COOKIE

DEFAULT_TEXT = "Internal error of the X-server; the request was not completed"
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,39}$")


async def fault_response(request: web.Request, operation: str, fault: Fault) -> web.Response:
    root = operation if _XML_NAME.match(operation) else "x-server"
    # the session stays the client's: the fault is one failed op, not a lost login
    session_id = request.query.get("session_id") or request.cookies.get(SESSION_COOKIE) or ""
    body = replies.document(root, replies.errors([fault.message or DEFAULT_TEXT]), session_id)
    return web.Response(body=body, content_type="text/xml", charset="utf-8")
