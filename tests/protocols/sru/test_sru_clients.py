"""End to end: YAZ's own SRU clients (yaz-client, zoomsh) against the running gateway."""

from __future__ import annotations

import asyncio
import re

import pymarc
import pytest

from gateway.emulator.host import Gateway
from gateway.query import Term
from tests.conftest import require_tool

pytestmark = pytest.mark.e2e


async def run_client(*argv: str, stdin: str = "") -> str:
    """Run a client to completion without blocking the loop; its combined output."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
    return out.decode("utf-8", "replace")


def isbn_record(records: list[pymarc.Record]) -> pymarc.Record:
    return next(r for r in records if r.get("020") is not None)


@pytest.mark.parametrize("version", ["1.2", "2.0"])
async def test_yaz_client_find_and_show(
    gateway: Gateway, records: list[pymarc.Record], version: str
) -> None:
    yaz_client = require_tool("yaz-client")
    record = isbn_record(records)
    word = next(w for w in record["245"]["a"].split() if len(w.strip(".,:;/")) > 3)
    word = word.strip(".,:;/")
    hits = len((await gateway.catalog.search(Term("dc.title", word))).ids)
    assert hits > 0
    commands = "\n".join(
        [
            f"sru get {version}",
            f"open {gateway.http_url}/sru/bib",
            f"find bath.isbn={record['020']['a']}",
            "show 1",
            f"find dc.title={word}",
            "find dc.nonesuch=x",
            "quit",
            "",
        ]
    )
    # yaz-client exits 0 even when a request fails: the output is what tells
    out = await run_client(yaz_client, stdin=commands)

    # find, show (a second request), find, find
    assert re.findall(r"Number of hits: (\d+)", out) == ["1", "1", str(hits), "0"]
    assert f'<controlfield tag="001">{record["001"].data}</controlfield>' in out
    assert "SRW diagnostic info:srw/diagnostic/1/16" in out
    assert "Details: dc.nonesuch" in out


async def test_yaz_client_scan(gateway: Gateway, records: list[pymarc.Record]) -> None:
    yaz_client = require_tool("yaz-client")
    out = await run_client(
        yaz_client,
        stdin=f"sru get 1.2\nopen {gateway.http_url}/sru/bib\nscan dc.author=a\nquit\n",
    )
    assert "Received SRW Scan Response" in out
    terms = re.findall(r"^(?:Z> )?(.+): (\d+)$", out, flags=re.MULTILINE)
    assert len(terms) == 20  # yaz-client asks for 20 terms


async def test_zoomsh_search_and_show(gateway: Gateway, records: list[pymarc.Record]) -> None:
    zoomsh = require_tool("zoomsh")
    record = isbn_record(records)
    for version in ("1.2", "2.0"):
        out = await run_client(
            zoomsh,
            "set sru get",
            f"set sru_version {version}",
            f"connect {gateway.http_url}/sru/bib",
            f"search cql:bath.isbn={record['020']['a']}",
            "show 0 1",
            "quit",
        )
        assert f"{gateway.http_url}/sru/bib: 1 hits" in out
        assert record["001"].data in out


async def test_zoomsh_reports_the_diagnostic(gateway: Gateway) -> None:
    zoomsh = require_tool("zoomsh")
    out = await run_client(
        zoomsh,
        "set sru get",
        f"connect {gateway.http_url}/sru/fin01alma",
        'search cql:dc.title="kir^ja"',
        "quit",
    )
    assert "Anchoring character in unsupported position" in out
    assert "info:srw/diagnostic/1:32" in out
