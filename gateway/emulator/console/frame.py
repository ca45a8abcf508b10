"""What every console page shares: the gateway, the admin check, the frame's context, rendering."""

from __future__ import annotations

import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.emulator import admin
from gateway.emulator.console.sections import SECTIONS, features
from gateway.emulator.host import GATEWAY_KEY, Gateway


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY_KEY]


def admin_ok(request: web.Request) -> bool:
    """May this browser see the journal and use the controls (always, unless shared)?"""
    return admin.admin_allowed(gateway_of(request), request) is None


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + "Z"


def utc(value: object) -> str:
    """A time the catalog gives as epoch seconds or as ISO 8601 text, shown alike."""
    if isinstance(value, int | float):
        return when(float(value))
    return str(value).replace("T", " ")


def base_context(request: web.Request, current: str, **values: Any) -> dict[str, Any]:
    """What every page's frame needs: navigation, sign-in state, the features present."""
    gateway = gateway_of(request)
    have = features(gateway)
    settings = gateway.settings
    return {
        "sections": [s for s in SECTIONS if not s.feature or s.feature in have],
        "current": current,
        "admin_ok": admin_ok(request),
        "shared": settings.shared,
        "token_set": bool(settings.admin_token),
        "signed_in": admin.has_admin_cookie(gateway, request),
        "features": have,
        "path": request.path_qs,
        "when": when,
        **values,
    }


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
