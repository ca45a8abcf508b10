"""Which saves are significant changes other libraries must hear of."""

from __future__ import annotations

import pymarc


def significant_changes(before: pymarc.Record | None, after: pymarc.Record) -> list[str]:
    """Tags among 1XX/240/245/7XX/8XX/080/084 whose content differs between the two records."""
    raise NotImplementedError("rules: significant changes")
