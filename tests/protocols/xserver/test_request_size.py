"""A real-sized Melinda record over update-doc: dozens of LOW and CAT fields fit the default limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pymarc
import pytest

from gateway.emulator.host import Gateway
from gateway.emulator.settings import Settings
from tests.protocols.xserver.helpers import XClient, saved_id

PASSWORD = "fenni-salasana"


def heavy_record(record_id: int) -> pymarc.Record:
    """A record shaped like a widely held Melinda book: 24 LOW and 69 CAT fields."""
    sf = pymarc.Subfield
    record = pymarc.Record(leader="00000cam a2200000 i 4500")
    record.add_field(
        pymarc.Field(tag="001", data=f"{record_id:09d}"),
        pymarc.Field(tag="008", data="200101s2020    fi ||||| |||| 00| 0 fin d"),
        pymarc.Field(tag="020", indicators=[" ", " "], subfields=[sf("a", "9789510000777")]),
        pymarc.Field(tag="100", indicators=["1", " "], subfields=[sf("a", "Kivi, Aleksis.")]),
        pymarc.Field(
            tag="245",
            indicators=["1", "0"],
            subfields=[sf("a", "Seitsemän veljestä /"), sf("c", "Aleksis Kivi.")],
        ),
        pymarc.Field(
            tag="264",
            indicators=[" ", "1"],
            subfields=[sf("a", "Helsinki :"), sf("b", "Otava,"), sf("c", "2020.")],
        ),
        pymarc.Field(tag="300", indicators=[" ", " "], subfields=[sf("a", "300 sivua")]),
    )
    for n in range(40):
        record.add_field(
            pymarc.Field(
                tag="650",
                indicators=[" ", "7"],
                subfields=[
                    sf("a", f"aihe numero {n}"),
                    sf("2", "yso/fin"),
                    sf("0", f"http://www.yso.fi/onto/yso/p{10000 + n}"),
                ],
            )
        )
    for n in range(69):
        record.add_field(
            pymarc.Field(
                tag="CAT",
                indicators=[" ", " "],
                subfields=[
                    sf("a", f"LOAD-{n:02d}"),
                    sf("b", "30"),
                    sf("c", f"2019{(n % 12) + 1:02d}{(n % 28) + 1:02d}"),
                    sf("l", "FIN01"),
                    sf("h", "1200"),
                ],
            )
        )
    for n in range(24):
        record.add_field(
            pymarc.Field(tag="LOW", indicators=[" ", " "], subfields=[sf("a", f"LIB{n:02d}")])
        )
    return record


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[XClient]:
    await gateway.catalog.add_library(
        "FENNI", password=PASSWORD, lows=["FENNI", "FIKKA"], privileged=True
    )
    async with aiohttp.ClientSession() as http:
        yield XClient(http, gateway.http_url)


async def test_a_record_of_37000_characters_is_saved_by_default(
    gateway: Gateway, client: XClient
) -> None:
    assert gateway.settings.xserver_max_request_chars == Settings().xserver_max_request_chars
    await gateway.catalog.load([heavy_record(123)])
    record = await client.find_doc("000000123")
    size = len(record.find_doc())
    assert 20_000 < size < 40_000  # refused under the old 20,000 limit
    reply = await client.update("000000123", record, user="FENNI", password=PASSWORD)
    assert saved_id(reply) == "000000123"


async def test_the_refusal_names_the_limit_and_its_setting(client: XClient) -> None:
    limit = Settings().xserver_max_request_chars
    assert limit == 40_000
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name="FENNI", user_password=PASSWORD, xml_full_req="<x/>" + " " * limit,
    )  # fmt: skip
    (error,) = reply.errors
    assert f"at most {limit} are accepted (setting xserver_max_request_chars)" in error
