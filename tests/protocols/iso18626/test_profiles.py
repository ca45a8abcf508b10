"""The alma profile against the standard one, as a raw requester sees them; journal and console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import (
    HELD_BY_HELKA,
    HELD_BY_JYU,
    HUL,
    JYU,
    RawPeer,
    action_xml,
    admin,
    ask_for_loan,
    ill_gateway,
    iso_url,
    post,
    request_xml,
    schema_errors,
    settled,
    wait_for,
    wait_status,
    xsd,
)


@pytest.fixture
async def supplier(tmp_path: Path) -> AsyncIterator[Gateway]:
    xsd()
    async with ill_gateway(tmp_path / "supplier", ill_lending_fee="5.00 EUR") as gw:
        yield gw


async def test_alma_never_sends_expect_to_supply(supplier: Gateway, peer: RawPeer) -> None:
    url = iso_url(supplier)
    await post(
        url, request_xml("p-std", supplier=HUL, record="EXPECTTOSUPPLY_LOANED", url=peer.url)
    )
    await peer.wait_count(3)
    assert peer.statuses() == ["ExpectToSupply", "WillSupply", "Loaned"]
    await post(
        url, request_xml("p-alma", supplier=JYU, record="EXPECTTOSUPPLY_LOANED", url=peer.url)
    )
    await peer.wait_count(5)
    assert peer.statuses()[3:] == ["WillSupply", "Loaned"]
    for body in peer.bodies:
        assert schema_errors(body) == []


async def test_alma_puts_costs_in_the_note_of_a_notification(
    supplier: Gateway, peer: RawPeer
) -> None:
    url = iso_url(supplier)
    await post(url, request_xml("p-c1", supplier=HUL, record="RETRY_COST", url=peer.url))
    await peer.wait_count(1)
    standard = peer.messages()[0]
    assert standard.findtext(".//{*}offeredCosts/{*}monetaryValue") == "35.00"
    assert standard.findtext(".//{*}reasonForMessage") == "RequestResponse"
    await post(url, request_xml("p-c2", supplier=JYU, record="RETRY_COST", url=peer.url))
    await peer.wait_count(2)
    alma = peer.messages()[1]
    assert alma.find(".//{*}offeredCosts") is None
    assert alma.findtext(".//{*}note") == "Cost: 35.00 EUR"
    assert alma.findtext(".//{*}reasonForMessage") == "Notification"
    assert alma.findtext(".//{*}status") == "RetryPossible"
    assert schema_errors(peer.bodies[1]) == []


async def test_delivery_costs_only_with_loaned(supplier: Gateway, peer: RawPeer) -> None:
    await post(
        iso_url(supplier), request_xml("p-fee", supplier=JYU, record=HELD_BY_JYU, url=peer.url)
    )
    await peer.wait_count(2)
    will_supply, loaned = peer.messages()
    assert peer.statuses() == ["WillSupply", "Loaned"]
    assert will_supply.find(".//{*}deliveryCosts") is None
    assert loaned.findtext(".//{*}deliveryCosts/{*}monetaryValue") == "5.00"


async def test_alma_notifications_carry_an_empty_status(supplier: Gateway, peer: RawPeer) -> None:
    url = iso_url(supplier)
    await post(url, request_xml("p-n1", supplier=HUL, record=HELD_BY_HELKA, url=peer.url))
    await post(url, request_xml("p-n2", supplier=JYU, record=HELD_BY_JYU, url=peer.url))
    await peer.wait_count(4)
    _, listed = await admin(supplier, "GET", "/requests")
    by_library = {r["library"]: r["id"] for r in listed["requests"]}
    for library in ("HELKA", "JYU"):
        status, body = await admin(
            supplier,
            "POST",
            f"/requests/{by_library[library]}/actions",
            {"action": "Notification", "note": "Kirja on noudettavissa"},
        )
        assert status == 202, body
    await peer.wait_count(6)
    standard, alma = peer.messages()[4:]
    standard_is_helka = standard.findtext(".//{*}supplyingAgencyId/{*}agencyIdValue") == "FI-Hul"
    if not standard_is_helka:
        standard, alma = alma, standard
    assert standard.findtext(".//{*}status") == "Loaned"
    assert alma.findtext(".//{*}status") == ""
    for message in (standard, alma):
        assert message.findtext(".//{*}reasonForMessage") == "Notification"
        assert message.findtext(".//{*}note") == "Kirja on noudettavissa"
    # the 1.2 schema has no empty status: Alma's notification breaks it there and nowhere else
    alma_body = peer.bodies[peer.messages().index(alma)]
    errors = schema_errors(alma_body)
    assert len(errors) == 1 and "status" in errors[0]


async def test_a_gateway_requester_takes_an_alma_notification_without_a_status(
    tmp_path: Path, supplier: Gateway
) -> None:
    async with ill_gateway(tmp_path / "requester") as requester:
        _, created = await ask_for_loan(requester, iso_url(supplier), HELD_BY_JYU, supplier=JYU)
        number = int(created["id"])
        await wait_status(requester, number, "Loaned")
        _, listed = await admin(supplier, "GET", "/requests")
        await admin(
            supplier,
            "POST",
            f"/requests/{listed['requests'][0]['id']}/actions",
            {"action": "Notification", "note": "Muistutus"},
        )

        async def noted() -> bool:
            view = await settled(requester, number)
            return any(m["summary"] == "Notification (no status)" for m in view["messages"])

        await wait_for(noted, "the notification to arrive")
        view = await settled(requester, number)
        assert view["status"] == "Loaned" and view["problem"] == ""


async def test_every_message_is_journaled_both_ways_and_shown_on_the_console(
    supplier: Gateway, peer: RawPeer
) -> None:
    url = iso_url(supplier)
    await post(url, request_xml("p-j", supplier=HUL, record=HELD_BY_HELKA, url=peer.url))
    await peer.wait_count(2)
    await post(url, action_xml("p-j", "ShippedReturn"))  # refused: not Received yet
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{supplier.http_url}/_admin/journal", params={"interface": "iso18626"}
        ) as response:
            journal = await response.json()
        async with session.get(f"{supplier.http_url}/libraries") as response:
            page = await response.text()
    entries = [(e["operation"], e["outcome"]) for e in journal["entries"]]
    assert entries == [
        ("in request", "ok"),
        ("out RequestResponse WillSupply", "ok"),
        ("out StatusChange Loaned", "ok"),
        ("in ShippedReturn", "ERROR UnsupportedActionType: ShippedReturn before Received"),
    ]
    assert 'id="ill"' in page
    assert "← request" in page and "→ StatusChange Loaned" in page and "ISIL:FI-Tay" in page
