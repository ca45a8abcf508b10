"""The staleness stamp: the `YYYYMMDDhhmmss` (UTC) form of a record's last update in its 024 $d."""

from __future__ import annotations

import re
from datetime import UTC, datetime

STAMP_PATTERN = re.compile(r"^[0-9]{14}$")


def staleness_stamp(updated: int) -> str:
    """Epoch seconds -> `YYYYMMDDhhmmss` in UTC, the form of the staleness 024 $d."""
    return datetime.fromtimestamp(updated, UTC).strftime("%Y%m%d%H%M%S")


def parse_staleness_stamp(stamp: str) -> int | None:
    """`YYYYMMDDhhmmss` (UTC) -> epoch seconds; None when it is no valid timestamp."""
    if not STAMP_PATTERN.match(stamp):
        return None
    try:  # as strptime("%Y%m%d%H%M%S") would, at a tenth of its cost (every update reads one)
        moment = datetime(
            int(stamp[0:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[8:10]),
            int(stamp[10:12]),
            int(stamp[12:14]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return int(moment.timestamp())
