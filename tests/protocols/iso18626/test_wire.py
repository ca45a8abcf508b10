"""POST /iso18626 against a raw HTTP peer: malformed, out-of-order and duplicate messages."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import (
    HELD_BY_HELKA,
    HUL,
    TAY,
    RawPeer,
    action_xml,
    admin,
    ask_for_loan,
    document,
    header_xml,
    ill_gateway,
    ill_request,
    iso_url,
    post,
    request_xml,
    schema_errors,
    status_xml,
    wait_status,
    xsd,
)


async def lender_view(gw: Gateway) -> dict[str, object]:
    _, body = await admin(gw, "GET", "/requests")
    (only,) = body["requests"]
    return await ill_request(gw, int(only["id"]))


async def test_only_post_is_allowed(supplier: Gateway) -> None:
    async with aiohttp.ClientSession() as session, session.get(iso_url(supplier)) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"


async def test_a_body_that_is_not_xml_is_415(supplier: Gateway) -> None:
    answer = await post(iso_url(supplier), b'{"request": 1}', content_type="application/json")
    assert answer.status == 415


async def test_xml_that_is_not_well_formed_gets_an_error_confirmation(supplier: Gateway) -> None:
    answer = await post(iso_url(supplier), b"<ISO18626Message><request>")
    assert answer.status == 200
    assert answer.message_status == "ERROR" and answer.error_type == "BadlyFormedMessage"


async def test_a_doctype_is_refused_and_no_entity_is_expanded(supplier: Gateway) -> None:
    body = (
        request_xml("dtd-1", record=HELD_BY_HELKA)
        .replace(
            b"<ill:ISO18626Message",
            b'<!DOCTYPE ill:ISO18626Message [<!ENTITY x SYSTEM "file:///etc/passwd">]><ill:ISO18626Message',
        )
        .replace(b"<title>", b"<title>&x;")
    )
    answer = await post(iso_url(supplier), body)
    assert answer.message_status == "ERROR" and answer.error_type == "BadlyFormedMessage"
    assert b"root:" not in answer.body
    assert (await admin(supplier, "GET", "/requests"))[1]["requests"] == []


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        # an element the standard does not have
        (
            document(
                "<request>"
                + header_xml(HUL, TAY, "x-1")
                + "<bibliographicInfo><colour>red</colour></bibliographicInfo></request>"
            ),
            "UnrecognisedDataElement",
        ),
        # a code outside its list
        (request_xml("x-2", record=HELD_BY_HELKA, service="Borrow"), "UnrecognisedDataValue"),
        # a required element missing: the header without its request id
        (
            document(
                "<request>"
                + header_xml(HUL, TAY, "x-3").replace(
                    "<requestingAgencyRequestId>x-3</requestingAgencyRequestId>", ""
                )
                + "<bibliographicInfo/></request>"
            ),
            "BadlyFormedMessage",
        ),
        # a version this side does not speak
        (
            request_xml("x-4", record=HELD_BY_HELKA).replace(b'"1.2"', b'"2.0"'),
            "UnrecognisedDataValue",
        ),
        # not an ISO 18626 message at all
        (b'<?xml version="1.0"?><order xmlns="urn:x"/>', "BadlyFormedMessage"),
    ],
)
async def test_invalid_messages_get_error_confirmations_with_error_data(
    supplier: Gateway, body: bytes, error_type: str
) -> None:
    answer = await post(iso_url(supplier), body)
    assert answer.status == 200
    assert answer.root is not None and answer.root[0].tag.endswith("requestConfirmation")
    assert answer.message_status == "ERROR"
    assert answer.error_type == error_type, answer.body
    assert answer.text("errorValue")
    assert (await admin(supplier, "GET", "/requests"))[1]["requests"] == []


async def test_the_confirmation_echoes_the_header(supplier: Gateway, peer: RawPeer) -> None:
    answer = await post(
        iso_url(supplier), request_xml("echo-1", record=HELD_BY_HELKA, url=peer.url)
    )
    assert answer.message_status == "OK"
    assert answer.text("requestingAgencyRequestId") == "echo-1"
    assert answer.text("timestampReceived") == "2026-12-01T10:00:00Z"
    assert answer.text("agencyIdValue") == "FI-Hul"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
async def test_older_versions_are_accepted(supplier: Gateway, peer: RawPeer, version: str) -> None:
    body = request_xml(f"v-{version}", record=HELD_BY_HELKA, url=peer.url, version=version)
    assert schema_errors(body)  # unqualified version, no multipleItemRequestId: not 1.2
    answer = await post(iso_url(supplier), body)
    assert answer.message_status == "OK", answer.body
    await peer.wait_count(2)
    assert peer.statuses() == ["WillSupply", "Loaned"]


async def test_an_unknown_agency_or_request_id_is_an_error(supplier: Gateway) -> None:
    answer = await post(
        iso_url(supplier), request_xml("u-1", supplier="ISIL:FI-Nobody", record="1")
    )
    assert (answer.message_status, answer.error_type) == ("ERROR", "UnrecognisedDataValue")
    answer = await post(iso_url(supplier), action_xml("never-sent", "Received"))
    assert (answer.message_status, answer.error_type) == ("ERROR", "UnrecognisedDataValue")
    assert answer.root is not None and answer.root[0].tag.endswith(
        "requestingAgencyMessageConfirmation"
    )
    assert answer.text("action") == "Received"
    answer = await post(
        iso_url(supplier), status_xml("never-sent", "Loaned", supplier=HUL, requester=TAY)
    )
    assert (answer.message_status, answer.error_type) == ("ERROR", "UnrecognisedDataValue")
    assert answer.text("reasonForMessage") == "StatusChange"


async def test_duplicate_and_out_of_order_actions_are_refused_and_change_nothing(
    supplier: Gateway, peer: RawPeer
) -> None:
    url = iso_url(supplier)
    assert (
        await post(url, request_xml("d-1", record=HELD_BY_HELKA, url=peer.url))
    ).message_status == "OK"
    await peer.wait_count(2)
    # the same request again
    again = await post(url, request_xml("d-1", record=HELD_BY_HELKA, url=peer.url))
    assert (again.message_status, again.error_type) == ("ERROR", "UnrecognisedDataValue")
    before = await lender_view(supplier)
    assert before["status"] == "Loaned"
    # ShippedReturn before Received
    early = await post(url, action_xml("d-1", "ShippedReturn"))
    assert (early.message_status, early.error_type) == ("ERROR", "UnsupportedActionType")
    assert await lender_view(supplier) == before
    assert (await post(url, action_xml("d-1", "Received"))).message_status == "OK"
    twice = await post(url, action_xml("d-1", "Received"))
    assert (twice.message_status, twice.error_type) == ("ERROR", "UnsupportedActionType")
    assert (await post(url, action_xml("d-1", "ShippedReturn"))).message_status == "OK"
    await peer.wait_count(3)
    assert peer.statuses() == ["WillSupply", "Loaned", "LoanCompleted"]
    done = await lender_view(supplier)
    for action in ("Received", "ShippedReturn", "Renew", "Cancel"):
        late = await post(url, action_xml("d-1", action))
        assert late.message_status == "ERROR", action
    assert await lender_view(supplier) == done
    assert len(peer.received) == 3


async def test_cancel_is_accepted_before_shipping_and_refused_once_loaned(
    supplier: Gateway, peer: RawPeer
) -> None:
    url = iso_url(supplier)
    await post(url, request_xml("c-1", record="WILLSUPPLY", url=peer.url))
    await peer.wait_count(1)
    assert (await post(url, action_xml("c-1", "Cancel"))).message_status == "OK"
    await peer.wait_count(2)
    answer = peer.messages()[-1]
    assert answer.findtext(".//{*}reasonForMessage") == "CancelResponse"
    assert (answer.findtext(".//{*}answerYesNo"), answer.findtext(".//{*}status")) == (
        "Y",
        "Cancelled",
    )

    await post(url, request_xml("c-2", record="LOANED", url=peer.url))
    await peer.wait_count(3)
    assert (await post(url, action_xml("c-2", "Cancel"))).message_status == "OK"
    await peer.wait_count(4)
    refused = peer.messages()[-1]
    assert refused.findtext(".//{*}reasonForMessage") == "CancelResponse"
    assert (refused.findtext(".//{*}answerYesNo"), refused.findtext(".//{*}status")) == (
        "N",
        "Loaned",
    )
    for body in peer.bodies:
        assert schema_errors(body) == []


async def test_a_requester_refuses_statuses_out_of_order(tmp_path: Path, peer: RawPeer) -> None:
    """The gateway as requester; the raw peer as a lender sending what it likes."""
    xsd()
    async with ill_gateway(tmp_path / "requester") as gw:
        status, created = await ask_for_loan(gw, peer.url)
        assert status == 201
        await peer.wait_count(1)
        request = peer.messages()[0]
        assert schema_errors(peer.bodies[0]) == []
        assert request.findtext(".//{*}title") == "Seitsemän veljestä."
        assert request.findtext(".//{*}bibliographicItemIdentifier") == "9789510000007"
        rid = created["requesting_agency_request_id"]
        url = iso_url(gw)
        assert (
            await post(url, status_xml(rid, "WillSupply", reason="RequestResponse"))
        ).message_status == "OK"
        assert (await post(url, status_xml(rid, "Loaned"))).message_status == "OK"
        assert (
            await post(url, status_xml(rid, "Loaned"))
        ).message_status == "OK"  # a repeat: no change
        backwards = await post(url, status_xml(rid, "WillSupply"))
        assert (backwards.message_status, backwards.error_type) == (
            "ERROR",
            "UnrecognisedDataValue",
        )
        assert backwards.root is not None and backwards.root[0].tag.endswith(
            "supplyingAgencyMessageConfirmation"
        )
        unknown = await post(url, status_xml("nobody-asked", "Loaned"))
        assert unknown.error_type == "UnrecognisedDataValue"
        wrong_library = await post(url, status_xml(rid, "Loaned", requester="ISIL:FI-Jyu"))
        assert wrong_library.error_type == "UnrecognisedDataValue"
        assert (await post(url, status_xml(rid, "LoanCompleted"))).message_status == "OK"
        after_end = await post(url, status_xml(rid, "Overdue"))
        assert after_end.message_status == "ERROR"
        repeated_end = await post(url, status_xml(rid, "LoanCompleted"))  # a finished request
        assert (repeated_end.message_status, repeated_end.error_type) == (
            "ERROR",
            "UnrecognisedDataValue",
        )
        view = await wait_status(gw, int(created["id"]), "LoanCompleted")
        kept = [m["summary"] for m in view["messages"] if m["direction"] == "in"]
        assert kept == [
            "RequestResponse WillSupply",
            "StatusChange Loaned",
            "StatusChange Loaned",
            "StatusChange LoanCompleted",
        ]


async def test_a_message_too_large_is_refused_unread(supplier: Gateway) -> None:
    huge = request_xml("big-1", record=HELD_BY_HELKA, note="x" * (1024 * 1024 + 10))
    answer = await post(iso_url(supplier), huge)
    assert (answer.message_status, answer.error_type) == ("ERROR", "BadlyFormedMessage")
    assert "larger than" in answer.text("errorValue")


async def test_without_the_schema_file_the_gateway_checks_structure_itself(
    tmp_path: Path, peer: RawPeer
) -> None:
    xsd()  # the answers are still checked here
    async with ill_gateway(tmp_path / "data", iso18626_schema=str(tmp_path / "absent.xsd")) as gw:
        bad = await post(iso_url(gw), request_xml("ns-1", record=HELD_BY_HELKA, service="Borrow"))
        assert (bad.message_status, bad.error_type) == ("ERROR", "UnrecognisedDataValue")
        good = await post(iso_url(gw), request_xml("ns-2", record=HELD_BY_HELKA, url=peer.url))
        assert good.message_status == "OK"
        await peer.wait_count(2)
        assert peer.statuses() == ["WillSupply", "Loaned"]
        for body in peer.bodies:
            assert schema_errors(body) == []


async def test_status_request_and_notification_change_nothing(
    supplier: Gateway, peer: RawPeer
) -> None:
    url = iso_url(supplier)
    await post(url, request_xml("sr-1", record=HELD_BY_HELKA, url=peer.url))
    await peer.wait_count(2)
    before = await lender_view(supplier)
    assert (await post(url, action_xml("sr-1", "StatusRequest"))).message_status == "OK"
    await peer.wait_count(3)
    answer = peer.messages()[-1]
    assert answer.findtext(".//{*}reasonForMessage") == "StatusRequestResponse"
    assert answer.findtext(".//{*}status") == "Loaned"
    assert (await post(url, action_xml("sr-1", "Notification"))).message_status == "OK"
    after = await lender_view(supplier)
    assert (after["status"], after["received"]) == (before["status"], before["received"])
    inbound = [m["summary"] for m in after["messages"] if m["direction"] == "in"]
    assert inbound == ["request", "StatusRequest", "Notification"]
    outbound = [m["summary"] for m in after["messages"] if m["direction"] == "out"]
    # a Notification is not answered with a message of its own
    assert outbound == [
        "RequestResponse WillSupply",
        "StatusChange Loaned",
        "StatusRequestResponse Loaned",
    ]
    for body in peer.bodies:
        assert schema_errors(body) == []
