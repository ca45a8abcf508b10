"""Rows both SQL stores read, made into what the store hands out: libraries with their
password hashes, the entries of the significant-change log, the page of a search."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

from gateway.model import Library, ResultSet

LIBRARY_COLUMNS: Final = "code, name, sid_code, level, privileged, password_hash"


def page_of(found: ResultSet, start: int, count: int, whole_within: int) -> list[int]:
    """The ids a search_page reads: positions start..start+count-1 (1-based), or every id
    when the search found at most `whole_within`."""
    if 0 < found.total <= whole_within and len(found.ids) == found.total:
        return found.ids
    return found.ids[start - 1 : start - 1 + count] if count > 0 else []


def library_with_hash(
    row: Sequence[Any], lows: Iterable[str], keys: Iterable[str]
) -> tuple[Library, str]:
    """A row of `LIBRARY_COLUMNS` with its LOWs and SSH keys: the library and its password hash."""
    library = Library(row[0], row[1], row[2], tuple(lows), tuple(keys), row[3], bool(row[4]))
    return library, str(row[5])


def libraries_with_hashes(
    rows: Iterable[Sequence[Any]],
    lows: Iterable[Sequence[str]],
    keys: Iterable[Sequence[str]],
) -> list[tuple[Library, str]]:
    """Rows of `LIBRARY_COLUMNS` with every (code, LOW) and (code, key), each in order."""
    lows_of: dict[str, list[str]] = {}
    for code, low in lows:
        lows_of.setdefault(code, []).append(low)
    keys_of: dict[str, list[str]] = {}
    for code, key in keys:
        keys_of.setdefault(code, []).append(key)
    return [library_with_hash(r, lows_of.get(r[0], ()), keys_of.get(r[0], ())) for r in rows]


def significant_change(row: Sequence[Any]) -> dict[str, Any]:
    """A row of (seq, record, at in epoch seconds, user, library, fields as JSON)."""
    return {
        "seq": row[0],
        "record": f"{row[1]:09d}",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row[2])),  # ISO 8601, UTC
        "user": row[3],
        "library": row[4],
        "fields": json.loads(row[5]),
    }
