"""Validation on save: errors refuse a write, warnings come back with a successful one."""

from __future__ import annotations

import pymarc

from gateway.errors import Problem


def validate(record: pymarc.Record, *, is_new: bool) -> list[Problem]:
    """Every problem found in `record`; never raises on arbitrary input."""
    raise NotImplementedError("rules: validation")
