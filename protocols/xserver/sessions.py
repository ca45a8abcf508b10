"""X-server sessions: the session id Aleph hands out, cached staff credentials and result sets.

Sessions live in memory, expire after `xserver_session_ttl` seconds idle and are bounded in
number (least recently used dropped first). Result sets belong to the session that made them
(a client that sends no session id may still reach a set by its number, as in Aleph), are
numbered with Aleph's 6-digit set numbers, and are bounded per session and in total
entries, so that no client can hold the process's memory. Credentials are kept only as an
HMAC digest of user name and password, never the password itself.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from gateway.model import User, View

SESSION_ID_LENGTH: Final = 50  # as long as Aleph's session ids
MAX_SET_NUMBER: Final = 999_999


@dataclass(slots=True)
class StoredSet:
    """A find's result: the ids in order (compact), the hit count, the base it was made in."""

    number: int
    session_id: str
    ids: array[int]
    total: int
    view: View

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(slots=True)
class Session:
    id: str
    last_used: float
    user: User | None = None
    credentials: bytes = b""
    set_numbers: list[int] = field(default_factory=list)


class SessionStore:
    """Every live X-server session of one gateway."""

    def __init__(
        self,
        *,
        ttl: float,
        secret: bytes = b"",
        max_sessions: int = 2_000,
        max_sets_per_session: int = 20,
        max_total_entries: int = 2_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._key = secret or secrets.token_bytes(32)
        self.max_sessions = max_sessions
        self.max_sets_per_session = max_sets_per_session
        self.max_total_entries = max_total_entries
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._sets: OrderedDict[int, StoredSet] = OrderedDict()  # oldest first
        self._entries = 0
        self._next_set = 1
        self._random = b""  # unused random bytes for session ids

    # --- sessions ------------------------------------------------------------------
    def session(self, session_id: str | None) -> Session:
        """The live session of that id, or a new one (unknown or expired ids get a new id)."""
        now = self._clock()
        self._expire(now)
        if session_id:
            found = self._sessions.get(session_id)
            if found is not None:
                found.last_used = now
                self._sessions.move_to_end(found.id)
                return found
        while len(self._sessions) >= self.max_sessions:
            _, oldest = self._sessions.popitem(last=False)
            self._drop_sets(oldest)
        new = Session(id=self._new_id(), last_used=now)
        self._sessions[new.id] = new
        return new

    def __len__(self) -> int:
        return len(self._sessions)

    def held(self, session_id: str | None) -> Session | None:
        """The session of that id if this process holds it, not yet expired (left as it is)."""
        found = self._sessions.get(session_id) if session_id else None
        if found is None or self._clock() - found.last_used > self.ttl:
            return None
        return found

    def _new_id(self) -> str:
        while True:
            if not self._random:
                # one system call for 64 ids: a client without cookies gets one per request
                self._random = secrets.token_bytes(32 * 64)
            taken, self._random = self._random[:32], self._random[32:]
            candidate = base64.b32encode(taken).decode()[:SESSION_ID_LENGTH]
            if candidate not in self._sessions:
                return candidate

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now - oldest.last_used <= self.ttl:
                break
            del self._sessions[oldest.id]
            self._drop_sets(oldest)

    # --- credentials ---------------------------------------------------------------
    def _digest(self, user_name: str, password: str) -> bytes:
        message = user_name.strip().lower().encode() + b"\0" + password.encode()
        return hmac.digest(self._key, message, "sha256")  # one C call: every update-doc asks

    def cached_user(self, session: Session, user_name: str, password: str) -> User | None:
        """The user this session already authenticated with exactly these credentials."""
        if session.user is None or not session.credentials:
            return None
        if hmac.compare_digest(session.credentials, self._digest(user_name, password)):
            return session.user
        return None

    def remember_user(self, session: Session, user: User, user_name: str, password: str) -> None:
        session.user = user
        session.credentials = self._digest(user_name, password)

    def forget_user(self, session: Session) -> None:
        session.user = None
        session.credentials = b""

    # --- result sets ---------------------------------------------------------------
    def add_set(
        self,
        session: Session,
        ids: Sequence[int],
        total: int,
        view: View,
        *,
        number: int | None = None,
    ) -> StoredSet:
        """Store a find's result under a new set number of this session (`number`: one
        taken from the numbering the worker processes share)."""
        compact = array("q", ids)
        if number is None:
            number = self._take_set_number()
        else:
            self._remove_set(number)
        stored = StoredSet(number, session.id, compact, total, view)
        self._sets[number] = stored
        self._entries += len(compact)
        session.set_numbers.append(number)
        while len(session.set_numbers) > self.max_sets_per_session:
            self._remove_set(session.set_numbers.pop(0))
        self._trim()
        return stored

    # --- sessions and sets other worker processes made (shared_sessions.py) --------------
    def adopt(self, session: Session) -> None:
        """Hold this copy of a session read from the shared state (it replaces ours)."""
        session.last_used = self._clock()
        self._sessions.pop(session.id, None)
        self._sessions[session.id] = session

    def adopt_set(self, stored: StoredSet) -> None:
        """Hold a result set read from the shared state."""
        self._remove_set(stored.number)
        self._sets[stored.number] = stored
        self._entries += len(stored.ids)
        self._trim()

    def has_set(self, number: int) -> bool:
        return number in self._sets

    def _trim(self) -> None:
        while self._entries > self.max_total_entries and len(self._sets) > 1:
            oldest = next(iter(self._sets))
            owner = self._sessions.get(self._sets[oldest].session_id)
            if owner is not None and oldest in owner.set_numbers:
                owner.set_numbers.remove(oldest)
            self._remove_set(oldest)

    def get_set(
        self, session: Session, number: int, *, by_number: bool = False
    ) -> StoredSet | None:
        """The set of that number in this session; `by_number` also finds other sessions' sets.

        Aleph itself keeps result sets by number alone (z05 in VIR01), and clients that send
        no session id rely on that; a client that names its session sees only its own sets.
        """
        stored = self._sets.get(number)
        if stored is None or (stored.session_id != session.id and not by_number):
            return None
        return stored

    @property
    def total_entries(self) -> int:
        return self._entries

    def _take_set_number(self) -> int:
        number = self._next_set
        self._next_set = 1 if number >= MAX_SET_NUMBER else number + 1
        if number in self._sets:  # wrapped around onto a set still held: it gives way
            stale = self._sets[number]
            owner = self._sessions.get(stale.session_id)
            if owner is not None and number in owner.set_numbers:
                owner.set_numbers.remove(number)
            self._remove_set(number)
        return number

    def _remove_set(self, number: int) -> None:
        stored = self._sets.pop(number, None)
        if stored is not None:
            self._entries -= len(stored.ids)

    def _drop_sets(self, session: Session) -> None:
        for number in session.set_numbers:
            self._remove_set(number)
        session.set_numbers.clear()
