"""ISO 2709 (binary MARC) codec, always UTF-8, keeping Aleph's letter tags (LOW, SID, CAT, STA)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Final

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

from gateway.errors import MalformedRecordError

FIELD_TERMINATOR = b"\x1e"
RECORD_TERMINATOR = b"\x1d"
SUBFIELD_DELIMITER = "\x1f"
_MAX_LENGTH = 99999  # five digits in the leader
_MAX_FIELD = 9999  # four digits in a directory entry
_tuple_new = tuple.__new__


def record_to_iso2709(record: pymarc.Record) -> bytes:
    """One ISO 2709 record in UTF-8 (Leader/09 `a`); length and base address computed.

    Written here rather than by pymarc so the encoding never depends on Leader/09 and a
    field too long for the directory is a clear error rather than a corrupt record.
    """
    tags: list[bytes] = []
    data: list[bytes] = []
    for field in record.fields:
        tag = field.tag
        if len(tag) != 3 or not tag.isascii():
            raise MalformedRecordError(
                f"tag {tag!r} is not three ASCII characters", position=f"field {tag}"
            )
        if field.control_field:
            body = (field.data or "").encode("utf-8") + FIELD_TERMINATOR
        else:
            ind = field._indicators or (" ", " ")
            parts = [(ind[0] or " ")[:1], (ind[1] or " ")[:1]]
            for code, value in field.subfields:
                parts.append(SUBFIELD_DELIMITER)
                parts.append(code)
                parts.append(value)
            body = "".join(parts).encode("utf-8") + FIELD_TERMINATOR
        if len(body) > _MAX_FIELD:
            raise MalformedRecordError(
                f"field {tag} is {len(body)} bytes, more than ISO 2709 allows ({_MAX_FIELD})",
                position=f"field {tag}",
            )
        tags.append(tag.encode("ascii"))
        data.append(body)
    return _joined(str(record.leader), tags, data)


def _joined(leader: str, tags: list[bytes], data: list[bytes]) -> bytes:
    """The record of these fields (tag and body with its terminator) after the leader."""
    head = iso2709_head(leader, tags, [len(body) for body in data])
    return head + b"".join(data) + RECORD_TERMINATOR


def iso2709_head(leader: str, tags: Sequence[bytes], sizes: Sequence[int]) -> bytes:
    """The leader and directory of a record of fields of these tags and sizes (each body with
    its terminator), in order; MalformedRecordError when ISO 2709 cannot hold it."""
    directory: list[bytes] = []
    offset = 0
    for tag, size in zip(tags, sizes, strict=True):
        directory.append(b"%s%04d%05d" % (tag, size, offset))
        offset += size
    directory_bytes = b"".join(directory) + FIELD_TERMINATOR
    base = 24 + len(directory_bytes)
    length = base + offset + 1
    if length > _MAX_LENGTH:
        raise MalformedRecordError(
            f"record is {length} bytes, more than ISO 2709 allows ({_MAX_LENGTH})"
        )
    if len(leader) != 24 or not leader.isascii():
        # ISO 2709 counts the leader in bytes: only 24 ASCII characters keep its positions
        raise MalformedRecordError(f"leader {leader!r} is not 24 ASCII characters", position="LDR")
    head = f"{length:05d}{leader[5:9]}a22{base:05d}{leader[17:20]}4500"
    return head.encode("ascii") + directory_bytes


def parse_iso2709(data: bytes, position: str = "record 1") -> pymarc.Record:
    """Decode one ISO 2709 record (UTF-8)."""
    if len(data) < 25:
        raise MalformedRecordError("record shorter than a leader", position=position)
    try:
        leader = data[:24].decode("ascii")
        base = int(leader[12:17])
    except (UnicodeDecodeError, ValueError):
        raise MalformedRecordError(
            "leader is not ASCII or its base address is not a number", position=position
        ) from None
    if base < 25 or base > len(data) or data[base - 1 : base] != FIELD_TERMINATOR:
        raise MalformedRecordError(
            f"base address {base} does not follow the directory", position=position
        )
    directory = data[24 : base - 1]
    if len(directory) % 12:
        raise MalformedRecordError(
            f"directory length {len(directory)} is not a multiple of 12", position=position
        )
    fields: list[Field] = []
    new = Field.__new__
    for at in range(0, len(directory), 12):
        entry = directory[at : at + 12]
        try:
            tag = entry[:3].decode("ascii")
            length = int(entry[3:7])
            start = int(entry[7:12])
        except (UnicodeDecodeError, ValueError):
            raise MalformedRecordError(
                f"bad directory entry {entry!r}", position=f"{position}, byte {24 + at}"
            ) from None
        raw = data[base + start : base + start + length]
        if len(raw) != length:
            raise MalformedRecordError(
                f"field {tag} runs past the end of the record",
                position=f"{position}, byte {base + start}, field {tag}",
            )
        if raw.endswith(FIELD_TERMINATOR):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRecordError(
                f"field {tag} is not valid UTF-8",
                position=f"{position}, byte {base + start + exc.start}, field {tag}",
            ) from None
        field = new(Field)
        field.tag = tag
        if tag < "010" and tag.isdigit():
            field.data = text
            field.control_field = True
            field._indicators = None
            field.subfields = []
        else:
            indicators, *pieces = text.split(SUBFIELD_DELIMITER)
            ind1 = indicators[0:1] or " "
            ind2 = indicators[1:2] or " "
            field.data = None
            field.control_field = False
            field._indicators = _tuple_new(Indicators, (ind1, ind2))
            field.subfields = [
                _tuple_new(Subfield, (piece[:1], piece[1:])) for piece in pieces if piece
            ]
        fields.append(field)
    record = pymarc.Record()
    record.leader = Leader(leader.replace("^", " "))
    record.fields = fields
    return record


def iter_iso2709_positions(
    stream: IO[bytes],
) -> Iterator[tuple[str, pymarc.Record | None, MalformedRecordError | None]]:
    """(position, record, error) per record; a bad record is reported and the next one read.

    A record whose length prefix cannot be trusted ends the stream: nothing marks where the
    next record would begin.
    """
    number = 0
    offset = 0
    while True:
        head = stream.read(5)
        if not head:
            return
        number += 1
        position = f"record {number}, byte {offset}"
        # Tolerate line breaks some tools put between records.
        while head[:1] in (b"\n", b"\r") and head:
            offset += 1
            head = head[1:] + stream.read(1)
        if not head:
            return
        if len(head) < 5 or not head.isdigit():
            yield (
                position,
                None,
                MalformedRecordError(
                    f"record length {head!r} is not five digits; stopped reading",
                    position=position,
                ),
            )
            return
        length = int(head)
        rest = stream.read(length - 5) if length > 5 else b""
        chunk = head + rest
        offset += len(chunk)
        if len(chunk) < length:
            yield (
                position,
                None,
                MalformedRecordError(
                    f"record is truncated ({len(chunk)} of {length} bytes)", position=position
                ),
            )
            return
        if not chunk.endswith(RECORD_TERMINATOR):
            yield (
                position,
                None,
                MalformedRecordError(
                    "record does not end with the record terminator; stopped reading",
                    position=position,
                ),
            )
            return
        try:
            yield position, parse_iso2709(chunk, position), None
        except MalformedRecordError as exc:
            yield position, None, exc


def iter_iso2709(stream: IO[bytes]) -> Iterator[pymarc.Record]:
    """Stream records from ISO 2709 bytes; raises MalformedRecordError at the first bad one."""
    for _position, record, error in iter_iso2709_positions(stream):
        if error is not None:
            raise error
        assert record is not None
        yield record


_COMPACT_PREFIX = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
_LEADER_END = b"</leader>"
_RECORD_END = b"</record>"
_CONTROL_START = b'<controlfield tag="'
_DATA_START = b'<datafield tag="'
_ENTITIES = (
    (b"&quot;", b'"'),
    (b"&lt;", b"<"),
    (b"&gt;", b">"),
    (b"&#9;", b"\t"),
    (b"&#10;", b"\n"),
    (b"&#13;", b"\r"),
    (b"&amp;", b"&"),  # last: what it yields must not be read again
)


class _NotCompact(Exception):
    """The bytes are not in the store's exact compact form: take the long way."""


def unescape_values(value: bytes) -> bytes:
    """Values of the compact MARCXML (one or many, with markup between) as plain UTF-8."""
    if b"&" not in value:
        return value
    for entity, char in _ENTITIES:
        value = value.replace(entity, char)
    return value


def marcxml_to_iso2709(xml: bytes) -> bytes:
    """The store's compact MARCXML straight to ISO 2709, byte for byte what
    `record_to_iso2709(parse_marcxml(xml))` gives, without building a pymarc record.

    Z39.50 presents records this way. It leans on the compact form's fixed layout (values
    escape `"`, `<` and `>`, so markup is found by plain byte search); anything else takes the
    long way through pymarc.
    """
    try:
        return _compact_to_iso2709(xml)
    except _NotCompact:
        from gateway.records.marcxml import parse_marcxml

        return record_to_iso2709(parse_marcxml(xml))


def _compact_to_iso2709(xml: bytes) -> bytes:
    end = xml.find(_LEADER_END)
    if not xml.startswith(_COMPACT_PREFIX) or end < 0 or not xml.endswith(_RECORD_END):
        raise _NotCompact
    leader = unescape_values(xml[len(_COMPACT_PREFIX) : end]).decode("utf-8")
    body = xml[end + len(_LEADER_END) : -len(_RECORD_END)]
    chunks = body.replace(b"</controlfield>", b"\0").replace(b"</datafield>", b"\0").split(b"\0")
    if chunks.pop() != b"":
        raise _NotCompact
    tags: list[bytes] = []
    data: list[bytes] = []
    for chunk in chunks:
        tag, body_bytes = _field(chunk)
        tags.append(tag)
        data.append(body_bytes)
    try:
        return _joined(leader, tags, data)
    except MalformedRecordError:
        raise _NotCompact from None  # the long way names what is wrong


# Characters the compact form escapes: a tag or indicator holding one is read the long way.
_ESCAPED: Final = frozenset('&<>"\t\n\r')


def record_to_iso2709_quick(record: pymarc.Record) -> bytes | None:
    """`marcxml_to_iso2709` of the record's compact MARCXML (`record_to_marcxml`), made from
    its fields without writing and reading that form; None where the compact path would
    not be taken (a tag or indicator it escapes or that is not one ASCII byte each, a field
    or record too long, an odd leader): the caller then converts the MARCXML itself."""
    escaped = _ESCAPED
    tags: list[bytes] = []
    data: list[bytes] = []
    for field in record.fields:
        tag = field.tag
        if len(tag) != 3 or not tag.isascii() or not escaped.isdisjoint(tag):
            return None
        if field.control_field:
            body = (field.data or "").encode("utf-8") + FIELD_TERMINATOR
        else:
            ind = field._indicators or ("", "")
            first, second = ind[0] or " ", ind[1] or " "
            if len(first) != 1 or len(second) != 1 or not (first + second).isascii():
                return None
            if first in escaped or second in escaped:
                return None
            text = (
                first + second + "".join([f"\x1f{code}{value}" for code, value in field.subfields])
            )
            body = text.encode("utf-8") + FIELD_TERMINATOR
        if len(body) > _MAX_FIELD:
            return None
        tags.append(tag.encode("ascii"))
        data.append(body)
    try:
        return _joined(str(record.leader), tags, data)
    except MalformedRecordError:
        return None  # too long or an odd leader: the long way says so


def _field(chunk: bytes) -> tuple[bytes, bytes]:
    """The tag and ISO 2709 body of one compact field (without its closing tag)."""
    if chunk.startswith(_DATA_START):
        # <datafield tag="TAG" ind1="I" ind2="J"><subfield code="a">…</subfield>…
        tag = chunk[16:19]
        if chunk[19:27] != b'" ind1="' or chunk[28:36] != b'" ind2="' or chunk[37:39] != b'">':
            raise _NotCompact  # a multi-byte or escaped tag or indicator
        subfields = (
            chunk[39:]
            .replace(b"</subfield>", b"")
            .replace(b'<subfield code="', b"\x1f")
            .replace(b'">', b"")
        )
        body = chunk[27:28] + chunk[36:37] + unescape_values(subfields) + FIELD_TERMINATOR
    elif chunk.startswith(_CONTROL_START):
        tag = chunk[19:22]
        if chunk[22:24] != b'">':
            raise _NotCompact
        body = unescape_values(chunk[24:]) + FIELD_TERMINATOR
    else:
        raise _NotCompact
    if b"&" in tag or b"<" in tag or not tag.isascii():
        raise _NotCompact  # the long way names the bad tag
    if len(body) > _MAX_FIELD:
        raise _NotCompact
    return tag, body


def compact_field_to_iso2709(field: bytes) -> tuple[bytes, bytes] | None:
    """The tag and ISO 2709 body (with its terminator) of one field in the store's compact
    MARCXML, as `marcxml_to_iso2709` makes it; None when that would take the long way."""
    for end in (b"</datafield>", b"</controlfield>"):
        if field.endswith(end):
            chunk = field[: -len(end)]
            # one field: no other closing tag inside (values carry `<` escaped)
            if b"</controlfield>" in chunk or b"</datafield>" in chunk:
                return None
            try:
                return _field(chunk)
            except (_NotCompact, IndexError):
                return None
    return None
