"""Each library is an ILL agency: its symbol, and the profile that shapes what it sends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gateway.errors import GatewayError
from gateway.ill.messages import Reason, Status, SupplyingAgencyMessage


class Profile(StrEnum):
    STANDARD = "standard"
    ALMA = "alma"


class AgencyConfigError(GatewayError, ValueError):
    """The `ill_agencies` setting cannot be read."""


@dataclass(frozen=True, slots=True)
class Agency:
    library: str  # the library's code in the library table
    symbol: str  # TYPE:VALUE, e.g. ISIL:FI-Hul
    profile: Profile = Profile.STANDARD


def default_symbol(code: str) -> str:
    return f"MELINDA:{code.upper()}"


def parse_agencies(text: str) -> dict[str, tuple[str, Profile | None]]:
    """`HELKA=ISIL:FI-Hul/alma, TAY=ISIL:FI-Tay` -> {code: (symbol, profile)}."""
    out: dict[str, tuple[str, Profile | None]] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        code, sep, rest = part.partition("=")
        symbol, _, profile = rest.strip().partition("/")
        if not sep or not code.strip() or ":" not in symbol:
            raise AgencyConfigError(
                f"ill_agencies: expected CODE=TYPE:VALUE[/profile], got {part!r}"
            )
        try:
            chosen = Profile(profile.strip().lower()) if profile.strip() else None
        except ValueError as exc:
            raise AgencyConfigError(f"ill_agencies: unknown profile {profile!r}") from exc
        out[code.strip().upper()] = (symbol.strip(), chosen)
    return out


class AgencyTable:
    """The agencies of the library table, with the configured symbols and profiles."""

    def __init__(self, configured: str = "", default_profile: str = "standard") -> None:
        self._configured = parse_agencies(configured)
        try:
            self._default_profile = Profile(default_profile.strip().lower())
        except ValueError as exc:
            raise AgencyConfigError(
                f"ill_default_profile: unknown profile {default_profile!r}"
            ) from exc

    def agency(self, code: str) -> Agency:
        code = code.upper()
        symbol, profile = self._configured.get(code, (default_symbol(code), None))
        return Agency(code, symbol, profile or self._default_profile)

    def by_symbol(self, symbol: str, codes: Iterable[str]) -> Agency | None:
        """The agency of `codes` whose symbol is `symbol` (compared without case)."""
        wanted = symbol.strip().casefold()
        for code in codes:
            agency = self.agency(code)
            if agency.symbol.casefold() == wanted:
                return agency
        return None


COST_NOTE: Final = "Cost: "
CONDITION_NOTE: Final = "Condition: "
_CARRIES_DELIVERY_COSTS: Final = (Status.LOANED, Status.COPY_COMPLETED)


def shape_for_profile(
    message: SupplyingAgencyMessage, profile: Profile
) -> SupplyingAgencyMessage | None:
    """A lender's message as its system would send it (None: that system does not send it).

    Alma never sends ExpectToSupply, sends notifications with an empty status, puts loan
    conditions and costs into the note (shown to staff only for reason Notification), and
    sends deliveryCosts only with Loaned or CopyCompleted.
    """
    if profile is Profile.STANDARD:
        return message
    if message.status is Status.EXPECT_TO_SUPPLY:
        return None
    notes: list[str] = []
    if message.loan_condition:
        notes.append(CONDITION_NOTE + message.loan_condition)
    if message.offered_costs:
        notes.append(COST_NOTE + message.offered_costs)
    delivery_costs = message.delivery_costs
    if delivery_costs and message.status not in _CARRIES_DELIVERY_COSTS:
        notes.append(COST_NOTE + delivery_costs)
        delivery_costs = ""
    reason = message.reason
    if message.offered_costs or message.loan_condition:
        reason = Reason.NOTIFICATION
    note = ", ".join([*notes, message.note] if message.note else notes)
    return dataclasses.replace(
        message,
        reason=reason,
        status=None if message.reason is Reason.NOTIFICATION else message.status,
        note=note,
        offered_costs="",
        loan_condition="",
        delivery_costs=delivery_costs,
    )
