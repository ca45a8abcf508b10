"""Every scripted lender scenario, as a raw requester sees it on the wire (all checked by the XSD)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import (
    RawPeer,
    action_xml,
    admin,
    ask_for_loan,
    ill_gateway,
    ill_request,
    iso_url,
    post,
    request_xml,
    schema_errors,
    wait_for,
    wait_status,
)


def all_valid(peer: RawPeer) -> None:
    for body in peer.bodies:
        assert schema_errors(body) == [], body


async def ask(
    supplier: Gateway,
    peer: RawPeer,
    rid: str,
    scenario: str,
    *,
    by_note: bool = False,
    service: str = "Loan",
) -> None:
    body = (
        request_xml(
            rid,
            title="Mikä tahansa",
            note=f"please #SCENARIO:{scenario}# thanks",
            url=peer.url,
            service=service,
        )
        if by_note
        else request_xml(rid, record=scenario, url=peer.url, service=service)
    )
    answer = await post(iso_url(supplier), body)
    assert answer.message_status == "OK", answer.body


@pytest.mark.parametrize("by_note", [False, True])
async def test_loaned(supplier: Gateway, peer: RawPeer, by_note: bool) -> None:
    await ask(supplier, peer, "s-loaned", "LOANED", by_note=by_note)
    await peer.wait_count(1)
    first = peer.messages()[0]
    assert first.findtext(".//{*}reasonForMessage") == "RequestResponse"
    assert first.findtext(".//{*}dueDate") and first.findtext(".//{*}dateSent")
    await post(iso_url(supplier), action_xml("s-loaned", "Received"))
    await post(iso_url(supplier), action_xml("s-loaned", "ShippedReturn"))
    await peer.wait_count(2)
    assert peer.statuses() == ["Loaned", "LoanCompleted"]
    all_valid(peer)


async def test_unfilled(supplier: Gateway, peer: RawPeer) -> None:
    await ask(supplier, peer, "s-unfilled", "UNFILLED")
    await peer.wait_count(1)
    assert peer.statuses() == ["Unfilled"]
    assert peer.messages()[0].findtext(".//{*}reasonUnfilled") == "NotAvailableForILL"
    all_valid(peer)


async def test_willsupply_loaned(supplier: Gateway, peer: RawPeer) -> None:
    await ask(supplier, peer, "s-wl", "WILLSUPPLY_LOANED")
    await peer.wait_count(2)
    assert peer.statuses() == ["WillSupply", "Loaned"]
    reasons = [m.findtext(".//{*}reasonForMessage") for m in peer.messages()]
    assert reasons == ["RequestResponse", "StatusChange"]
    all_valid(peer)


async def test_loaned_overdue_then_renewed(supplier: Gateway, peer: RawPeer) -> None:
    await ask(supplier, peer, "s-od", "LOANED_OVERDUE")
    await peer.wait_count(1)
    await post(iso_url(supplier), action_xml("s-od", "Received"))
    await peer.wait_count(2)
    assert peer.statuses() == ["Loaned", "Overdue"]
    assert (await post(iso_url(supplier), action_xml("s-od", "Renew"))).message_status == "OK"
    await peer.wait_count(3)
    renewal = peer.messages()[-1]
    assert renewal.findtext(".//{*}reasonForMessage") == "RenewResponse"
    assert (renewal.findtext(".//{*}answerYesNo"), renewal.findtext(".//{*}status")) == (
        "Y",
        "Loaned",
    )
    all_valid(peer)


async def test_loaned_recalled(supplier: Gateway, peer: RawPeer) -> None:
    await ask(supplier, peer, "s-rc", "LOANED_RECALLED", by_note=True)
    await peer.wait_count(1)
    await post(iso_url(supplier), action_xml("s-rc", "Received"))
    await peer.wait_count(2)
    assert peer.statuses() == ["Loaned", "Recalled"]
    renew = await post(iso_url(supplier), action_xml("s-rc", "Renew"))
    assert renew.message_status == "OK"
    await peer.wait_count(3)
    assert (
        peer.messages()[-1].findtext(".//{*}answerYesNo") == "N"
    )  # a recalled loan is not renewed
    await post(iso_url(supplier), action_xml("s-rc", "ShippedReturn"))
    await peer.wait_count(4)
    assert peer.statuses() == ["Loaned", "Recalled", "Recalled", "LoanCompleted"]
    all_valid(peer)


async def test_retry_cost(supplier: Gateway, peer: RawPeer) -> None:
    await ask(supplier, peer, "s-rt", "RETRY:COST")  # illmock's spelling works too
    await peer.wait_count(1)
    message = peer.messages()[0]
    assert peer.statuses() == ["RetryPossible"]
    assert message.findtext(".//{*}reasonRetry") == "CostExceedsMaxCost"
    assert message.findtext(".//{*}offeredCosts/{*}monetaryValue") == "35.00"
    assert message.findtext(".//{*}offeredCosts/{*}currencyCode") == "EUR"
    finished = await post(iso_url(supplier), action_xml("s-rt", "Cancel"))
    assert finished.message_status == "ERROR"  # RetryPossible ends this request
    all_valid(peer)


@pytest.mark.parametrize(
    ("service", "status"), [("Copy", "CopyCompleted"), ("Loan", "LoanCompleted")]
)
async def test_completed(supplier: Gateway, peer: RawPeer, service: str, status: str) -> None:
    await ask(supplier, peer, f"s-c-{service}", "COMPLETED", service=service)
    await peer.wait_count(1)
    assert peer.statuses() == [status]
    all_valid(peer)


async def test_error(supplier: Gateway, peer: RawPeer) -> None:
    answer = await post(iso_url(supplier), request_xml("s-err", record="ERROR", url=peer.url))
    assert (answer.message_status, answer.error_type) == ("ERROR", "UnrecognisedDataValue")
    assert "ERROR" in answer.text("errorValue")
    assert (await admin(supplier, "GET", "/requests"))[1]["requests"] == []


async def test_http_error_500(supplier: Gateway, peer: RawPeer) -> None:
    answer = await post(
        iso_url(supplier),
        request_xml("s-500", note="#SCENARIO:HTTP-ERROR-500#", title="x", url=peer.url),
    )
    assert answer.status == 500
    assert (await admin(supplier, "GET", "/requests"))[1]["requests"] == []


async def test_a_gateway_requester_retries_a_500_then_gives_up(
    tmp_path: Path, supplier: Gateway
) -> None:
    async with ill_gateway(tmp_path / "requester", ill_retry_base_ms=150) as requester:
        status, created = await ask_for_loan(requester, iso_url(supplier), "HTTP_ERROR_500")
        assert status == 201

        async def given_up() -> bool:
            view = await ill_request(requester, int(created["id"]))
            return view["messages"][0]["delivery"] == "failed"

        await wait_for(given_up, "the request to be given up")
        view = await ill_request(requester, int(created["id"]))
        assert view["messages"][0]["attempts"] == 3  # ill_retry_limit in the tests
        assert "HTTP 500" in view["problem"] and view["status"] == ""
        _, journal = await admin_journal(requester)
        outcomes = [e["outcome"] for e in journal["entries"] if e["operation"] == "out request"]
        assert outcomes == ["retry 1: HTTP 500", "retry 2: HTTP 500", "failed: HTTP 500"]
        # backoff: the second try waits the base (150 ms), the third twice that
        times = [e["time"] for e in journal["entries"] if e["operation"] == "out request"]
        first, second = times[1] - times[0], times[2] - times[1]
        # (a few ms of slack: an entry is written just after its retry time is set)
        assert first >= 0.13 and second >= 0.27 and second > first


async def test_a_gateway_requester_keeps_the_error_confirmation(
    tmp_path: Path, supplier: Gateway
) -> None:
    async with ill_gateway(tmp_path / "requester") as requester:
        _, created = await ask_for_loan(requester, iso_url(supplier), "ERROR")

        async def refused() -> bool:
            view = await ill_request(requester, int(created["id"]))
            return view["messages"][0]["delivery"] == "rejected"

        await wait_for(refused, "the request to be refused")
        view = await ill_request(requester, int(created["id"]))
        assert view["messages"][0]["attempts"] == 1  # an ERROR confirmation is not retried
        assert "UnrecognisedDataValue" in view["problem"]


async def admin_journal(gw: Gateway) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gw.http_url}/_admin/journal", params={"interface": "iso18626"}) as response,
    ):
        return response.status, await response.json()


async def test_willsupply_then_cancel_ends_cancelled_on_both_gateways(
    tmp_path: Path, supplier: Gateway
) -> None:
    async with ill_gateway(tmp_path / "requester") as requester:
        _, created = await ask_for_loan(requester, iso_url(supplier), "WILLSUPPLY")
        number = int(created["id"])
        await wait_status(requester, number, "WillSupply")
        status, _ = await admin(
            requester, "POST", f"/requests/{number}/actions", {"action": "Cancel"}
        )
        assert status == 202
        await wait_status(requester, number, "Cancelled")
        _, listed = await admin(supplier, "GET", "/requests")
        assert [r["status"] for r in listed["requests"]] == ["Cancelled"]
