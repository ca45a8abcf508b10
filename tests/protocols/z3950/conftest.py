"""A gateway with a small known catalogue, and real Z39.50 clients (yaz-client, zoomsh) to drive it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pymarc import Field, Indicators, Record, Subfield

from gateway.emulator.host import Gateway
from protocols.z3950 import pdu as z
from protocols.z3950.ber import CONTEXT, Element, decode_prefix
from tests.conftest import require_tool


def _isbn(first12: str) -> str:
    """An ISBN-13 with its check digit (the ISBN index checks them)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _issn(first7: str) -> str:
    total = sum(int(d) * (8 - i) for i, d in enumerate(first7))
    check = (11 - total % 11) % 11
    return f"{first7[:4]}-{first7[4:]}" + ("X" if check == 10 else str(check))


VELJEKSET_ISBN = _isbn("978951111234")  # hyphenated in the record, plain in searches
NUMMISUUTARIT_ISBN = _isbn("978951111235")
KOTISEUTU_ISSN = _issn("0023418")


@dataclass(frozen=True)
class Book:
    melinda_id: int
    title: str
    author: str
    year: str
    isbn: str | None = None
    issn: str | None = None
    subjects: tuple[str, ...] = ()
    alma_differs: bool = False  # carries an Asteri heading and a local field


CATALOGUE: tuple[Book, ...] = (
    Book(
        900001,
        "Seitsemän veljestä : romaani",
        "Kivi, Aleksis",
        "1870",
        isbn=f"{VELJEKSET_ISBN[:3]}-{VELJEKSET_ISBN[3:6]}-{VELJEKSET_ISBN[6:8]}-"
        f"{VELJEKSET_ISBN[8:12]}-{VELJEKSET_ISBN[12]}",
        subjects=("veljekset", "maaseutu"),
        alma_differs=True,
    ),
    Book(
        900002,
        "Nummisuutarit : komedia viidessä näytöksessä",
        "Kivi, Aleksis",
        "1864",
        isbn=NUMMISUUTARIT_ISBN,
        subjects=("suutarit",),
    ),
    Book(900003, "Tuntematon sotilas", "Linna, Väinö", "1954", subjects=("sotilaat",)),
    Book(900004, "Seitsemän kertomusta", "Linna, Väinö", "1990"),
    Book(900005, "Kotiseutu", "Suomen kotiseutuliitto", "1909", issn=KOTISEUTU_ISSN),
    *(
        Book(900100 + n, f"Täyteaineisto numero {n}", "Testaaja, Teppo", str(2000 + n))
        for n in range(1, 21)
    ),
)
FILLER_COUNT = 20


def book_record(book: Book) -> Record:
    record = Record(leader="00000cam a2200000 i 4500", force_utf8=True)
    record.add_field(
        Field(tag="001", data=f"{book.melinda_id:09d}"),
        Field(tag="003", data="FI-MELINDA"),
        Field(tag="008", data=f"200101s{book.year}    fi ||||||||||||||||fin||"),
    )
    if book.alma_differs:
        record.add_field(_data("019", " ", " ", ("a", "KIVI-LOCAL-1")))
    if book.isbn:
        record.add_field(_data("020", " ", " ", ("a", book.isbn)))
    if book.issn:
        record.add_field(_data("022", " ", " ", ("a", book.issn)))
    record.add_field(_data("035", " ", " ", ("a", f"(FI-MELINDA){book.melinda_id:09d}")))
    tag = "110" if "liitto" in book.author else "100"
    record.add_field(_data(tag, "1", " ", ("a", book.author + ",")))
    main, _, rest = book.title.partition(" : ")
    title = [("a", main + (" :" if rest else "."))] + ([("b", rest + ".")] if rest else [])
    record.add_field(_data("245", "1", "0", *title))
    record.add_field(
        _data("264", " ", "1", ("a", "Helsinki :"), ("b", "SKS,"), ("c", book.year + ".")),
        _data("300", " ", " ", ("a", "300 sivua ;"), ("c", "21 cm")),
        _data("336", " ", " ", ("a", "teksti"), ("b", "txt"), ("2", "rdacontent")),
    )
    if book.alma_differs:
        record.add_field(_data("600", "1", "4", ("a", "Kivi, Aleksis,"), ("0", "(FIN11)000012345")))
    for subject in book.subjects:
        record.add_field(
            _data(
                "650",
                " ",
                "7",
                ("a", subject),
                ("2", "yso/fin"),
                ("0", "http://www.yso.fi/onto/yso/p1234"),
            )
        )
    record.add_field(_data("LOW", " ", " ", ("a", "FENNI")))
    return record


def _data(tag: str, ind1: str, ind2: str, *subfields: tuple[str, str]) -> Field:
    return Field(
        tag=tag,
        indicators=Indicators(ind1, ind2),
        subfields=[Subfield(code, value) for code, value in subfields],
    )


@pytest.fixture
async def catalogue(gateway: Gateway) -> Gateway:
    """The running gateway with CATALOGUE loaded (and a library that may log in)."""
    await gateway.catalog.load([book_record(book) for book in CATALOGUE])
    await gateway.catalog.add_library("KIVI", password="kivi-salasana", lows=["KIVI"])
    return gateway


def z_address(gateway: Gateway, database: str = "fin01") -> str:
    return f"127.0.0.1:{gateway.ports['z3950']}/{database}"


async def run_client(argv: Sequence[str], script: str = "", timeout: float = 30) -> str:
    """Run a client to completion; its output (stdout and stderr) as text."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(script.encode()), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return out.decode("utf-8", "replace")


async def yaz_client(
    gateway: Gateway,
    script: str,
    database: str = "fin01",
    *,
    options: Sequence[str] = (),
    scheme: str = "",
) -> str:
    """yaz-client scripted through stdin; it exits 0 even on errors, so read its output.

    Blank lines are dropped: yaz-client reads an empty command as `open` with no address.
    """
    tool = require_tool("yaz-client")
    commands = [line.strip() for line in script.splitlines() if line.strip()]
    return await run_client(
        [tool, *options, scheme + z_address(gateway, database)],
        "\n".join([*commands, "quit", ""]),
    )


async def zoomsh(*commands: str) -> str:
    tool = require_tool("zoomsh")
    return await run_client([tool, *commands, "quit"])


class Origin:
    """A bare Z39.50 origin over asyncio streams, for what real clients never send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = b""

    @classmethod
    async def connect(cls, gateway: Gateway) -> Origin:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.ports["z3950"])
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, timeout: float = 10) -> Element:
        """The next PDU from the target; EOFError when it closed the connection instead."""
        async with asyncio.timeout(timeout):
            while True:
                found = decode_prefix(self._buffer, 1 << 26)
                if found is not None:
                    element, length = found
                    self._buffer = self._buffer[length:]
                    return element
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise EOFError("the target closed the connection")
                self._buffer += chunk

    async def ask(self, request: bytes) -> Element:
        await self.send(request)
        return await self.receive()

    async def init(self, **options: Any) -> Element:
        return await self.ask(z.init_request(**options))

    async def closed_by_target(self, timeout: float = 10) -> bool:
        """Whether the target ends the connection (EOF) within `timeout` seconds."""
        async with asyncio.timeout(timeout):
            return await self.reader.read(65536) == b"" and not self._buffer

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def close_reason(pdu: Element) -> int:
    assert pdu.is_tag(CONTEXT, z.PduTag.CLOSE), f"expected a Close PDU, got [{pdu.number}]"
    reason = pdu.child(211)
    assert reason is not None
    return reason.integer()
