"""The staleness and CAT-conflict checks that keep a stale copy from overwriting newer data."""

from __future__ import annotations

import pymarc


def check_staleness(
    incoming: pymarc.Record, current: pymarc.Record, *, record_id: int, current_updated: int
) -> None:
    """Raise StaleRecordError / CatConflictError when `incoming` was built from an older copy."""
    raise NotImplementedError("rules: staleness")
