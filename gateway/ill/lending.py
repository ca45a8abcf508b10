"""What a lending library sends by itself: its steps as messages, planned a delay apart."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

from gateway.ill.agencies import Profile, shape_for_profile
from gateway.ill.base import IllSettings, summary_of
from gateway.ill.messages import (
    Header,
    IllRequest,
    Reason,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    message_json,
    now_text,
)
from gateway.ill.scenarios import Step
from gateway.store import IllRequestRow, NewIllMessage, NewIllRequest


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def lending_steps(request: IllRequest, held: bool, reason_unfilled: str) -> tuple[Step, ...]:
    """What a lending library answers by itself: supplies what it holds, else Unfilled."""
    if not held:
        return (Step(Status.UNFILLED, reason_unfilled=reason_unfilled),)
    if request.service_type is ServiceType.COPY:
        return (Step(Status.WILL_SUPPLY), Step(Status.COPY_COMPLETED))
    return (Step(Status.WILL_SUPPLY), Step(Status.LOANED))


def plan(
    row: NewIllRequest | IllRequestRow,
    profile: Profile,
    steps: tuple[Step, ...],
    settings: IllSettings,
    *,
    first_reason: Reason = Reason.STATUS_CHANGE,
    answer: str = "",
    note: str = "",
) -> list[NewIllMessage]:
    """The lender's next messages as planned rows, a delay apart; each changes the status
    when it is sent, if the status may still change so."""
    planned: list[NewIllMessage] = []
    now = time.time()
    for step in steps:
        message = lender_message(
            row, step, first_reason if not planned else Reason.STATUS_CHANGE, settings
        )
        if answer:
            message = dataclasses.replace(message, answer_yes_no=answer)
        if note:
            message = dataclasses.replace(message, note=note)
        shaped = shape_for_profile(message, profile)
        if shaped is None:
            continue
        due = now + settings.delay * (len(planned) + 1)
        planned.append(
            NewIllMessage(
                "out", shaped.kind, summary_of(shaped), message_json(shaped), "planned", due
            )
        )
    return planned


def lender_message(
    row: NewIllRequest | IllRequestRow, step: Step, reason: Reason, settings: IllSettings
) -> SupplyingAgencyMessage:
    """One of a lender's steps as the message it sends (before its profile shapes it)."""
    header = Header(
        supplying=row.own_symbol,
        requesting=row.peer_symbol,
        requesting_request_id=row.request_id,
        supplying_request_id=row.supplier_request_id,
    )
    message = SupplyingAgencyMessage(
        header,
        reason=reason,
        status=step.status,
        reason_unfilled=step.reason_unfilled,
        reason_retry=step.reason_retry,
        offered_costs=step.offered_costs,
    )
    if step.status is Status.LOANED:
        message = dataclasses.replace(
            message,
            due_date=_later(settings.loan_days),
            date_sent=now_text(),
            item_id=f"{row.library}-{row.record or row.request_id}",
            sent_via="Mail",
            delivered_format="Printed",
            delivery_costs=settings.lending_fee,
        )
    elif step.status is Status.COPY_COMPLETED:
        message = dataclasses.replace(
            message,
            date_sent=now_text(),
            item_id=f"urn:melinda-gateway:copy:{row.supplier_request_id}",
            sent_via="URL",
            delivered_format="PDF",
            delivery_costs=settings.lending_fee,
        )
    return message
