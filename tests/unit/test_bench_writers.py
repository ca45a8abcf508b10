"""The bench's X-server writers: the form bodies they send are urllib's bytes, and a short run
against a real gateway saves and reads back what they wrote."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import writers
from bench.http1 import Connection
from gateway.emulator.app import running_gateway
from tests.conftest import test_settings as settings_in
from tests.protocols.xserver.helpers import XClient, book, saved_id

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.dictionaries(_TEXT, _TEXT, min_size=1, max_size=6))
def test_form_body_is_urlencode(params: dict[str, str]) -> None:
    assert writers.form_body(params) == urllib.parse.urlencode(params).encode("ascii")


def test_form_body_of_a_record() -> None:
    params = {"op": "update-doc", "xml_full_req": '<a b="ä &amp; ö">x y+z/%~</a>'}
    assert writers.form_body(params) == (
        b"op=update-doc&xml_full_req=%3Ca+b%3D%22%C3%A4+%26amp%3B+%C3%B6%22%3Ex+y%2Bz%2F%25~%3C%2Fa%3E"
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            b"<update-doc><error>[0018] Saved.</error><session-id>S</session-id></update-doc>",
            ["[0018] Saved."],
        ),
        (
            b"<update-doc><error>A &amp; B &lt;x&gt;</error><error>two</error></update-doc>",
            ["A & B <x>", "two"],
        ),
        (b"<update-doc><error><![CDATA[a <b>]]></error></update-doc>", ["a <b>"]),  # lxml reads it
        (b"<find-doc><record/></find-doc>", []),
    ],
)
def test_reply_errors_are_read_as_an_xml_parser_reads_them(body: bytes, errors: list[str]) -> None:
    assert writers._errors(200, body) == errors


async def test_writers_save_through_a_real_gateway(tmp_path: Path) -> None:
    async with running_gateway(settings_in(tmp_path / "data")) as gw:
        await gw.catalog.add_library(writers.LIBRARY, password=writers.PASSWORD, lows=["BENCH"])
        auth = {"user": writers.LIBRARY, "password": writers.PASSWORD}
        async with aiohttp.ClientSession() as http:
            setup = XClient(http, gw.http_url)
            docs = [
                saved_id(await setup.update("000000000", book(f"Kirja {n}", isbn=isbn), **auth))
                for n, isbn in enumerate(("9789510000016", "9789510000023", "9789510000030"))
            ]
        url = f"{gw.http_url}/X"
        done = await writers.run_writers(url, docs, writers=3, seconds=1.0, seed=1)
        assert done.other == 0, done.first_other
        assert done.saved > 0
        # the last bench note of some writer is in each record that was saved at least once
        texts = [await _find(url, doc) for doc in docs]
        assert all(text is not None for text in texts)
        assert sum("bench w" in (text or "") for text in texts) >= 1


async def _find(url: str, doc: str) -> str | None:
    http = Connection(url)
    try:
        return await writers.find_doc(http, doc)
    finally:
        await http.close()
