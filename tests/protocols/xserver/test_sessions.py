"""X-server sessions: expiry, bounds, per-session result sets and cached credentials."""

from __future__ import annotations

from gateway.model import User, View
from protocols.xserver.sessions import SESSION_ID_LENGTH, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_known_session_is_found_and_an_unknown_one_replaced() -> None:
    store = SessionStore(ttl=60)
    first = store.session(None)
    assert len(first.id) == SESSION_ID_LENGTH and first.id.isalnum()
    assert store.session(first.id) is first
    other = store.session("NOSUCHSESSION")
    assert other.id not in (first.id, "NOSUCHSESSION")


def test_sessions_expire_when_idle() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, clock=clock)
    session = store.session(None)
    clock.now += 61
    assert store.session(session.id) is not session
    assert len(store) == 1


def test_sessions_are_bounded_least_recently_used_first() -> None:
    store = SessionStore(ttl=60, max_sessions=3)
    a, b, c = (store.session(None) for _ in range(3))
    store.session(a.id)  # a is used again, so b is the oldest
    store.session(None)
    assert len(store) == 3
    assert store.session(a.id) is a
    assert store.session(c.id) is c
    assert store.session(b.id) is not b


def test_result_sets_belong_to_their_session() -> None:
    store = SessionStore(ttl=60)
    mine, theirs = store.session(None), store.session(None)
    stored = store.add_set(mine, [3, 1, 2], 3, View.FIN01ALMA)
    assert 1 <= stored.number <= 999_999
    assert store.get_set(mine, stored.number) is stored
    assert list(stored.ids) == [3, 1, 2] and stored.view is View.FIN01ALMA
    assert store.get_set(theirs, stored.number) is None


def test_sets_are_bounded_per_session_and_in_total_entries() -> None:
    store = SessionStore(ttl=60, max_sets_per_session=2, max_total_entries=10)
    session = store.session(None)
    first = store.add_set(session, [1], 1, View.FIN01)
    second = store.add_set(session, [2], 1, View.FIN01)
    third = store.add_set(session, [3], 1, View.FIN01)
    assert store.get_set(session, first.number) is None
    assert store.get_set(session, second.number) is second
    assert store.get_set(session, third.number) is third
    other = store.session(None)
    big = store.add_set(other, list(range(9)), 9, View.FIN01)
    assert store.total_entries <= 10
    assert store.get_set(other, big.number) is big
    assert store.get_set(session, second.number) is None


def test_expired_sessions_release_their_sets() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, clock=clock)
    session = store.session(None)
    store.add_set(session, list(range(5)), 5, View.FIN01)
    clock.now += 61
    store.session(None)
    assert store.total_entries == 0


def test_credentials_are_cached_only_for_the_same_password() -> None:
    store = SessionStore(ttl=60)
    session = store.session(None)
    user = User(name="HELKA", library="HELKA", lows=frozenset({"HELKA"}))
    assert store.cached_user(session, "helka", "secret") is None
    store.remember_user(session, user, "HELKA", "secret")
    assert store.cached_user(session, "helka", "secret") is user
    assert store.cached_user(session, "helka", "wrong") is None
    assert b"secret" not in session.credentials
    store.forget_user(session)
    assert store.cached_user(session, "helka", "secret") is None


def test_a_set_is_reachable_by_number_alone_when_asked() -> None:
    store = SessionStore(ttl=60)
    mine, stateless = store.session(None), store.session(None)
    stored = store.add_set(mine, [1], 1, View.FIN01)
    assert store.get_set(stateless, stored.number) is None
    assert store.get_set(stateless, stored.number, by_number=True) is stored


def test_new_session_ids_stay_distinct_past_one_batch_of_random_bytes() -> None:
    store = SessionStore(ttl=60, max_sessions=1000)
    ids = [store.session(None).id for _ in range(200)]  # ids are drawn 64 at a time
    assert len(set(ids)) == 200
    assert all(len(i) == SESSION_ID_LENGTH and i.isalnum() for i in ids)
