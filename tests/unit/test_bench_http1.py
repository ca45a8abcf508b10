"""The bench's one-connection HTTP/1.1 client against a real aiohttp server: bodies by length
and by chunks, the session cookie kept and sent back, one connection reused, and a server
that closes the connection after its answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.http1 import Connection, HttpError


@pytest.fixture
async def origin() -> AsyncIterator[tuple[str, list[str]]]:
    peers: list[str] = []  # the client's address of every request: one per connection

    async def plain(request: web.Request) -> web.Response:
        peers.append(str(request.transport.get_extra_info("peername")) if request.transport else "")
        cookie = request.headers.get("Cookie", "")
        response = web.Response(text=f"cookie={cookie};{request.query_string}")
        if request.query.get("login"):
            response.set_cookie("XSESSION", request.query["login"], httponly=True, path="/")
        return response

    async def form(request: web.Request) -> web.Response:
        data = await request.post()
        return web.Response(text=f"{request.content_type}|{data['op']}|{data['text']}")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"yksi ", b"kaksi ", b"kolme"):
            await response.write(part)
        await response.write_eof()
        return response

    async def closing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="ei ole", headers={"Connection": "close"})

    app = web.Application()
    app.router.add_get("/X", plain)
    app.router.add_post("/X", form)
    app.router.add_get("/chunks", chunked)
    app.router.add_get("/closing", closing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", peers
    finally:
        await runner.cleanup()


async def test_the_session_cookie_goes_back_on_the_same_connection(
    origin: tuple[str, list[str]],
) -> None:
    base, peers = origin
    http = Connection(f"{base}/X")
    try:
        assert await http.get(b"a=1") == (200, b"cookie=;a=1")
        assert await http.get(b"login=abc") == (200, b"cookie=;login=abc")
        assert await http.get(b"b=2") == (200, b"cookie=XSESSION=abc;b=2")
        status, body = await http.post_form(b"op=update-doc&text=%C3%A4+%26+b")
        assert (status, body.decode()) == (
            200,
            "application/x-www-form-urlencoded|update-doc|ä & b",
        )
    finally:
        await http.close()
    assert len(peers) == 3 and len(set(peers)) == 1  # one connection for every request


async def test_a_chunked_body_is_joined(origin: tuple[str, list[str]]) -> None:
    base, _ = origin
    http = Connection(f"{base}/chunks")
    try:
        assert await http.get(b"") == (200, b"yksi kaksi kolme")
        assert await http.get(b"") == (200, b"yksi kaksi kolme")  # and the connection goes on
    finally:
        await http.close()


async def test_a_closed_connection_is_opened_again(origin: tuple[str, list[str]]) -> None:
    base, _ = origin
    closing = Connection(f"{base}/closing")
    try:
        assert await closing.get(b"") == (404, b"ei ole")
        assert await closing.get(b"") == (404, b"ei ole")  # a new connection, not an error
    finally:
        await closing.close()


async def test_a_non_http_answer_is_an_error() -> None:
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = Connection(f"http://127.0.0.1:{port}/X")
    try:
        with pytest.raises(HttpError, match=r"not an HTTP/1\.x status line"):
            await http.get(b"")
    finally:
        await http.close()
        server.close()
        await server.wait_closed()


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http:// URL"):
        Connection("https://127.0.0.1/X")
