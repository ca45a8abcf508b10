"""HTTP on the Z39.50 port, as Aleph and YAZ answer it: forwarded to the gateway's HTTP site.

A connection whose first bytes are an HTTP request line is handed to an aiohttp low-level
server, which relays each request to the gateway's own HTTP port. Relaying (rather than
dispatching into the aiohttp application directly) keeps to aiohttp's public API, and the
SRU protocol serves the request exactly as it does on its own port. YAZ-style paths that
name a database (`/fin01?...`, `/fin01alma?...`, case-insensitive) map to Melinda's SRU
paths `/sru/bib` and `/sru/fin01alma`; every other path is relayed as it is.
"""

from __future__ import annotations

import asyncio
from typing import Final

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from protocols.host import Gateway

SRU_PATHS: Final = {"fin01": "/sru/bib", "fin01alma": "/sru/fin01alma", "fin11": "/sru/aut-names"}
# Hop-by-hop headers and those aiohttp recomputes for the relayed message.
_NOT_RELAYED: Final = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
        "Content-Length",
    )
)


def looks_like_http(first_bytes: bytes) -> bool:
    """Whether a connection opens with an HTTP request line rather than a BER PDU.

    Z39.50 PDUs start with a context-class tag octet (0xA0 and up); every HTTP method
    (GET, POST, HEAD, ...) starts with an ASCII capital letter, which as a BER tag octet
    would be of application class, which no Z39.50 PDU uses. So the first octet decides.
    """
    return bool(first_bytes) and 0x41 <= first_bytes[0] <= 0x5A


def sru_path(path: str, query_string: str) -> str:
    """The gateway path a request on the Z39.50 port is served from."""
    database = path.strip("/").lower()
    if database in SRU_PATHS:
        return SRU_PATHS[database]
    if database == "" and "operation=" in query_string:
        return SRU_PATHS["fin01"]  # YAZ's default database on the root path
    return path


class HttpBridge:
    """Serves HTTP connections taken over from the Z39.50 listener."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._server = web.Server(self._relay)
        self._session: aiohttp.ClientSession | None = None

    def take_over(self, transport: asyncio.Transport, received: bytes, eof: bool) -> None:
        """Give the connection (and the bytes already read from it) to the HTTP server."""
        handler = self._server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if received:
            handler.data_received(received)
        if eof:
            handler.eof_received()
        if not transport.is_reading():
            transport.resume_reading()

    async def _relay(self, request: web.BaseRequest) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        path = sru_path(request.path, request.query_string)
        url = f"{self.gateway.http_url}{path}"
        if request.query_string:
            url = f"{url}?{request.query_string}"
        headers = _relayed(request.headers)
        headers["X-Forwarded-For"] = request.remote or ""
        body = await request.read()
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as upstream:
                content = await upstream.read()
                return web.Response(
                    status=upstream.status,
                    reason=upstream.reason,
                    body=content,
                    headers=_relayed(upstream.headers),
                )
        except aiohttp.ClientError as exc:
            return web.Response(status=502, text=f"the HTTP interface is unreachable: {exc}\n")

    async def close(self) -> None:
        await self._server.shutdown(timeout=5)
        if self._session is not None:
            await self._session.close()


def _relayed(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _NOT_RELAYED:
            out.add(name, value)
    return out
