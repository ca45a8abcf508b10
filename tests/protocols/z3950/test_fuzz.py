"""Random and mutated PDUs thrown at a live Z39.50 listener: it answers or closes, and keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.emulator.host import Gateway
from protocols.z3950 import pdu as z
from protocols.z3950.ber import CONTEXT, constructed, ctx, ctx_integer, tlv
from protocols.z3950.server import Z3950Listener
from tests.protocols.z3950.conftest import Origin

_VALID = [
    z.search_request(z.rpn_term_query(1003, "kivi")),
    z.search_request(
        z.rpn_term_query(4, "seitsemän", extra=[(5, 1), (4, 1)]), database="fin01alma"
    ),
    z.present_request(1, 2),
    z.present_request(1, 2, syntax=z.XML_SYNTAX, element_set="B"),
    z.scan_request(4, "seitse", 5),
    ctx(z.PduTag.DELETE_RESULT_SET_REQUEST, ctx_integer(32, 1)),
    z.close_request(),
]

# Field tags the request parsers look for, so random trees reach deep into them.
_FIELD_TAGS = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    21,
    29,
    30,
    31,
    32,
    44,
    45,
    46,
    100,
    101,
    102,
    103,
    104,
    105,
    120,
    121,
    211,
    212,
    214,
    215,
    216,
    224,
]
_PDU_TAGS = [20, 22, 24, 26, 35, 43, 46, 48]

_leaves = st.builds(
    lambda number, content: tlv(CONTEXT, number, content),
    st.sampled_from(_FIELD_TAGS),
    st.binary(max_size=12),
)
_fields = st.recursive(
    _leaves,
    lambda inner: st.builds(
        lambda number, parts: constructed(CONTEXT, number, parts),
        st.sampled_from(_FIELD_TAGS),
        st.lists(inner, max_size=4),
    ),
    max_leaves=20,
)
_random_pdus = st.builds(
    lambda number, fields: ctx(number, *fields),
    st.sampled_from(_PDU_TAGS),
    st.lists(_fields, max_size=8),
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    pdu = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(pdu) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            pdu[position] = draw(st.integers(0, 255))
        elif action == "delete" and len(pdu) > 1:
            del pdu[position]
        else:
            pdu.insert(position, draw(st.integers(0, 255)))
    return bytes(pdu)


_payloads = st.one_of(st.binary(min_size=1, max_size=200), _mutated(), _random_pdus)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=_payloads)
async def test_the_listener_survives_random_and_mutated_pdus(
    catalogue: Gateway, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    origin = await Origin.connect(catalogue)
    await origin.init()
    await origin.send(payload)
    with contextlib.suppress(EOFError, TimeoutError, ConnectionError):
        async with asyncio.timeout(0.1):  # answers, a Close, or silence (an incomplete PDU)
            while True:
                await origin.receive()
    await origin.close()
    # nothing reached the catch-all that logs internal errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], payload.hex()
    # the listener still serves a new association
    fresh = await Origin.connect(catalogue)
    response = await fresh.ask(z.init_request() + z.search_request(z.rpn_term_query(1003, "kivi")))
    assert response.is_tag(CONTEXT, z.PduTag.INIT_RESPONSE)
    search = await fresh.receive()
    count = search.child(23)
    assert count is not None and count.integer() == 2
    await fresh.close()


async def test_no_association_outlives_its_connection(catalogue: Gateway) -> None:
    listener = catalogue.servers["z3950"]
    assert isinstance(listener, Z3950Listener)
    for payload in (b"\xb6\x80\xa1", b"\xb6\x05", b"\x00\x00", z.init_request()[:5]):
        origin = await Origin.connect(catalogue)
        await origin.send(payload)
        await origin.close()
    async with asyncio.timeout(5):
        while listener.connections:
            await asyncio.sleep(0.05)
