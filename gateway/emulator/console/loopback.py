"""Calls to the gateway's own admin API over its loopback: how the console reaches optional
features (ILL requests, harvests, matching) without importing them."""

from __future__ import annotations

import json
from typing import Any, Final

import aiohttp

from gateway.emulator.console.sections import features
from gateway.emulator.host import Gateway

LISTED: Final = 50
TIMEOUT: Final = aiohttp.ClientTimeout(total=60)


async def call_admin(
    gateway: Gateway,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """(status, JSON answer) of one admin API call, made as the admin (the console has
    checked the browser's right to act already)."""
    headers = {"Content-Type": content_type}
    if gateway.settings.admin_token:
        headers["Authorization"] = f"Bearer {gateway.settings.admin_token}"
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        http.request(method, gateway.http_url + path, data=body, headers=headers) as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {"error": text[:500] or f"HTTP {response.status}"}


def error_of(status: int, answer: Any) -> str:
    if isinstance(answer, dict) and answer.get("error"):
        return str(answer["error"])
    return f"HTTP {status}"


async def listings(gateway: Gateway) -> dict[str, list[dict[str, Any]]]:
    """ILL requests and harvests, when the gateway has them (each a list of JSON objects)."""
    have = features(gateway)
    out: dict[str, list[dict[str, Any]]] = {}
    for feature, path, key in (
        ("ill", f"/_admin/ill/requests?limit={LISTED}", "requests"),
        ("harvests", f"/_admin/harvests?limit={LISTED}", "harvests"),
    ):
        if feature not in have:
            continue
        status, answer = await call_admin(gateway, "GET", path)
        rows = answer.get(key, []) if status == 200 and isinstance(answer, dict) else []
        out[feature] = [r for r in rows if isinstance(r, dict)]
    return out


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The scalar members the rows have, in first-seen order (nested ones are left out)."""
    seen: dict[str, None] = {}
    for row in rows:
        for name, value in row.items():
            if value is None or isinstance(value, str | int | float | bool):
                seen.setdefault(name, None)
    return list(seen)
