"""Two gateways as ILL peers, the records they both hold, a schema-checking relay, waiting helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pymarc
from aiohttp import web
from lxml import etree

from gateway import records
from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from gateway.model import User
from tests.conftest import shared_schema, test_settings
from tests.stores import store_url_for

SF = pymarc.Subfield
IND = pymarc.Indicators
NS = "http://illtransactions.org/2013/iso18626"
AGENCIES = "HELKA=ISIL:FI-Hul, TAY=ISIL:FI-Tay, JYU=ISIL:FI-Jyu/alma"
HUL, TAY, JYU = "ISIL:FI-Hul", "ISIL:FI-Tay", "ISIL:FI-Jyu"
ADMIN = User("GATEWAY", "FIN01", 30, frozenset(), privileged=True)


def book(title: str, author: str, isbn: str, lows: list[str], issn: str = "") -> pymarc.Record:
    fields = [
        pymarc.Field(tag="008", data="201231s2020    fi |||||||||||||||||fin||"),
        *(
            [pymarc.Field(tag="020", indicators=IND(" ", " "), subfields=[SF("a", isbn)])]
            if isbn
            else []
        ),
        *(
            [pymarc.Field(tag="022", indicators=IND(" ", " "), subfields=[SF("a", issn)])]
            if issn
            else []
        ),
        *(
            [pymarc.Field(tag="100", indicators=IND("1", " "), subfields=[SF("a", author)])]
            if author
            else []
        ),
        pymarc.Field(tag="245", indicators=IND("1", "0"), subfields=[SF("a", title)]),
        pymarc.Field(
            tag="264",
            indicators=IND(" ", "1"),
            subfields=[SF("a", "Helsinki :"), SF("b", "Otava,"), SF("c", "2020.")],
        ),
        pymarc.Field(tag="300", indicators=IND(" ", " "), subfields=[SF("a", "200 sivua.")]),
        pymarc.Field(
            tag="336",
            indicators=IND(" ", " "),
            subfields=[SF("a", "teksti"), SF("b", "txt"), SF("2", "rdacontent")],
        ),
        pymarc.Field(
            tag="337",
            indicators=IND(" ", " "),
            subfields=[SF("a", "käytettävissä ilman laitetta"), SF("b", "n"), SF("2", "rdamedia")],
        ),
        pymarc.Field(
            tag="338",
            indicators=IND(" ", " "),
            subfields=[SF("a", "nide"), SF("b", "nc"), SF("2", "rdacarrier")],
        ),
        *(
            pymarc.Field(tag="LOW", indicators=IND(" ", " "), subfields=[SF("a", low)])
            for low in lows
        ),
    ]
    return records.new_record("00000cam a2200000 i 4500", fields)


# Melinda IDs 1..3 on every gateway seeded here
HELD_BY_HELKA = "000000001"  # Seitsemän veljestä: HELKA and JYU hold it
HELD_BY_TAY_ONLY = "000000002"
HELD_BY_JYU = "000000003"
SERIAL_HELD_BY_HELKA = "000000004"  # ISSN 0039-5552


async def seed(gw: Gateway) -> None:
    catalog = gw.catalog
    for code in ("HELKA", "TAY", "JYU"):
        await catalog.add_library(code, name=f"Library {code}", sid_code=code.lower())
    await catalog.create(
        book("Seitsemän veljestä.", "Kivi, Aleksis.", "9789510000007", ["HELKA", "JYU"]), user=ADMIN
    )
    await catalog.create(
        book("Tuntematon sotilas.", "Linna, Väinö.", "9789510000014", ["TAY"]), user=ADMIN
    )
    await catalog.create(book("Kalevala.", "Lönnrot, Elias.", "9789510000021", ["JYU"]), user=ADMIN)
    await catalog.create(book("Suomen kuvalehti.", "", "", ["HELKA"], issn="0039-5552"), user=ADMIN)


def ill_settings(data_dir: Path, **overrides: object) -> Any:
    base: dict[str, object] = {
        "ill_agencies": AGENCIES,
        "ill_delay_ms": 0,
        "ill_retry_base_ms": 20,
        "ill_retry_limit": 3,
        "ill_timeout_ms": 3000,
    }
    base.update(overrides)
    return test_settings(data_dir, **base)


class StoresUnderTest:
    """The store kind the running test uses, and each gateway's store by its data directory
    (a gateway started again on the same directory finds its store again)."""

    kind: ClassVar[str] = "sqlite"
    urls: ClassVar[dict[Path, str]] = {}
    stack: ClassVar[AsyncExitStack | None] = None


@asynccontextmanager
async def stores_of_kind(kind: str) -> AsyncIterator[None]:
    """Every `ill_gateway` of the test on a store of `kind`, dropped at the end."""
    async with AsyncExitStack() as stack:
        StoresUnderTest.kind, StoresUnderTest.urls, StoresUnderTest.stack = kind, {}, stack
        try:
            yield
        finally:
            StoresUnderTest.kind, StoresUnderTest.stack = "sqlite", None


async def _store_url(data_dir: Path) -> str:
    found = StoresUnderTest.urls.get(data_dir)
    if found is None:
        assert StoresUnderTest.stack is not None
        found = await StoresUnderTest.stack.enter_async_context(
            store_url_for(StoresUnderTest.kind, data_dir)
        )
        StoresUnderTest.urls[data_dir] = found
    return found


@asynccontextmanager
async def ill_gateway(data_dir: Path, **overrides: object) -> AsyncIterator[Gateway]:
    if StoresUnderTest.kind != "sqlite" and "store_url" not in overrides:
        overrides["store_url"] = await _store_url(data_dir)
    async with running_gateway(ill_settings(data_dir, **overrides)) as gw:
        if not await gw.catalog.libraries():
            await seed(gw)
        yield gw


def iso_url(gw: Gateway) -> str:
    return f"{gw.http_url}/iso18626"


async def admin(
    gw: Gateway, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{gw.http_url}/_admin/ill{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def ask_for_loan(
    requester: Gateway,
    supplier_url: str,
    record: str = HELD_BY_HELKA,
    *,
    supplier: str = HUL,
    **more: str,
) -> tuple[int, Any]:
    """TAY, a library of `requester`, asks `supplier` at `supplier_url` for `record` through the
    admin API (`more`: further fields of the request): the HTTP status and the body."""
    body = {"library": "TAY", "supplier": supplier, "supplier_url": supplier_url, "record": record}
    return await admin(requester, "POST", "/requests", {**body, **more})


async def ill_request(gw: Gateway, number: int) -> dict[str, Any]:
    status, body = await admin(gw, "GET", f"/requests/{number}")
    assert status == 200, body
    return dict(body)


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_status(
    gw: Gateway, number: int, status: str, timeout: float = 10.0
) -> dict[str, Any]:
    async def reached() -> bool:
        return (await ill_request(gw, number))["status"] == status

    await wait_for(reached, f"request {number} on {gw.http_url} to be {status}", timeout)
    return await ill_request(gw, number)


async def settled(gw: Gateway, number: int) -> dict[str, Any]:
    """The request once none of its outgoing messages waits to be sent."""

    async def quiet() -> bool:
        view = await ill_request(gw, number)
        return all(m["delivery"] not in ("planned", "pending") for m in view["messages"])

    await wait_for(quiet, f"request {number}'s messages to be sent")
    return await ill_request(gw, number)


def statuses_received(view: dict[str, Any]) -> list[str]:
    """The statuses a requester was told, in order."""
    return [
        m["message"]["status"]
        for m in view["messages"]
        if m["direction"] == "in" and m["kind"] == "supplyingAgencyMessage"
    ]


def statuses_sent(view: dict[str, Any]) -> list[str]:
    """The statuses a lender told, in order (those delivered)."""
    return [
        m["message"]["status"]
        for m in view["messages"]
        if m["direction"] == "out"
        and m["kind"] == "supplyingAgencyMessage"
        and m["delivery"] == "delivered"
    ]


# --- the XSD, checked by lxml on every message that passes the relay ---------------------------
_SCHEMA: list[etree.XMLSchema] = []


def xsd() -> etree.XMLSchema:
    if not _SCHEMA:
        _SCHEMA.append(etree.XMLSchema(etree.parse(str(shared_schema("ISO-18626-v1_2.xsd")))))
    return _SCHEMA[0]


def schema_errors(body: bytes) -> list[str]:
    schema = xsd()
    if schema.validate(etree.fromstring(body)):
        return []
    return [e.message for e in schema.error_log]


@dataclass
class Relay:
    """An HTTP hop in front of a gateway's /iso18626 that checks every message and answer
    against the XSD with lxml, and keeps them."""

    target: str
    url: str = ""
    seen: list[tuple[bytes, bytes]] = field(default_factory=list)
    invalid: list[tuple[bytes, list[str]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.target, data=body, headers={"Content-Type": request.headers["Content-Type"]}
            ) as response,
        ):
            answer = await response.read()
            status = response.status
        self.seen.append((body, answer))
        for document in (body, answer) if status == 200 else (body,):
            errors = schema_errors(document)
            if errors:
                self.invalid.append((document, errors))
        return web.Response(body=answer, status=status, content_type="text/xml")


@asynccontextmanager
async def relay_to(target: str) -> AsyncIterator[Relay]:
    relay = Relay(target)
    app = web.Application()
    app.router.add_post("/iso18626", relay.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    relay.url = f"http://127.0.0.1:{port}/iso18626"
    try:
        yield relay
    finally:
        await runner.cleanup()


# --- a raw HTTP peer: hand-written XML out, every message in checked and kept -----------------
def header_xml(
    supplying: str, requesting: str, request_id: str, *, multiple: bool = True, extra: str = ""
) -> str:
    def agency(name: str, symbol: str) -> str:
        kind, _, value = symbol.partition(":")
        return f"<{name}><agencyIdType>{kind}</agencyIdType><agencyIdValue>{value}</agencyIdValue></{name}>"

    return (
        "<header>"
        + agency("supplyingAgencyId", supplying)
        + agency("requestingAgencyId", requesting)
        + ("<multipleItemRequestId></multipleItemRequestId>" if multiple else "")
        + "<timestamp>2026-12-01T10:00:00Z</timestamp>"
        + f"<requestingAgencyRequestId>{request_id}</requestingAgencyRequestId>"
        + extra
        + "</header>"
    )


def document(body: str, version: str = "1.2", qualified: bool = True) -> bytes:
    attribute = f'ill:version="{version}"' if qualified else f'version="{version}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ill:ISO18626Message xmlns:ill="{NS}" xmlns="{NS}" {attribute}>'
        f"{body}</ill:ISO18626Message>"
    ).encode()


def request_xml(
    request_id: str,
    *,
    supplier: str = HUL,
    requester: str = TAY,
    record: str = "",
    title: str = "",
    author: str = "",
    isbn: str = "",
    issn: str = "",
    service: str = "Loan",
    note: str = "",
    url: str = "",
    version: str = "1.2",
) -> bytes:
    bib = (
        (f"<supplierUniqueRecordId>{record}</supplierUniqueRecordId>" if record else "")
        + (f"<title>{title}</title>" if title else "")
        + (f"<author>{author}</author>" if author else "")
    )
    for code, value in (("ISBN", isbn), ("ISSN", issn)):
        if value:
            bib += (
                "<bibliographicItemId><bibliographicItemIdentifier>"
                f"{value}</bibliographicItemIdentifier><bibliographicItemIdentifierCode>{code}"
                "</bibliographicItemIdentifierCode></bibliographicItemId>"
            )
    info = ""
    if url:
        info = (
            "<requestingAgencyInfo><name>Raw peer</name><address><electronicAddress>"
            "<electronicAddressType>URL</electronicAddressType>"
            f"<electronicAddressData>{url}</electronicAddressData></electronicAddress></address>"
            "</requestingAgencyInfo>"
        )
    return document(
        "<request>"
        + header_xml(supplier, requester, request_id, multiple=version == "1.2")
        + f"<bibliographicInfo>{bib}</bibliographicInfo>"
        + f"<serviceInfo><requestType>New</requestType><serviceType>{service}</serviceType>"
        + (f"<note>{note}</note>" if note else "")
        + "</serviceInfo>"
        + info
        + "</request>",
        version,
        qualified=version == "1.2",
    )


def action_xml(request_id: str, action: str, *, supplier: str = HUL, requester: str = TAY) -> bytes:
    return document(
        "<requestingAgencyMessage>"
        + header_xml(supplier, requester, request_id)
        + f"<action>{action}</action></requestingAgencyMessage>"
    )


def status_xml(
    request_id: str,
    status: str,
    *,
    reason: str = "StatusChange",
    supplier: str = HUL,
    requester: str = TAY,
) -> bytes:
    return document(
        "<supplyingAgencyMessage>"
        + header_xml(supplier, requester, request_id)
        + f"<messageInfo><reasonForMessage>{reason}</reasonForMessage></messageInfo>"
        + f"<statusInfo><status>{status}</status><lastChange>2026-12-01T10:00:00Z</lastChange></statusInfo>"
        + "</supplyingAgencyMessage>"
    )


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    root: etree._Element | None

    def text(self, name: str) -> str:
        assert self.root is not None, self.body
        found = self.root.find(f".//{{{NS}}}{name}")
        return (found.text or "") if found is not None else ""

    @property
    def message_status(self) -> str:
        return self.text("messageStatus")

    @property
    def error_type(self) -> str:
        return self.text("errorType")


async def post(url: str, body: bytes, content_type: str = "text/xml") -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": content_type}) as response,
    ):
        data = await response.read()
        status = response.status
    root = None
    if status == 200:
        root = etree.fromstring(data)
        assert schema_errors(data) == [], data  # every answer is valid ISO 18626
    return Answer(status, data, root)


@dataclass
class RawPeer:
    """A hand-driven ISO 18626 peer: answers OK to whatever it gets and keeps it."""

    url: str = ""
    received: list[etree._Element] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        root = etree.fromstring(body)
        self.bodies.append(body)
        self.received.append(root)
        self.arrived.set()
        child = root[0]
        kind = etree.QName(child).localname
        header = child.find(f"{{{NS}}}header")
        assert header is not None
        answer = (
            f"<{kind}Confirmation><confirmationHeader>"
            "<timestamp>2026-12-01T10:00:01Z</timestamp>"
            "<timestampReceived>2026-12-01T10:00:00Z</timestampReceived>"
            f"<messageStatus>OK</messageStatus></confirmationHeader></{kind}Confirmation>"
        )
        return web.Response(body=document(answer), content_type="text/xml")

    def statuses(self) -> list[str]:
        return [
            (r.findtext(f".//{{{NS}}}status") or "")
            for r in self.received
            if etree.QName(r[0]).localname == "supplyingAgencyMessage"
        ]

    def messages(self) -> list[etree._Element]:
        return [r[0] for r in self.received]

    async def wait_count(self, count: int, timeout: float = 10.0) -> None:
        async def enough() -> bool:
            return len(self.received) >= count

        await wait_for(enough, f"{count} messages at the raw peer", timeout)


@asynccontextmanager
async def raw_peer() -> AsyncIterator[RawPeer]:
    peer = RawPeer()
    app = web.Application()
    app.router.add_post("/iso18626", peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    peer.url = f"http://127.0.0.1:{port}/iso18626"
    try:
        yield peer
    finally:
        await runner.cleanup()
