"""The fin01alma view (downstream) and the upstream conversion of Alma-form records."""

from __future__ import annotations

import pymarc


def fin01alma_view(record: pymarc.Record, *, record_id: int, updated: int, deleted: bool) -> pymarc.Record:
    """Melinda's record as Alma consumes it (SPEC section 3, downstream). Returns a new record."""
    raise NotImplementedError("rules: downstream conversion")


def is_alma_form(record: pymarc.Record) -> bool:
    """Whether an incoming record arrives in Alma's form (carries the 024 staleness field)."""
    raise NotImplementedError("rules: Alma form detection")


def from_alma(record: pymarc.Record) -> pymarc.Record:
    """The exact inverse of `fin01alma_view` (without the staleness 024). Returns a new record."""
    raise NotImplementedError("rules: upstream conversion")
