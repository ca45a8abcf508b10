"""The BER codec under the Z39.50 target: exact encodings, framing, limits, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.z3950 import pdu as z
from protocols.z3950.ber import (
    CONTEXT,
    MAX_DEPTH,
    UNIVERSAL,
    BerError,
    Element,
    bits_content,
    constructed,
    ctx,
    ctx_bits,
    ctx_integer,
    ctx_string,
    decode,
    decode_prefix,
    integer_content,
    oid_content,
    tlv,
    universal_integer,
    universal_oid,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (2**31, "02050080000000"),
    ],
)
def test_integers(value: int, encoded: str) -> None:
    assert universal_integer(value).hex() == encoded
    assert decode(bytes.fromhex(encoded)).integer() == value


@pytest.mark.parametrize(
    ("number", "is_constructed", "tag"),
    [
        (20, True, "b4"),
        (48, True, "bf30"),
        (201, True, "bf8149"),
        (105, False, "9f69"),
        (2, False, "82"),
    ],
)
def test_context_tags(number: int, is_constructed: bool, tag: str) -> None:
    encoded = tlv(CONTEXT, number, b"", constructed=is_constructed)
    assert encoded.hex() == tag + "00"
    element = decode(encoded)
    assert (element.cls, element.number, element.constructed) == (CONTEXT, number, is_constructed)


@pytest.mark.parametrize(
    ("length", "prefix"), [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100")]
)
def test_definite_lengths(length: int, prefix: str) -> None:
    encoded = tlv(UNIVERSAL, 4, b"x" * length)
    assert encoded[1:].hex().startswith(prefix)
    assert decode(encoded).octets() == b"x" * length


def test_object_identifiers() -> None:
    assert universal_oid(z.USMARC_SYNTAX).hex() == "06072a8648ce13050a"
    assert universal_oid(z.XML_SYNTAX).hex() == "06082a8648ce13056d0a"
    assert decode(universal_oid((2, 999, 3))).oid() == (2, 999, 3)
    assert oid_content((2, 999, 3)).hex() == "883703"


def test_bit_strings() -> None:
    assert ctx_bits(3, [True, True, True]).hex() == "830205e0"
    assert bits_content([]) == b"\x00"
    flags = [True, False, True, False, False, False, False, True, True, False]
    assert decode(ctx_bits(4, flags)).bits() == flags


def test_indefinite_lengths_nest() -> None:
    # [22] { [13] 0, [17] { "ab" in two constructed segments } } with indefinite lengths
    data = bytes.fromhex("b6808d0100b180810161810162 0000 0000".replace(" ", ""))
    element = decode(data)
    assert element.is_tag(CONTEXT, 22)
    first, second = element.children
    assert first.integer() == 0
    assert second.octets() == b"ab" and second.string() == "ab"


def test_strings_are_utf8_or_latin1() -> None:
    assert decode(ctx_string(45, "Seitsemän")).string() == "Seitsemän"
    assert decode(tlv(CONTEXT, 45, "Väinö".encode("latin-1"))).string() == "Väinö"


def test_frame_waits_for_the_whole_pdu() -> None:
    for pdu in (z.init_request(), _indefinite_form(z.init_request())):
        for cut in range(len(pdu)):
            assert decode_prefix(pdu[:cut], 1 << 20) is None
        element, length = decode_prefix(pdu + b"\xb6", 1 << 20) or (None, 0)
        assert length == len(pdu) and element is not None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("0480", "indefinite length on a primitive"),
        ("0485ffffffffff", "length too large"),
        ("1fffffffff7f00", "tag number too large"),
        ("3003020205", "running past its end"),
        ("0201", "truncated"),
        ("020100ff", "after the element"),
        ("a080" * (MAX_DEPTH + 2), "nested too deeply"),
    ],
)
def test_malformed_input_is_a_ber_error(data: str, problem: str) -> None:
    with pytest.raises(BerError, match=problem):
        decode(bytes.fromhex(data))


def test_frame_refuses_pdus_over_the_limit() -> None:
    with pytest.raises(BerError, match="exceeds the limit"):
        decode_prefix(bytes.fromhex("b684") + (10**6).to_bytes(4, "big"), 1000)
    with pytest.raises(BerError, match="exceeds the limit"):
        decode_prefix(b"\xb6\x80" + b"\x04\x02ab" * 400, 1000)  # indefinite, never ending


def test_element_accessors_check_their_types() -> None:
    with pytest.raises(BerError):
        decode(ctx(5, ctx_integer(1, 1))).integer()
    with pytest.raises(BerError):
        decode(tlv(UNIVERSAL, 1, b"\x01\x02")).boolean()
    with pytest.raises(BerError):
        decode(tlv(CONTEXT, 3, b"\x09\x00")).bits()
    with pytest.raises(BerError):
        decode(tlv(UNIVERSAL, 6, b"\x2a\x86")).oid()
    with pytest.raises(BerError):
        decode(ctx(7, ctx_integer(1, 1), ctx_integer(2, 2))).only_child()


def _indefinite_form(data: bytes) -> bytes:
    return _rewrite(decode(data))


def _rewrite(element: Element) -> bytes:
    if not element.constructed:
        return tlv(element.cls, element.number, element.content)
    head = tlv(element.cls, element.number, b"", constructed=True)[:-1]
    return head + b"\x80" + b"".join(_rewrite(c) for c in element.children) + b"\x00\x00"


# --- properties -----------------------------------------------------------------------

# Universal tag 0 is reserved for end-of-contents, so no element may carry it.
_tags = st.tuples(st.integers(0, 3), st.integers(0, 300)).filter(lambda tag: tag != (0, 0))
_primitives = st.builds(
    lambda tag, content: tlv(tag[0], tag[1], content), _tags, st.binary(max_size=40)
)
_trees = st.recursive(
    _primitives,
    lambda children: st.builds(
        lambda tag, parts: constructed(tag[0], tag[1], parts), _tags, st.lists(children, max_size=4)
    ),
    max_leaves=30,
)


@given(_trees)
def test_encode_decode_round_trip(encoded: bytes) -> None:
    element = decode(encoded)
    assert _reencode(element) == encoded
    assert decode(_indefinite_form(encoded)) == element


def _reencode(element: Element) -> bytes:
    if not element.constructed:
        return tlv(element.cls, element.number, element.content)
    return constructed(element.cls, element.number, [_reencode(c) for c in element.children])


@given(st.integers(-(2**70), 2**70))
def test_integer_round_trip(value: int) -> None:
    assert decode(tlv(UNIVERSAL, 2, integer_content(value))).integer() == value


_VALID_PDUS = [
    z.init_request(user="KIVI", password="salasana"),
    z.search_request(z.rpn_term_query(4, "seitsemän veljestä", extra=[(5, 1)])),
    z.present_request(1, 10, syntax=z.XML_SYNTAX),
    z.close_request(),
]


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    _decode_or_ber_error(data)


@given(
    st.sampled_from(_VALID_PDUS + [_indefinite_form(p) for p in _VALID_PDUS]),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 400),
)
@settings(max_examples=300)
def test_mutated_pdus_never_crash_the_decoder(
    pdu: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(pdu)
    for position, value in flips:
        mutated[position % len(mutated)] = value
    _decode_or_ber_error(bytes(mutated[: max(cut, 1)]))
    _decode_or_ber_error(bytes(mutated))


def _decode_or_ber_error(data: bytes) -> None:
    try:
        found = decode_prefix(data, 1 << 16)
    except BerError:
        return
    if found is not None:
        element, length = found
        assert 0 < length <= len(data)
        assert isinstance(element, Element)
