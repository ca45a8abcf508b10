"""Which saves are significant changes other libraries must hear of.

A save is significant when the content of any main entry (100/110/111/130), title
(240/245), added entry (700/710/711/730), series added entry (800/810/811/830) or
classification (080/084) changed: the fields of that tag, in order, are compared whole
(indicators and every subfield). A new record (`before` is None) is significant for every
such tag it has.
"""

from __future__ import annotations

import pymarc

from gateway.rules.fields import FieldKey, field_key

SIGNIFICANT_TAGS = frozenset(
    {
        "100", "110", "111", "130",
        "240", "245",
        "700", "710", "711", "730",
        "800", "810", "811", "830",
        "080", "084",
    }
)  # fmt: skip


def _by_tag(record: pymarc.Record) -> dict[str, list[FieldKey]]:
    found: dict[str, list[FieldKey]] = {}
    for field in record.fields:
        if field.tag in SIGNIFICANT_TAGS:
            found.setdefault(field.tag, []).append(field_key(field))
    return found


def significant_changes(before: pymarc.Record | None, after: pymarc.Record) -> list[str]:
    """Tags among 1XX/240/245/7XX/8XX/080/084 whose content differs between the two records."""
    old = _by_tag(before) if before is not None else {}
    new = _by_tag(after)
    return sorted(tag for tag in old.keys() | new.keys() if old.get(tag) != new.get(tag))
