"""BER (ITU-T X.690) tag-length-value encoding and decoding: the wire form of Z39.50 PDUs.

Decoding accepts definite and indefinite lengths (YAZ sends indefinite-length PDUs);
encoding always writes definite lengths. Limits on nesting depth and element length keep a
hostile peer from exhausting memory or the stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

UNIVERSAL: Final = 0
APPLICATION: Final = 1
CONTEXT: Final = 2
PRIVATE: Final = 3

# Universal tag numbers Z39.50 uses.
BOOLEAN: Final = 1
INTEGER: Final = 2
BIT_STRING: Final = 3
OCTET_STRING: Final = 4
NULL: Final = 5
OBJECT_IDENTIFIER: Final = 6
EXTERNAL: Final = 8
SEQUENCE: Final = 16
VISIBLE_STRING: Final = 26
GENERAL_STRING: Final = 27

# above the deepest query the gateway answers (256 terms), well below Python's stack
MAX_DEPTH: Final = 320
_MAX_TAG_OCTETS: Final = 4
_MAX_LENGTH_OCTETS: Final = 4


class BerError(ValueError):
    """The bytes are not well-formed BER (or break a limit of this decoder)."""


class IncompleteError(BerError):
    """The bytes end before the element does: wait for more."""


@dataclass(slots=True)
class Element:
    """One decoded TLV: primitive elements carry `content`, constructed ones `children`."""

    cls: int
    number: int
    constructed: bool
    content: bytes = b""
    children: list[Element] = field(default_factory=list)

    def is_tag(self, cls: int, number: int) -> bool:
        return self.cls == cls and self.number == number

    def child(self, number: int, cls: int = CONTEXT) -> Element | None:
        """The first child with that tag, or None."""
        for element in self.children:
            if element.number == number and element.cls == cls:
                return element
        return None

    def only_child(self) -> Element:
        """The single element inside an explicit tag."""
        if not self.constructed or len(self.children) != 1:
            raise BerError(f"[{self.number}] must wrap exactly one element")
        return self.children[0]

    def octets(self) -> bytes:
        """Contents of a string type; BER allows strings split into constructed segments."""
        if not self.constructed:
            return self.content
        return b"".join(child.octets() for child in self.children)

    def integer(self) -> int:
        if self.constructed or not self.content:
            raise BerError("INTEGER must be primitive with at least one content octet")
        return int.from_bytes(self.content, "big", signed=True)

    def boolean(self) -> bool:
        if self.constructed or len(self.content) != 1:
            raise BerError("BOOLEAN must be one primitive octet")
        return self.content != b"\x00"

    def oid(self) -> tuple[int, ...]:
        if self.constructed:
            raise BerError("OBJECT IDENTIFIER must be primitive")
        return decode_oid(self.content)

    def string(self) -> str:
        """An InternationalString: UTF-8 as clients send it, Latin-1 when it is not UTF-8."""
        raw = self.octets()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def bits(self) -> list[bool]:
        """A BIT STRING as a list of flags, bit 0 first."""
        raw = self.octets()
        if not raw:
            raise BerError("BIT STRING has no unused-bits octet")
        unused = raw[0]
        if unused > 7 or (unused and len(raw) == 1):
            raise BerError("BIT STRING has a bad unused-bits count")
        flags = [bool(byte & (0x80 >> i)) for byte in raw[1:] for i in range(8)]
        return flags[: len(flags) - unused] if unused else flags


# --- decoding ----------------------------------------------------------------------


def _read_header(
    data: bytes | bytearray, pos: int, end: int
) -> tuple[int, int, bool, int | None, int]:
    """(class, number, constructed, length or None when indefinite, content start)."""
    if pos >= end:
        raise IncompleteError("no tag")
    first = data[pos]
    pos += 1
    cls, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    if number == 0x1F:
        number = 0
        for count in range(_MAX_TAG_OCTETS + 1):
            if pos >= end:
                raise IncompleteError("tag continues")
            if count == _MAX_TAG_OCTETS:
                raise BerError("tag number too large")
            byte = data[pos]
            pos += 1
            number = (number << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    if pos >= end:
        raise IncompleteError("no length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return cls, number, constructed, first, pos
    if first == 0x80:
        if not constructed:
            raise BerError("indefinite length on a primitive element")
        return cls, number, constructed, None, pos
    count = first & 0x7F
    if count > _MAX_LENGTH_OCTETS:
        raise BerError("length too large")
    if pos + count > end:
        raise IncompleteError("length continues")
    length = int.from_bytes(data[pos : pos + count], "big")
    return cls, number, constructed, length, pos + count


def _decode_one(data: bytes | bytearray, pos: int, end: int, depth: int) -> tuple[Element, int]:
    if depth > MAX_DEPTH:
        raise BerError("elements nested too deeply")
    if pos + 1 < end and data[pos] & 0x1F != 0x1F and data[pos + 1] < 0x80:
        # most elements: one tag octet and one definite length octet, read here
        first = data[pos]
        cls, number, constructed = first >> 6, first & 0x1F, bool(first & 0x20)
        length: int | None = data[pos + 1]
        pos += 2
    else:
        cls, number, constructed, length, pos = _read_header(data, pos, end)
    if length is not None:
        stop = pos + length
        if stop > end:
            raise IncompleteError("contents continue")
        if not constructed:
            return Element(cls, number, False, bytes(data[pos:stop])), stop
        children: list[Element] = []
        try:
            while pos < stop:
                child, pos = _decode_one(data, pos, stop, depth + 1)
                children.append(child)
        except IncompleteError as exc:  # inside a complete element: more bytes cannot help
            raise BerError(f"[{number}] holds an element running past its end: {exc}") from None
        return Element(cls, number, True, children=children), stop
    children = []
    while True:
        if pos + 2 > end:
            raise IncompleteError("no end-of-contents")
        if data[pos] == 0 and data[pos + 1] == 0:
            return Element(cls, number, True, children=children), pos + 2
        child, pos = _decode_one(data, pos, end, depth + 1)
        children.append(child)


def decode(data: bytes) -> Element:
    """Exactly one element filling `data`. Raises BerError."""
    try:
        element, stop = _decode_one(data, 0, len(data), 0)
    except IncompleteError as exc:
        raise BerError(f"truncated element: {exc}") from exc
    except RecursionError as exc:  # pragma: no cover - MAX_DEPTH stops this first
        raise BerError("elements nested too deeply") from exc
    if stop != len(data):
        raise BerError(f"{len(data) - stop} octets after the element")
    return element


def decode_prefix(data: bytes | bytearray, max_length: int) -> tuple[Element, int] | None:
    """The complete element at the start of `data` and its length, or None while incomplete.

    Raises BerError when the bytes cannot start a valid element or it would exceed
    `max_length` octets (so a peer cannot make us buffer without bound).
    """
    try:
        _cls, _number, _constructed, length, start = _read_header(data, 0, len(data))
    except IncompleteError:
        return None
    if length is not None and start + length > max_length:
        raise BerError(f"PDU of {start + length} octets exceeds the limit of {max_length}")
    if length is not None and start + length > len(data):
        return None  # definite length: no need to parse until it has all arrived
    try:
        return _decode_one(data, 0, min(len(data), max_length), 0)
    except IncompleteError:
        if len(data) >= max_length:
            raise BerError(f"PDU exceeds the limit of {max_length} octets") from None
        return None


def has_indefinite_length(data: bytes | bytearray) -> bool:
    """Whether the element starting `data` has an indefinite length (so ends with 00 00)."""
    try:
        return _read_header(data, 0, len(data))[3] is None
    except BerError:
        return False


def decode_oid(content: bytes) -> tuple[int, ...]:
    if not content or content[-1] & 0x80:
        raise BerError("OBJECT IDENTIFIER is empty or unterminated")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if value.bit_length() > 64:
            raise BerError("OBJECT IDENTIFIER arc too large")
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (min(first // 40, 2), first - 40 * min(first // 40, 2))
    return head + tuple(arcs[1:])


# --- encoding ----------------------------------------------------------------------


def _tag_octets(cls: int, number: int, constructed: bool) -> bytes:
    lead = (cls << 6) | (0x20 if constructed else 0)
    if number < 0x1F:
        return bytes((lead | number,))
    groups = [number & 0x7F]
    number >>= 7
    while number:
        groups.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes((lead | 0x1F, *reversed(groups)))


def _length_octets(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(cls: int, number: int, content: bytes, *, constructed: bool = False) -> bytes:
    length = len(content)
    if number < 0x1F and length < 0x80:  # most elements: one tag octet, one length octet
        return bytes(((cls << 6) | (0x20 if constructed else 0) | number, length)) + content
    return _tag_octets(cls, number, constructed) + _length_octets(length) + content


def constructed(cls: int, number: int, parts: Iterable[bytes]) -> bytes:
    return tlv(cls, number, b"".join(parts), constructed=True)


def integer_content(value: int) -> bytes:
    """Two's complement in the fewest octets (X.690 8.3.2)."""
    magnitude = value if value >= 0 else ~value
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def oid_content(arcs: tuple[int, ...]) -> bytes:
    if len(arcs) < 2:
        raise ValueError("an OBJECT IDENTIFIER has at least two arcs")
    out = bytearray()
    for arc in (40 * arcs[0] + arcs[1], *arcs[2:]):
        groups = [arc & 0x7F]
        arc >>= 7
        while arc:
            groups.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(groups))
    return bytes(out)


def bits_content(flags: Iterable[bool]) -> bytes:
    values = list(flags)
    octets = bytearray((len(values) + 7) // 8)
    for i, flag in enumerate(values):
        if flag:
            octets[i // 8] |= 0x80 >> (i % 8)
    unused = (8 - len(values) % 8) % 8
    return bytes((unused,)) + bytes(octets)


# Shorthands for the context-specific (`[n] IMPLICIT ...`) fields PDUs are made of.


def ctx(number: int, *parts: bytes) -> bytes:
    """`[n]` constructed: an explicit tag or an implicit SEQUENCE."""
    return constructed(CONTEXT, number, parts)


def ctx_integer(number: int, value: int) -> bytes:
    return tlv(CONTEXT, number, integer_content(value))


def ctx_boolean(number: int, value: bool) -> bytes:
    return tlv(CONTEXT, number, b"\xff" if value else b"\x00")


def ctx_string(number: int, value: str | bytes) -> bytes:
    return tlv(CONTEXT, number, value.encode("utf-8") if isinstance(value, str) else value)


def ctx_oid(number: int, arcs: tuple[int, ...]) -> bytes:
    return tlv(CONTEXT, number, oid_content(arcs))


def ctx_null(number: int) -> bytes:
    return tlv(CONTEXT, number, b"")


def ctx_bits(number: int, flags: Iterable[bool]) -> bytes:
    return tlv(CONTEXT, number, bits_content(flags))


def sequence(*parts: bytes) -> bytes:
    return constructed(UNIVERSAL, SEQUENCE, parts)


def universal_integer(value: int) -> bytes:
    return tlv(UNIVERSAL, INTEGER, integer_content(value))


def universal_oid(arcs: tuple[int, ...]) -> bytes:
    return tlv(UNIVERSAL, OBJECT_IDENTIFIER, oid_content(arcs))


def general_string(value: str) -> bytes:
    return tlv(UNIVERSAL, GENERAL_STRING, value.encode("utf-8"))


def octet_string(value: bytes) -> bytes:
    return tlv(UNIVERSAL, OCTET_STRING, value)


def external(
    direct_reference: tuple[int, ...],
    *,
    octets: bytes | None = None,
    single_type: bytes | None = None,
) -> bytes:
    """EXTERNAL: an OID naming the syntax, then octet-aligned data or one ASN.1 value."""
    if octets is not None:
        encoding = tlv(CONTEXT, 1, octets)
    elif single_type is not None:
        encoding = ctx(0, single_type)
    else:
        raise ValueError("an EXTERNAL needs octets or a single ASN.1 value")
    return constructed(UNIVERSAL, EXTERNAL, (universal_oid(direct_reference), encoding))


def oid_text(arcs: tuple[int, ...]) -> str:
    return ".".join(str(arc) for arc in arcs)


def parse_oid_text(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
