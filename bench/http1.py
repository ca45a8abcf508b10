"""A keep-alive HTTP/1.1 client of one connection, for the X-server writers.

The writers share the machine's two cores with the server they measure, and aiohttp's client
spent ~0.5 ms of CPU a request on machinery a load generator does not need (connector pool,
cookie jar, URL objects, header multidicts); this one writes the request's bytes and reads a
response by its Content-Length (or chunks), keeping the session cookie the server sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse


class HttpError(RuntimeError):
    """The server answered something this client cannot read as an HTTP/1.1 response."""


class Connection:
    """One persistent connection to the origin of `url`; requests on it run one at a time."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL is needed, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self._host_header = f"Host: {parts.netloc}\r\n".encode("ascii")
        self._cookie = b""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, query: bytes) -> tuple[int, bytes]:
        """GET path?query: (status, body)."""
        head = b"GET " + self.path.encode("ascii") + b"?" + query + b" HTTP/1.1\r\n"
        return await self._exchange(head + self._host_header + self._cookie + b"\r\n")

    async def post_form(self, body: bytes) -> tuple[int, bytes]:
        """POST an application/x-www-form-urlencoded body to the path: (status, body)."""
        head = (
            b"POST "
            + self.path.encode("ascii")
            + b" HTTP/1.1\r\n"
            + self._host_header
            + self._cookie
            + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
            + str(len(body)).encode("ascii")
            + b"\r\n\r\n"
        )
        return await self._exchange(head + body)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(status_line[1])
        length = -1
        chunked, keep = False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = b"close" not in value.lower()
            elif name == b"set-cookie":
                # the session cookie's name=value; its attributes matter to no later request
                self._cookie = b"Cookie: " + value.split(b";", 1)[0].strip() + b"\r\n"
        if chunked:
            body = await self._chunks()
        elif length >= 0:
            body = await self._reader.readexactly(length)
        else:  # no length: the body runs to the end of the connection
            body = await self._reader.read()
            keep = False
        if not keep:
            await self.close()
        return status, body

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while (await self._reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
