"""The protection merge: what an update may not remove from the stored record."""

from __future__ import annotations

import pymarc


def protection_merge(current: pymarc.Record, incoming: pymarc.Record, *, library: str) -> pymarc.Record:
    """The record to store: `incoming` plus the protected parts of `current` it omitted."""
    raise NotImplementedError("rules: protection merge")
