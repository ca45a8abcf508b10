"""Two gateways lend to each other over ISO 18626: every message through an XSD-checking relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import (
    HELD_BY_HELKA,
    HELD_BY_TAY_ONLY,
    Relay,
    admin,
    ask_for_loan,
    ill_gateway,
    ill_request,
    iso_url,
    relay_to,
    settled,
    statuses_received,
    statuses_sent,
    wait_status,
    xsd,
)


@dataclass
class Peers:
    requester: Gateway  # TAY borrows here
    supplier: Gateway  # HELKA lends here
    to_requester: Relay
    to_supplier: Relay

    def invalid(self) -> list[object]:
        return [*self.to_requester.invalid, *self.to_supplier.invalid]

    def messages(self) -> int:
        return len(self.to_requester.seen) + len(self.to_supplier.seen)


@pytest.fixture
async def peers(tmp_path: Path) -> AsyncIterator[Peers]:
    xsd()  # skips when ../shared is absent
    async with (
        relay_to("") as to_requester,
        relay_to("") as to_supplier,
        ill_gateway(tmp_path / "requester", ill_public_url=to_requester.url) as requester,
    ):
        to_requester.target = iso_url(requester)
        async with ill_gateway(tmp_path / "supplier", ill_public_url=to_supplier.url) as supplier:
            to_supplier.target = iso_url(supplier)
            yield Peers(requester, supplier, to_requester, to_supplier)


async def borrow(peers: Peers, record: str, service: str = "Loan", note: str = "") -> int:
    status, body = await ask_for_loan(
        peers.requester, peers.to_supplier.url, record, service=service, note=note
    )
    assert status == 201, body
    return int(body["id"])


async def lender_side(peers: Peers) -> dict[str, object]:
    status, body = await admin(peers.supplier, "GET", "/requests")
    assert status == 200
    (only,) = body["requests"]
    return await ill_request(peers.supplier, int(only["id"]))


async def act(gw: Gateway, number: int, action: str) -> dict[str, object]:
    status, body = await admin(gw, "POST", f"/requests/{number}/actions", {"action": action})
    assert status == 202, body
    return dict(body)


async def test_a_loan_runs_end_to_end_and_both_sides_agree(peers: Peers) -> None:
    number = await borrow(peers, HELD_BY_HELKA)
    await wait_status(peers.requester, number, "Loaned")
    lender = await lender_side(peers)
    assert lender["status"] == "Loaned" and lender["record"] == HELD_BY_HELKA
    assert lender["library"] == "HELKA" and lender["role"] == "supplier"
    await act(peers.requester, number, "Received")
    await settled(peers.requester, number)
    assert (await lender_side(peers))["received"] is True
    await act(peers.requester, number, "ShippedReturn")
    borrowed = await wait_status(peers.requester, number, "LoanCompleted")
    lender = await lender_side(peers)
    lender = await settled(peers.supplier, int(str(lender["id"])))
    assert lender["status"] == "LoanCompleted"
    assert statuses_received(borrowed) == ["WillSupply", "Loaned", "LoanCompleted"]
    assert statuses_sent(lender) == statuses_received(borrowed)
    actions_sent = [m["summary"] for m in borrowed["messages"] if m["direction"] == "out"]
    assert actions_sent == ["request", "Received", "ShippedReturn"]
    actions_seen = [m["summary"] for m in lender["messages"] if m["direction"] == "in"]
    assert actions_seen == actions_sent
    # request, Received, ShippedReturn one way; WillSupply, Loaned, LoanCompleted the other
    assert peers.messages() == 6
    assert peers.invalid() == []


async def test_a_copy_request_ends_copy_completed(peers: Peers) -> None:
    number = await borrow(peers, HELD_BY_HELKA, service="Copy")
    view = await wait_status(peers.requester, number, "CopyCompleted")
    assert statuses_received(view) == ["WillSupply", "CopyCompleted"]
    delivered = view["messages"][-1]["message"]
    assert delivered["sent_via"] == "URL" and delivered["item_id"]
    assert (await lender_side(peers))["status"] == "CopyCompleted"
    assert peers.invalid() == []


async def test_a_title_without_the_suppliers_low_ends_unfilled(peers: Peers) -> None:
    number = await borrow(peers, HELD_BY_TAY_ONLY)
    view = await wait_status(peers.requester, number, "Unfilled")
    assert view["messages"][-1]["message"]["reason_unfilled"] == "NotHeld"
    lender = await lender_side(peers)
    assert lender["status"] == "Unfilled" and lender["record"] == HELD_BY_TAY_ONLY
    assert peers.invalid() == []


async def test_a_requester_action_out_of_turn_is_refused_by_the_admin_api(peers: Peers) -> None:
    number = await borrow(peers, HELD_BY_TAY_ONLY)
    await wait_status(peers.requester, number, "Unfilled")
    status, body = await admin(
        peers.requester, "POST", f"/requests/{number}/actions", {"action": "Received"}
    )
    assert status == 409 and "Unfilled" in body["error"]
    assert [
        m["summary"]
        for m in (await ill_request(peers.requester, number))["messages"]
        if m["direction"] == "out"
    ] == ["request"]


async def test_many_loans_at_once_send_each_message_once(tmp_path: Path) -> None:
    """Sends settle while the worker reads its list: none may go out a second time."""
    # A minute for a peer to answer: on a loaded machine 20 loans can keep a peer past the
    # default 10 s, and the retry that follows is right, but not the race this test is about.
    async with (
        ill_gateway(tmp_path / "r", ill_timeout_ms=60_000) as requester,
        ill_gateway(tmp_path / "s", ill_timeout_ms=60_000) as supplier,
    ):

        async def loan() -> int:
            _, created = await ask_for_loan(requester, iso_url(supplier))
            number = int(created["id"])
            await wait_status(requester, number, "Loaned", timeout=60)
            await act(requester, number, "Received")
            await settled(requester, number)
            await act(requester, number, "ShippedReturn")
            await wait_status(requester, number, "LoanCompleted", timeout=60)
            return number

        numbers = await asyncio.gather(*(loan() for _ in range(20)))
        for number in numbers:
            view = await settled(requester, number)
            assert view["problem"] == "", view["problem"]
            assert [m["attempts"] for m in view["messages"] if m["direction"] == "out"] == [1, 1, 1]
        _, listed = await admin(supplier, "GET", "/requests")
        for row in listed["requests"]:
            lent = await ill_request(supplier, int(row["id"]))
            assert [m["summary"] for m in lent["messages"] if m["direction"] == "in"] == [
                "request",
                "Received",
                "ShippedReturn",
            ]
            assert lent["status"] == "LoanCompleted"


async def test_both_sides_agree_at_every_step_of_a_slow_loan(tmp_path: Path) -> None:
    """With the lender's steps 1.5 s apart, each state can be read on both sides in between."""
    async with (
        ill_gateway(tmp_path / "r") as requester,
        ill_gateway(tmp_path / "s", ill_delay_ms=1500) as supplier,
    ):
        _, created = await ask_for_loan(requester, iso_url(supplier))
        number = int(created["id"])

        async def both(status: str) -> None:
            await wait_status(requester, number, status)
            _, listed = await admin(supplier, "GET", "/requests")
            assert [r["status"] for r in listed["requests"]] == [status]

        await both("WillSupply")
        await both("Loaned")
        await act(requester, number, "Received")
        await settled(requester, number)
        await act(requester, number, "ShippedReturn")
        await both("LoanCompleted")
