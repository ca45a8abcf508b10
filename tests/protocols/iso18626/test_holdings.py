"""A lender finds the item through the catalog (Melinda ID, ISBN, ISSN, title and author) and
lends only what its LOW is on."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import (
    HELD_BY_HELKA,
    HELD_BY_TAY_ONLY,
    SERIAL_HELD_BY_HELKA,
    RawPeer,
    admin,
    ill_request,
    iso_url,
    post,
    request_xml,
)


@pytest.mark.parametrize(
    ("given", "record", "statuses", "reason"),
    [
        ({"isbn": "978-951-0-00000-7"}, HELD_BY_HELKA, ["WillSupply", "Loaned"], ""),
        ({"issn": "0039-5552"}, SERIAL_HELD_BY_HELKA, ["WillSupply", "Loaned"], ""),
        (
            {"title": "Seitsemän veljestä", "author": "Kivi"},
            HELD_BY_HELKA,
            ["WillSupply", "Loaned"],
            "",
        ),
        ({"record": "(FI-MELINDA)000000001"}, HELD_BY_HELKA, ["WillSupply", "Loaned"], ""),
        # an id that is no Melinda record: the title finds it
        (
            {"record": "991234567890123456", "title": "Seitsemän veljestä"},
            HELD_BY_HELKA,
            ["WillSupply", "Loaned"],
            "",
        ),
        ({"isbn": "9789510000014"}, HELD_BY_TAY_ONLY, ["Unfilled"], "NotHeld"),
        (
            {"title": "Tuntematon sotilas", "author": "Linna"},
            HELD_BY_TAY_ONLY,
            ["Unfilled"],
            "NotHeld",
        ),
        ({"title": "Ei tällaista kirjaa ole"}, "", ["Unfilled"], "NotFoundAsCited"),
        ({"record": "000999999"}, "", ["Unfilled"], "NotFoundAsCited"),
    ],
)
async def test_the_item_is_found_and_lent_only_with_the_lenders_low(
    supplier: Gateway,
    peer: RawPeer,
    given: dict[str, Any],
    record: str,
    statuses: list[str],
    reason: str,
) -> None:
    answer = await post(iso_url(supplier), request_xml("h-1", url=peer.url, **given))
    assert answer.message_status == "OK", answer.body
    await peer.wait_count(len(statuses))
    assert peer.statuses() == statuses
    assert (peer.messages()[-1].findtext(".//{*}reasonUnfilled") or "") == reason
    _, listed = await admin(supplier, "GET", "/requests")
    lent = await ill_request(supplier, int(listed["requests"][0]["id"]))
    assert lent["record"] == record
