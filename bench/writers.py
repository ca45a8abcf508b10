"""The X-server workload: concurrent writers doing find-doc (fin01alma) + update-doc on corpus
records, counting saves and conflicts (stale 024 or CAT mismatch), timed for a fixed window."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import unescape

from lxml import etree

from bench.http1 import Connection
from bench.stats import Throughput, throughput

LIBRARY = "BENCH"
PASSWORD = "bench-salasana"
_SAVED = re.compile(r"^\[0018\] Document: (\d{9}) was updated successfully\.$")
_CONFLICT = ("[0200]", "[0201]")
_ERROR = re.compile(rb"<error>([^<]*)</error>")
_NOTE = re.compile(
    r'<varfield id="500" i1=" " i2=" "><subfield label="a">bench [^<]*</subfield></varfield>'
)


@dataclass(frozen=True)
class Writes:
    figures: Throughput
    saved: int
    conflicts: int
    other: int
    first_other: str

    def as_json(self) -> dict[str, object]:
        return {
            **self.figures.as_json(),
            "saved": self.saved,
            "saved_per_second": round(self.saved / self.figures.seconds, 1),
            "conflicts": self.conflicts,
            "other_errors": self.other,
            "first_other_error": self.first_other,
        }


def _errors(status: int, body: bytes) -> list[str]:
    if status != 200:
        return [f"HTTP {status}: {body[:200]!r}"]
    # the reply's <error> texts without an XML parser (lxml's per-document set-up was 40 us
    # a reply of the writers' CPU), where they are plain text as the X-server writes them
    plain = _ERROR.findall(body)
    if len(plain) == body.count(b"<error"):
        return [unescape(text.decode("utf-8")) for text in plain]
    return [e.text or "" for e in etree.fromstring(body).findall("error")]


async def find_doc(http: Connection, doc: str) -> str | None:
    """The record as oai_marc text, or None when it cannot be read (deleted, missing)."""
    _, body = await http.get(form_body({"op": "find-doc", "doc_num": doc, "base": "fin01alma"}))
    # the element's own bytes, as sent: the writer sends them back edited, so the client's CPU
    # (on the server's cores) goes to no parse and re-serialisation the server does anyway
    start, end = body.find(b"<oai_marc>"), body.rfind(b"</oai_marc>")
    if start < 0 or end < start:
        return None
    return body[start : end + len(b"</oai_marc>")].decode("utf-8")


# application/x-www-form-urlencoded as urllib's quote_plus writes it (unreserved octets kept,
# space as +, every other octet %XX). The writers share the machine's cores with the server:
# urlencode's per-octet Python loop, and then a str.translate through a table (its lookup
# per character was ~0.4 ms of an update-doc's 15 kB), cost more than the rest of a
# writer's cycle; yarl's quoter (aiohttp's URL library, in C) writes the same bytes but for
# the sub-delimiters RFC 3986 lets a query keep, which urlencode escapes.
_FORM_OCTETS = {
    octet: "+" if octet == 0x20 else f"%{octet:02X}"
    for octet in range(256)
    if not (chr(octet).isascii() and (chr(octet).isalnum() or chr(octet) in "_.-~"))
}
_SUB_DELIMITERS = tuple((char, f"%{ord(char):02X}") for char in "!$'()*,")
try:
    from yarl._quoting import _Quoter

    _quote: Callable[[str], str] | None = _Quoter(safe="", qs=True, requote=False)
except ImportError:  # another yarl: the table
    _quote = None


def form_body(params: dict[str, str]) -> bytes:
    """The form's bytes, identical to `urllib.parse.urlencode(params)`."""
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in params.items()).encode(
        "ascii"
    )


def _quoted(text: str) -> str:
    if _quote is None:
        return text.encode("utf-8").decode("latin-1").translate(_FORM_OCTETS)
    quoted = _quote(text)
    for char, escape in _SUB_DELIMITERS:
        if char in quoted:
            quoted = quoted.replace(char, escape)
    return quoted


def edited(oai_marc: str, note: str) -> str:
    """The record with this writer's 500 note in place of an earlier bench note."""
    field = (
        f'<varfield id="500" i1=" " i2=" "><subfield label="a">bench {note}</subfield></varfield>'
    )
    body = _NOTE.sub("", oai_marc).replace("</oai_marc>", field + "</oai_marc>")
    return f"<find-doc><record><metadata>{body}</metadata></record></find-doc>"


async def log_in(http: Connection) -> None:
    """user-auth once: the session (cookie) remembers the staff user for later update-docs, as
    a cataloguing client's session does; without it every update-doc checks the password."""
    params = {"op": "user-auth", "staff_user": LIBRARY, "staff_pass": PASSWORD}
    errors = _errors(*await http.post_form(form_body(params)))
    if errors:
        raise RuntimeError(f"user-auth failed: {errors}")


async def run_writers(
    url: str, docs: Sequence[str], writers: int, seconds: float, seed: int
) -> Writes:
    """Each writer is one client with its own X-server session and picks random records of
    `docs`: writers rarely collide, and when two save the same record at once the later one
    must be refused as stale (counted as a conflict)."""
    latencies: list[float] = []
    saved = conflicts = other = 0
    first_other = ""
    clients = [Connection(url) for _ in range(writers)]  # each its own session cookie

    async def writer(number: int, deadline: float) -> None:
        nonlocal saved, conflicts, other, first_other
        http = clients[number]
        pick = random.Random(seed * 1000 + number)
        attempt = 0
        while time.perf_counter() < deadline:
            doc = docs[int(pick.random() * len(docs))]
            attempt += 1
            started = time.perf_counter()
            current = await find_doc(http, doc)
            if current is None:
                continue
            params = {
                "op": "update-doc",
                "library": "FIN01",
                "doc_action": "UPDATE",
                "doc_num": doc,
                "user_name": LIBRARY,
                "user_password": PASSWORD,
                "xml_full_req": edited(current, f"w{number} a{attempt}"),
            }
            errors = _errors(*await http.post_form(form_body(params)))
            latencies.append(time.perf_counter() - started)
            last = errors[-1] if errors else ""
            if _SAVED.match(last):
                saved += 1
            elif last.startswith(_CONFLICT):
                conflicts += 1
            else:
                other += 1
                first_other = first_other or " | ".join(errors)[:300]

    try:
        await asyncio.gather(*(log_in(http) for http in clients))
        started = time.perf_counter()
        await asyncio.gather(*(writer(n, started + seconds) for n in range(writers)))
        elapsed = time.perf_counter() - started
    finally:
        for http in clients:
            await http.close()
    return Writes(throughput(latencies, elapsed), saved, conflicts, other, first_other)
