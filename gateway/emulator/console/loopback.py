"""Calls to the gateway's own admin API over its loopback: how the console reaches optional
features (record matching and merge) without importing them."""

from __future__ import annotations

import json
from typing import Any, Final

import aiohttp

from gateway.emulator.host import Gateway

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
