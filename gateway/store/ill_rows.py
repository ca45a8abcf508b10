"""The ILL tables' rows as both SQL stores read and change them: the column lists, the row
builders, and the one query that is the same SQL in both dialects."""

from __future__ import annotations

from typing import Any, Final

from gateway.store.ill import IllMessageRow, IllRequestRow, RequestChange

# in the order of the row classes' fields
REQUEST_COLUMNS: Final = (
    "id, role, library, own_symbol, peer_symbol, peer_url, request_id, supplier_request_id,"
    " service, record, scenario, profile, status, received, error, created, updated"
)
MESSAGE_COLUMNS: Final = (
    "id, request, direction, kind, summary, body, delivery, due, attempts, detail, at"
)

# Of each request, the first outgoing message not yet settled: messages of one request go in
# order, so only these may be sent now.
OPEN_HEADS: Final = (
    f"SELECT {MESSAGE_COLUMNS} FROM ill_messages WHERE id IN"
    " (SELECT min(id) FROM ill_messages WHERE delivery IN ('planned', 'pending')"
    " GROUP BY request) ORDER BY due, id"
)


def request_row(row: Any) -> IllRequestRow:
    """A row of `REQUEST_COLUMNS` (SQLite keeps `received` as 0/1)."""
    values = list(row)
    values[13] = bool(values[13])
    return IllRequestRow(*values)


def message_row(row: Any) -> IllMessageRow:
    """A row of `MESSAGE_COLUMNS`."""
    return IllMessageRow(*row)


def changed_columns(change: RequestChange) -> list[tuple[str, object]]:
    """The request columns `change` sets besides `updated`, with their new values."""
    return [
        (column, value)
        for column, value in (
            ("status", change.status),
            ("received", change.received),
            ("error", change.error),
            ("supplier_request_id", change.supplier_request_id),
        )
        if value is not None
    ]
