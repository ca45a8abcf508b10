"""The ILL domain's pure parts: the status order, scenarios, agencies and profiles, the codec."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from lxml import etree

from gateway.ill import (
    SCENARIOS,
    TERMINAL,
    Action,
    AgencyConfigError,
    AgencyTable,
    Header,
    IllRequest,
    Profile,
    Reason,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    may_become,
    scenario_of,
    shape_for_profile,
)
from gateway.ill.messages import message_from_json, message_json
from gateway.ill.states import RANK, refusal_of_action
from protocols.iso18626.codec import MessageRefused, read_message, write_message
from protocols.iso18626.schema import load_schema
from tests.conftest import shared_schema

HEADER = Header("ISIL:FI-Hul", "ISIL:FI-Tay", "TAY-1", supplying_request_id="HELKA-1")


def test_terminal_states_are_never_left() -> None:
    for current, new in itertools.product(TERMINAL, Status):
        assert not may_become(current, new), (current, new)


def test_the_status_order_only_moves_forward() -> None:
    assert may_become(None, Status.WILL_SUPPLY)
    assert may_become(Status.WILL_SUPPLY, Status.LOANED)
    assert may_become(Status.OVERDUE, Status.LOANED)  # a renewal
    assert may_become(Status.LOANED, Status.LOANED)  # a repeat
    assert may_become(Status.RECALLED, Status.LOAN_COMPLETED)
    assert not may_become(Status.LOANED, Status.WILL_SUPPLY)
    assert not may_become(Status.RECALLED, Status.OVERDUE)
    assert set(RANK) == {None, *Status}


@pytest.mark.parametrize(
    ("action", "current", "received", "allowed"),
    [
        (Action.RECEIVED, Status.LOANED, False, True),
        (Action.RECEIVED, Status.LOANED, True, False),
        (Action.RECEIVED, Status.WILL_SUPPLY, False, False),
        (Action.SHIPPED_RETURN, Status.LOANED, False, False),
        (Action.SHIPPED_RETURN, Status.RECALLED, True, True),
        (Action.RENEW, Status.OVERDUE, True, True),
        (Action.CANCEL, Status.WILL_SUPPLY, False, True),
        (Action.CANCEL, Status.LOAN_COMPLETED, True, False),
        (Action.NOTIFICATION, Status.LOAN_COMPLETED, True, True),
    ],
)
def test_which_actions_a_requester_may_take(
    action: Action, current: Status, received: bool, allowed: bool
) -> None:
    assert (refusal_of_action(action, current, received) is None) is allowed


def test_a_scenario_is_named_by_a_note_or_the_record_id() -> None:
    by_note = IllRequest(
        HEADER, supplier_unique_record_id="000000001", note="x #SCENARIO:LOANED_OVERDUE# y"
    )
    by_record = IllRequest(HEADER, supplier_unique_record_id="unfilled")
    illmock_spelling = IllRequest(HEADER, supplier_unique_record_id="RETRY:COST")
    assert (scenario := scenario_of(by_note)) is not None and scenario.name == "LOANED_OVERDUE"
    assert (scenario := scenario_of(by_record)) is not None and scenario.name == "UNFILLED"
    assert (scenario := scenario_of(illmock_spelling)) is not None and scenario.name == "RETRY_COST"
    assert scenario_of(IllRequest(HEADER, supplier_unique_record_id="000000001")) is None
    copy = scenario_of(
        IllRequest(HEADER, supplier_unique_record_id="COMPLETED", service_type=ServiceType.COPY)
    )
    assert copy is not None and [s.status for s in copy.on_request] == [Status.COPY_COMPLETED]
    for name in (
        "LOANED",
        "UNFILLED",
        "WILLSUPPLY_LOANED",
        "LOANED_OVERDUE",
        "LOANED_RECALLED",
        "RETRY_COST",
        "COMPLETED",
        "ERROR",
        "HTTP_ERROR_500",
    ):
        assert name in SCENARIOS


def test_agencies_come_from_the_setting_or_a_default() -> None:
    table = AgencyTable("HELKA=ISIL:FI-Hul/alma; TAY=ISIL:FI-Tay")
    assert (
        table.agency("helka").symbol == "ISIL:FI-Hul"
        and table.agency("HELKA").profile is Profile.ALMA
    )
    assert table.agency("TAY").profile is Profile.STANDARD
    assert table.agency("JYU").symbol == "MELINDA:JYU"
    assert table.by_symbol("isil:fi-hul", ["TAY", "HELKA"]) == table.agency("HELKA")
    assert table.by_symbol("ISIL:FI-Hul", ["TAY"]) is None
    with pytest.raises(AgencyConfigError):
        AgencyTable("HELKA")
    with pytest.raises(AgencyConfigError):
        AgencyTable("HELKA=ISIL:FI-Hul/voyager")


def test_the_alma_profile_shapes_what_a_lender_sends() -> None:
    base = SupplyingAgencyMessage(HEADER, Reason.STATUS_CHANGE, Status.EXPECT_TO_SUPPLY)
    assert shape_for_profile(base, Profile.ALMA) is None
    assert shape_for_profile(base, Profile.STANDARD) == base
    costly = dataclasses.replace(
        base,
        status=Status.WILL_SUPPLY,
        offered_costs="10.00 EUR",
        loan_condition="LibraryUseOnly",
        delivery_costs="2.00 EUR",
        note="Hello",
    )
    shaped = shape_for_profile(costly, Profile.ALMA)
    assert shaped is not None
    assert shaped.reason is Reason.NOTIFICATION and shaped.status is Status.WILL_SUPPLY
    assert shaped.note == "Condition: LibraryUseOnly, Cost: 10.00 EUR, Cost: 2.00 EUR, Hello"
    assert (shaped.offered_costs, shaped.loan_condition, shaped.delivery_costs) == ("", "", "")
    loaned = dataclasses.replace(base, status=Status.LOANED, delivery_costs="2.00 EUR")
    assert (
        shape := shape_for_profile(loaned, Profile.ALMA)
    ) is not None and shape.delivery_costs == "2.00 EUR"
    notification = dataclasses.replace(base, reason=Reason.NOTIFICATION, status=Status.LOANED)
    assert (
        shape := shape_for_profile(notification, Profile.ALMA)
    ) is not None and shape.status is None


MESSAGES = [
    IllRequest(
        HEADER,
        supplier_unique_record_id="000000001",
        title="Seitsemän veljestä",
        author="Kivi",
        isbn="9789510000007",
        service_type=ServiceType.LOAN,
        request_type="New",
        note="Kiitos",
        requester_url="http://127.0.0.1:1/iso18626",
        requester_name="Tampere",
    ),
    SupplyingAgencyMessage(
        HEADER,
        Reason.STATUS_CHANGE,
        Status.LOANED,
        due_date="2027-01-01T00:00:00Z",
        date_sent="2026-12-01T10:00:00Z",
        item_id="HELKA-1",
        sent_via="Mail",
        delivery_costs="5.00 EUR",
    ),
    SupplyingAgencyMessage(
        HEADER,
        Reason.REQUEST_RESPONSE,
        Status.RETRY_POSSIBLE,
        reason_retry="CostExceedsMaxCost",
        offered_costs="35.00 EUR",
    ),
    RequestingAgencyMessage(HEADER, Action.SHIPPED_RETURN, note="Palautettu"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_messages_survive_the_store_and_the_wire(message: object) -> None:
    schema = load_schema(shared_schema("ISO-18626-v1_2.xsd"))
    assert schema is not None
    assert message_from_json(message_json(message)) == message  # type: ignore[arg-type]
    wire = write_message(message, schema)  # type: ignore[arg-type]
    assert schema.xsd.validate(etree.fromstring(wire))
    assert read_message(wire, schema) == message


def test_without_the_schema_the_codec_still_checks_structure_and_codes(tmp_path: Path) -> None:
    assert load_schema(tmp_path / "absent.xsd") is None
    wire = write_message(MESSAGES[3], None)
    assert read_message(wire, None) == MESSAGES[3]
    with pytest.raises(MessageRefused) as bad_code:
        read_message(wire.replace(b"ShippedReturn", b"Teleported"), None)
    assert bad_code.value.error.error_type == "UnrecognisedDataValue"
    assert bad_code.value.header == HEADER  # kept for the confirmation's echo
    no_bib = write_message(MESSAGES[0], None).replace(b"bibliographicInfo", b"publicationInfo")
    with pytest.raises(MessageRefused) as badly:
        read_message(no_bib, None)
    assert badly.value.error.error_type == "BadlyFormedMessage"
