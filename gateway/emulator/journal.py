"""The request journal: a bounded in-memory ring of what every interface was asked and answered."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

INTERFACES: Final = ("sru", "xserver", "oai-pmh", "z3950", "sftp", "iso18626", "admin")
MASK: Final = "***"
# How much of each answer is kept: enough to see its kind and first record, bounded per entry.
RESPONSE_CHARS: Final = 2000
# Parameter names whose values never reach the journal (compared in lower case).
SECRET_NAMES: Final = frozenset(
    {
        "staff_pass",
        "user_password",
        "password",
        "passwd",
        "pass",
        "authorization",
        "x-password",
        "token",
        "admin_token",
    }
)


# Parameters that name who is asking, in the order they are believed.
USER_NAMES: Final = ("user_name", "staff_user", "user")


def user_of(parameters: Mapping[str, Any]) -> str:
    """The user a request names (X-server's user_name/staff_user, Z39.50's Init user), upper
    case as user names match; "" for none."""
    for name in USER_NAMES:
        value = str(parameters.get(name, "") or "").strip()
        if value:
            return value.upper()
    return ""


def mask(parameters: Mapping[str, Any]) -> dict[str, str]:
    """The parameters as text, with every secret's value replaced by `***`."""
    out: dict[str, str] = {}
    for name, value in parameters.items():
        lowered = name.lower()
        secret = lowered in SECRET_NAMES or "password" in lowered or "secret" in lowered
        out[name] = MASK if secret else _short(str(value))
    return out


def _short(text: str, limit: int = 500) -> str:
    """Long values (a whole MARCXML record) are cut: the journal shows what was asked, not all of it."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One request: when, over which interface, from whom, what, and how it ended."""

    number: int
    time: float  # epoch seconds
    interface: str
    client: str
    operation: str
    parameters: dict[str, str] = field(default_factory=dict)
    response: str = ""  # the start of what was answered (HTTP interfaces), for the console
    outcome: str = "ok"
    duration_ms: float = 0.0
    user: str = ""  # the staff user or library, when the request names one

    def as_json(self) -> dict[str, Any]:
        # field by field: dataclasses.asdict deep-copies, and workers hand every entry on
        data = {name: getattr(self, name) for name in _ENTRY_FIELDS}
        data["parameters"] = dict(self.parameters)
        data["time_iso"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time))
        return data


_ENTRY_FIELDS: Final = tuple(f.name for f in fields(Entry))


class Journal:
    """The last `size` requests, oldest dropped first. Safe to use from the event loop only."""

    def __init__(
        self, size: int = 10_000, *, on_record: Callable[[Entry], None] | None = None
    ) -> None:
        self.size = max(1, size)
        self._entries: deque[Entry] = deque(maxlen=self.size)
        self._numbers = itertools.count(1)
        self.on_record = on_record  # told of every entry: the gateway's access log

    def record(
        self,
        interface: str,
        operation: str,
        *,
        client: str = "",
        parameters: Mapping[str, Any] | None = None,
        response: str = "",
        outcome: str = "ok",
        duration_ms: float = 0.0,
        at: float | None = None,
        user: str | None = None,
    ) -> Entry:
        """Add one entry (parameters are masked here, so no caller can forget) and tell
        `on_record`; `user` defaults to the user the parameters name."""
        entry = Entry(
            number=next(self._numbers),
            time=time.time() if at is None else at,
            interface=interface,
            client=client,
            operation=operation,
            parameters=mask(parameters or {}),
            response=_short(response, RESPONSE_CHARS),
            outcome=outcome,
            duration_ms=round(duration_ms, 3),
            user=user_of(parameters or {}) if user is None else user,
        )
        self._entries.append(entry)
        if self.on_record is not None:
            self.on_record(entry)
        return entry

    def entries(
        self,
        *,
        interface: str | Iterable[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        wanted = {interface} if isinstance(interface, str) else interface
        wanted_set = set(wanted) if wanted is not None else None
        found = [
            e
            for e in self._entries
            if (wanted_set is None or e.interface in wanted_set)
            and (since is None or e.time >= since)
            and (until is None or e.time <= until)
            and (operation is None or e.operation == operation)
        ]
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found

    def after(self, number: int) -> list[Entry]:
        """The entries numbered above `number`, oldest first: read from the newest end, so
        a worker handing on its latest entries does not walk the whole ring each time."""
        fresh: list[Entry] = []
        for entry in reversed(self._entries):
            if entry.number <= number:
                break
            fresh.append(entry)
        fresh.reverse()
        return fresh

    def clear(self) -> None:
        self._entries.clear()

    def adopt(self, entry: Entry) -> None:
        """Hold an entry made elsewhere (another worker's), as it is."""
        self._entries.append(entry)

    def __len__(self) -> int:
        return len(self._entries)
