"""Scripted lender behaviour for tests, as Index Data's illmock offers it: a name -> timed steps.

A request picks one with a note `#SCENARIO:NAME#` or a supplierUniqueRecordId `NAME`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gateway.ill.messages import IllRequest, ServiceType, Status


@dataclass(frozen=True, slots=True)
class Step:
    """One supplying agency message the lender sends by itself, a delay after the last."""

    status: Status
    reason_unfilled: str = ""
    reason_retry: str = ""
    offered_costs: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    on_request: tuple[Step, ...] = ()  # sent after the request is confirmed
    on_received: tuple[Step, ...] = ()  # sent after the requester says Received
    confirmation_error: bool = False  # the request itself is answered ERROR
    http_status: int = 0  # the request is answered with this bare HTTP status


LOANED: Final = Step(Status.LOANED)
SCENARIOS: Final[dict[str, Scenario]] = {
    s.name: s
    for s in (
        Scenario("LOANED", on_request=(LOANED,)),
        Scenario(
            "UNFILLED", on_request=(Step(Status.UNFILLED, reason_unfilled="NotAvailableForILL"),)
        ),
        Scenario("WILLSUPPLY", on_request=(Step(Status.WILL_SUPPLY),)),
        Scenario("WILLSUPPLY_LOANED", on_request=(Step(Status.WILL_SUPPLY), LOANED)),
        Scenario(
            "EXPECTTOSUPPLY_LOANED",
            on_request=(Step(Status.EXPECT_TO_SUPPLY), Step(Status.WILL_SUPPLY), LOANED),
        ),
        Scenario("LOANED_OVERDUE", on_request=(LOANED,), on_received=(Step(Status.OVERDUE),)),
        Scenario("LOANED_RECALLED", on_request=(LOANED,), on_received=(Step(Status.RECALLED),)),
        Scenario(
            "RETRY_COST",
            on_request=(
                Step(
                    Status.RETRY_POSSIBLE,
                    reason_retry="CostExceedsMaxCost",
                    offered_costs="35.00 EUR",
                ),
            ),
        ),
        Scenario("COMPLETED"),  # its step depends on the service type: completed()
        Scenario("ERROR", confirmation_error=True),
        Scenario("HTTP_ERROR_500", http_status=500),
    )
}
# illmock's own spellings
ALIASES: Final = {"RETRY:COST": "RETRY_COST", "HTTP-ERROR-500": "HTTP_ERROR_500"}

_NOTE_MARK: Final = re.compile(r"#SCENARIO:([A-Z0-9_:-]+)#")


def scenario_name(text: str) -> str | None:
    name = text.strip().upper()
    name = ALIASES.get(name, name)
    return name if name in SCENARIOS else None


def scenario_of(request: IllRequest) -> Scenario | None:
    """The scripted outcome a request asks for, or None: the catalog decides."""
    found = _NOTE_MARK.search(request.note)
    name = scenario_name(found.group(1)) if found else None
    if name is None:
        name = scenario_name(request.supplier_unique_record_id)
    if name is None:
        return None
    scenario = SCENARIOS[name]
    if name == "COMPLETED":
        copy = request.service_type is ServiceType.COPY
        done = Status.COPY_COMPLETED if copy else Status.LOAN_COMPLETED
        return Scenario(name, on_request=(Step(done),))
    return scenario
