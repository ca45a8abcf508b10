"""The record page's match and merge actions, made through the features' own admin APIs
(`/_admin/match`, `/_admin/merge`) when the gateway serves them."""

from __future__ import annotations

import json

from aiohttp import web

from gateway.emulator.console.frame import admin_ok, gateway_of
from gateway.emulator.console.loopback import call_admin, error_of
from gateway.emulator.console.pages import record_page
from gateway.emulator.console.sections import features
from gateway.errors import RecordNotFoundError
from gateway.model import View


async def match(request: web.Request) -> web.Response:
    """Melinda's record matching for this record: its candidates, on its page."""
    gateway = gateway_of(request)
    if "match" not in features(gateway) or not admin_ok(request):
        raise web.HTTPNotFound(text="record matching is not available here")
    text = request.match_info["id"]
    if not text.isdigit():
        return await record_page(request)
    try:
        stored = await gateway.catalog.get(int(text), View.FIN01)
    except RecordNotFoundError:
        return await record_page(request)  # its "no such record" page
    status, answer = await call_admin(
        gateway, "POST", "/_admin/match", body=stored.xml, content_type="application/xml"
    )
    if status != 200:
        return await record_page(request, status=status, merge_error=error_of(status, answer))
    results = answer.get("records", []) if isinstance(answer, dict) else []
    candidates = results[0].get("candidates", []) if results else []
    return await record_page(request, matching=candidates)


async def merge(request: web.Request) -> web.Response:
    """The Merge program with this record preferred; the other is merged into it."""
    gateway = gateway_of(request)
    if "merge" not in features(gateway) or not admin_ok(request):
        raise web.HTTPNotFound(text="merge is not available here")
    form = await request.post()
    if form.get("confirm") != "yes":
        return await record_page(
            request, status=400, merge_error="Tick the box: the other record is deleted."
        )
    spec = {
        "preferred": request.match_info["id"],
        "other": str(form.get("other", "")).strip(),
        "user": str(form.get("user", "")).strip(),
    }
    status, answer = await call_admin(
        gateway, "POST", "/_admin/merge", body=json.dumps(spec).encode()
    )
    if status != 200:
        return await record_page(request, status=status, merge_error=error_of(status, answer))
    kept = answer.get("kept", spec["preferred"]) if isinstance(answer, dict) else spec["preferred"]
    gone = answer.get("deleted") if isinstance(answer, dict) else None
    message = f"Merged: {kept} kept" + (f", {gone} deleted." if gone else ".")
    return await record_page(request, merge_message=message)
