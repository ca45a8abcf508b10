"""X-server sessions and result sets across worker processes: read from the shared state
before a request, written back after it, so a session opened on one worker serves on another.

Used only when the gateway runs several workers (`serve --workers N`); a single process keeps
sessions in memory alone (sessions.py).
"""

from __future__ import annotations

import json
from array import array
from typing import Any, Final

from gateway.model import User, View
from protocols.host import SharedState
from protocols.xserver.sessions import MAX_SET_NUMBER, Session, SessionStore, StoredSet

SESSIONS: Final = "xserver-session"
SETS: Final = "xserver-set"
SET_NUMBERS: Final = "xserver-set-number"


def encode_session(session: Session) -> bytes:
    user: dict[str, Any] | None = None
    if session.user is not None:
        u = session.user
        user = {
            "name": u.name,
            "library": u.library,
            "level": u.level,
            "lows": sorted(u.lows),
            "privileged": u.privileged,
        }
    data = {"user": user, "credentials": session.credentials.hex(), "sets": session.set_numbers}
    return json.dumps(data, separators=(",", ":")).encode()


def decode_session(session_id: str, value: bytes) -> Session:
    data = json.loads(value)
    user = data.get("user")
    return Session(
        id=session_id,
        last_used=0.0,
        user=None
        if user is None
        else User(
            name=user["name"],
            library=user["library"],
            level=int(user["level"]),
            lows=frozenset(user["lows"]),
            privileged=bool(user["privileged"]),
        ),
        credentials=bytes.fromhex(data["credentials"]),
        set_numbers=[int(n) for n in data["sets"]],
    )


def encode_set(stored: StoredSet) -> bytes:
    head = json.dumps(
        {"session": stored.session_id, "total": stored.total, "view": stored.view.value}
    ).encode()
    return head + b"\n" + stored.ids.tobytes()


def decode_set(number: int, value: bytes) -> StoredSet:
    head, _, body = value.partition(b"\n")
    data = json.loads(head)
    ids: array[int] = array("q")
    ids.frombytes(body)
    return StoredSet(number, str(data["session"]), ids, int(data["total"]), View(data["view"]))


State = tuple[User | None, bytes, tuple[int, ...]]


def _state(session: Session) -> State:
    return (session.user, session.credentials, tuple(session.set_numbers))


class SharedSessions:
    """The shared half of one worker's SessionStore."""

    def __init__(self, sessions: SessionStore, shared: SharedState) -> None:
        self.sessions = sessions
        self.shared = shared

    async def restore(self, session_id: str | None, set_number: int | None) -> None:
        """Take the named session and the named set from the shared state, if they are there."""
        if session_id:
            value = await self.shared.get(SESSIONS, session_id)
            if value is not None:
                self.sessions.adopt(decode_session(session_id, value))
        if set_number is not None and not self.sessions.has_set(set_number):
            value = await self.shared.get(SETS, str(set_number))
            if value is not None:
                self.sessions.adopt_set(decode_set(set_number, value))

    async def next_set_number(self) -> int:
        return await self.shared.next_number(SET_NUMBERS, wrap=MAX_SET_NUMBER)

    def state_of(self, session: Session) -> State:
        return _state(session)

    async def save(self, session: Session, before: State | None) -> None:
        """Write the session back if it is new or changed, with the sets it made."""
        ttl = self.sessions.ttl
        if before is not None and _state(session) == before:
            return
        earlier = set(before[2]) if before is not None else set()
        for number in session.set_numbers:
            if number in earlier:
                continue
            stored = self.sessions.get_set(session, number)
            if stored is not None:
                await self.shared.put(SETS, str(number), encode_set(stored), ttl=ttl)
        await self.shared.put(SESSIONS, session.id, encode_session(session), ttl=ttl)
