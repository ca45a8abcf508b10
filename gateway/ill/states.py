"""The ISO 18626 status order as one table, and the rules of which message may come when."""

from __future__ import annotations

from typing import Final

from gateway.ill.messages import Action, Status

# A request's status only moves forward along this order (Loaned and Overdue share a rank:
# a renewal brings an overdue loan back to Loaned); RetryPossible and Unfilled share one too.
RANK: Final[dict[Status | None, int]] = {
    None: 0,
    Status.REQUEST_RECEIVED: 1,
    Status.EXPECT_TO_SUPPLY: 2,
    Status.WILL_SUPPLY: 3,
    Status.RETRY_POSSIBLE: 4,
    Status.UNFILLED: 4,
    Status.LOANED: 5,
    Status.OVERDUE: 5,
    Status.RECALLED: 6,
    Status.CANCELLED: 7,
    Status.COMPLETED_WITHOUT_RETURN: 8,
    Status.COPY_COMPLETED: 9,
    Status.LOAN_COMPLETED: 10,
}

# A request in one of these is finished: no status and no action moves it again
# (a retry after RetryPossible is a new request that names the old one).
TERMINAL: Final = frozenset(
    {
        Status.RETRY_POSSIBLE,
        Status.UNFILLED,
        Status.CANCELLED,
        Status.COMPLETED_WITHOUT_RETURN,
        Status.COPY_COMPLETED,
        Status.LOAN_COMPLETED,
    }
)

ON_LOAN: Final = frozenset({Status.LOANED, Status.OVERDUE, Status.RECALLED})
BEFORE_SHIPPING: Final = frozenset(
    {None, Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
)


def may_become(current: Status | None, new: Status) -> bool:
    """Whether a request in `current` may move to `new` (staying put is allowed)."""
    if current in TERMINAL:
        return False
    return RANK[current] <= RANK[new]


def refusal_of_action(action: Action, current: Status | None, received: bool) -> str | None:
    """Why the requester may not take `action` now (None: it may).

    `received`: the requester has already said Received for this loan.
    """
    if action in (Action.STATUS_REQUEST, Action.NOTIFICATION):
        return None
    if current in TERMINAL:
        return f"the request is {current}: it is finished"
    if action is Action.CANCEL:
        return None  # answered Yes or No by the supplier; refused outright only when finished
    if current not in ON_LOAN:
        return f"{action} needs an item on loan; the request is {current or 'not answered yet'}"
    if action is Action.RECEIVED and received:
        return "the item was already Received"
    if action is Action.SHIPPED_RETURN and not received:
        return "ShippedReturn before Received"
    if action is Action.SHIPPED_FORWARD:
        return "ShippedForward is not supported"
    return None
