"""Aleph sequential codec: `000123456 24510 L $$aTitle`, with Aleph's split long fields.

The form Aleph's load and download services (p-manage-18, p-print-03) use, as NatLibFi's
marc-record-serializers reads and writes it (its fixtures are the reference):

- one line per field: doc number (9 digits), space, tag, two indicators, ` L `, data from
  column 18; control fields (`FMT`, `LDR`, `001`-`009`) carry their value with every blank
  written as `^`; data fields carry `$$a…$$b…`;
- a `FMT` line (BK, SE, MU, …, derived from the leader) comes first and is dropped on reading;
- a data field longer than Aleph's limit (2000 bytes of subfield data) is written as several
  lines of the same tag: subfields are packed onto a line while it stays within 2000 bytes; a
  subfield that does not fit starts a new line, marked `$$9^` when it begins there, and is cut
  into pieces of at most 1000 bytes at the last `-- `, else `. `, else space boundary that
  fits (the boundary blank written as `^`); each further piece of the same subfield goes on a
  line starting `$$9^^$$<code>`;
- on reading, a `$$9^` line is appended to the line before it (after dropping that line's
  trailing `^`), and a `$$9^^$$<code>` line is appended as a space plus its text.

Where the reference writer would lose data this one does not: a piece with no blank to cut
at stays whole (the reference cuts at byte 1000, possibly inside a character, and reading
inserts a space). What the form cannot carry: `$$` inside a value, line breaks, and `^`
(blank in control fields; dropped before a continuation line).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import IO

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

from gateway.errors import MalformedRecordError

MAX_FIELD_BYTES = 2000
MAX_LINE_BYTES = 1000
_CONTROL_TAGS = frozenset({"FMT", "LDR", "001", "002", "003", "004", "005", "006", "007", "008",
                           "009"})  # fmt: skip
_SPACE, _HYPHEN, _PERIOD, _CARET = 0x20, 0x2D, 0x2E, 0x5E
_tuple_new = tuple.__new__
_WHITESPACE = re.compile(r"\s")


def record_format(leader: str) -> str:
    """Aleph's FMT for a leader: Leader/06 type and /07 level (continuing resources are SE)."""
    kind, level = leader[6:7], leader[7:8]
    if kind in ("u", "v", "x", "y"):
        return "HO"
    if kind == "z":
        return "AU"
    if kind == "m":
        return "CF"
    if kind in ("a", "t") and level in ("b", "i", "s"):
        return "SE"
    if kind in ("e", "f"):
        return "MP"
    if kind in ("c", "d", "i", "j"):
        return "MU"
    if kind == "p":
        return "MX"
    if kind in ("g", "k", "o", "r"):
        return "VM"
    return "BK"


# --- writing -------------------------------------------------------------------------------


def _doc_number(record: pymarc.Record) -> str:
    for field in record.fields:
        if field.tag == "001" and field.control_field:
            value = (field.data or "").strip()
            if value.isdigit() and len(value) <= 9:
                return value.zfill(9)
    return "000000000"


def _blanks_to_carets(value: str) -> str:
    return _WHITESPACE.sub("^", value)


def record_to_alephseq(record: pymarc.Record, doc_number: str | int | None = None) -> bytes:
    """The record as Aleph sequential lines (UTF-8, each ending in a newline).

    The doc number comes from 001 (zero-padded to 9 digits) unless given.
    """
    if doc_number is None:
        number = _doc_number(record)
    elif isinstance(doc_number, int):
        number = f"{doc_number:09d}"
    else:
        number = doc_number.zfill(9)
    leader = str(record.leader)
    lines = [
        f"{number} FMT   L {record_format(leader)}\n".encode(),
        f"{number} LDR   L {_blanks_to_carets(leader)}\n".encode(),
    ]
    for field in record.fields:
        tag = field.tag
        if field.control_field:
            value = field.data or ""
            if "\n" in value or "\r" in value:
                raise MalformedRecordError(
                    f"field {tag} holds a line break, which Aleph sequential cannot carry",
                    position=f"field {tag}",
                )
            lines.append(f"{number} {tag}   L {_blanks_to_carets(value)}\n".encode())
            continue
        ind = field._indicators or (" ", " ")
        header = f"{number} {tag}{ind[0] or ' '}{ind[1] or ' '} L ".encode()
        subfields = []
        for code, value in field.subfields:
            if "\n" in value or "\r" in value:
                raise MalformedRecordError(
                    f"field {tag} ${code} holds a line break, which Aleph sequential cannot carry",
                    position=f"field {tag}",
                )
            subfields.append(f"$${code}{value}".encode() if code or value else b"")
        if sum(len(s) for s in subfields) > MAX_FIELD_BYTES:
            for line in _split_long_field(subfields):
                lines.append(header + line + b"\n")
        else:
            lines.append(header + b"".join(subfields) + b"\n")
    return b"".join(lines)


def write_alephseq(records: Iterable[pymarc.Record], out: IO[bytes]) -> int:
    count = 0
    for record in records:
        out.write(record_to_alephseq(record))
        count += 1
    return count


def _split_long_field(subfields: list[bytes]) -> list[bytes]:
    """Pack a long field's `$$x…` subfields into Aleph lines (see the module docstring)."""
    lines: list[bytes] = []
    current = b""
    for index, subfield in enumerate(subfields):
        if len(current) + len(subfield) <= MAX_FIELD_BYTES:
            current += subfield
            continue
        if current:
            lines.append(current)
        code = subfield[2:3]
        segment = subfield if index == 0 else _continuation_prefix(subfield, code) + subfield
        while len(segment) > MAX_LINE_BYTES:
            cut = _cut_offset(segment)
            if cut is None:
                break  # no blank to cut at: the piece stays whole rather than be corrupted
            piece = segment[:cut]
            if piece.endswith(b" "):
                piece = piece[:-1] + b"^"
            lines.append(piece)
            rest = segment[cut:]
            segment = _continuation_prefix(rest, code) + rest
        current = segment
    lines.append(current)
    return lines


def _continuation_prefix(segment: bytes, code: bytes) -> bytes:
    # A line that starts a subfield is marked $$9^; one that goes on with a subfield $$9^^$$x.
    return b"$$9^" if segment.startswith(b"$$") else b"$$9^^$$" + code


def _cut_offset(segment: bytes) -> int | None:
    """Where to end a line: after the last `-- `, else `. `, else blank that fits in 1000 bytes.

    The boundaries are searched from the second-to-last byte backwards, a candidate beyond
    the limit is dropped with everything after it (so the byte before it is never looked at
    again), and a blank right after another blank does not start a `-- ` or `. ` match,
    exactly as the reference writer does, so the fixtures' lines come out byte for byte.
    """
    for pattern_length, find in ((3, _find_dash_separator), (2, _find_period), (1, _find_space)):
        size = len(segment)  # the reference writer searches ever shorter prefixes
        while True:
            index = find(segment, size)
            if index is None:
                break
            if index + pattern_length <= MAX_LINE_BYTES:
                return index + pattern_length
            size = index
    return None


def _find_dash_separator(data: bytes, size: int | None = None) -> int | None:
    return _find_boundary(data, len(data) if size is None else size, b"-- ", _HYPHEN)


def _find_period(data: bytes, size: int | None = None) -> int | None:
    return _find_boundary(data, len(data) if size is None else size, b". ", _PERIOD)


def _find_space(data: bytes, size: int | None = None) -> int | None:
    size = len(data) if size is None else size
    index = data.rfind(b" ", 0, max(size - 1, 0))
    return None if index < 0 else index


def _find_boundary(data: bytes, size: int, pattern: bytes, mark: int) -> int | None:
    """The reference writer's backward scan of `data[:size]`, done with rfind: the start of the
    last `pattern` (marks then a blank) ending before the final byte whose blank the scan
    counts. The scan counts a blank only when it is not right after (to its right) a blank or
    mark run it is already counting, so a candidate is checked against the bytes to its right.
    """
    end = size - 1  # the scan starts at the second-to-last byte
    while True:
        start = data.rfind(pattern, 0, max(end, 0))
        if start < 0:
            return None
        if _blank_counted(data, size, start + len(pattern) - 1, mark):
            return start
        end = start + len(pattern) - 1


def _blank_counted(data: bytes, size: int, blank: int, mark: int) -> bool:
    # Walk right over blanks and marks to a byte that resets the scan, then replay it leftwards.
    right = blank + 1
    last = size - 2
    while right <= last and data[right] in (_SPACE, mark):
        right += 1
    found = 0
    for i in range(min(right, last + 1) - 1, blank, -1):
        byte = data[i]
        if found == 0 and byte == _SPACE:
            found = 1
        elif found > 0 and byte == mark:
            found += 1
        else:
            found = 0
    return found == 0


# --- reading -------------------------------------------------------------------------------


def _line_tag(line: str) -> str:
    return line[10:13]


def _is_control(tag: str) -> bool:
    return tag in _CONTROL_TAGS


def _continuation_kind(line: str, previous: str) -> int:
    """1 for a `$$9^` line, 2 for a `$$9^^` line continuing `previous`, else 0."""
    tag = _line_tag(line)
    if _is_control(tag) or not line.startswith("$$9^", 18):
        return 0
    if line[13:15] != previous[13:15] or tag != _line_tag(previous):
        return 0
    rest = line[22:]
    if rest.startswith("^"):
        # "$$9^^" then the next subfield, or the end of the line.
        if rest == "^" or rest.startswith("^$$"):
            return 2
        return 0
    if rest == "" or rest.startswith("$$"):
        return 1
    return 0


def _join_continuations(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    joined: list[tuple[int, str]] = []
    for number, line in lines:
        if joined:
            first_number, previous = joined[-1]
            kind = _continuation_kind(line, previous)
            if kind:
                if previous.endswith("^"):
                    previous = previous[:-1]
                # $$9^ continues with new subfields; $$9^^$$x goes on with subfield x's text.
                previous += line[22:] if kind == 1 else " " + line[26:]
                joined[-1] = (first_number, previous)
                continue
        joined.append((number, line))
    return joined


def _record_from_lines(lines: list[tuple[int, str]], position: str) -> pymarc.Record:
    leader = None
    fields: list[Field] = []
    new = Field.__new__
    for number, line in _join_continuations(lines):
        where = f"{position}, line {number}"
        if len(line) < 18 or line[9] != " " or line[15] != " " or line[17] != " ":
            raise MalformedRecordError(
                "not an Aleph sequential line (expected `DOCNUMBER TAGII L DATA`)",
                position=where,
            )
        tag = _line_tag(line)
        data = line[18:]
        if tag == "FMT":
            continue
        if tag == "LDR":
            leader = data.replace("^", " ")
            if len(leader) != 24:
                raise MalformedRecordError(
                    f"leader is {len(leader)} characters long, not 24",
                    position=f"{where}, leader",
                )
            continue
        field = new(Field)
        field.tag = tag
        if _is_control(tag):
            field.data = data.replace("^", " ")
            field.control_field = True
            field._indicators = None
            field.subfields = []
        else:
            if not data.startswith("$$"):
                raise MalformedRecordError(
                    f"field {tag} has no subfields (data must start with $$)",
                    position=f"{where}, field {tag}",
                )
            field.data = None
            field.control_field = False
            field._indicators = _tuple_new(Indicators, (line[13], line[14]))
            field.subfields = [
                _tuple_new(Subfield, (piece[:1], piece[1:])) for piece in data.split("$$") if piece
            ]
        fields.append(field)
    record = pymarc.Record()
    record.leader = Leader(leader if leader is not None else "00000nam a2200000 i 4500")
    record.fields = fields
    return record


def iter_alephseq_positions(
    stream: IO[bytes],
) -> Iterator[tuple[str, pymarc.Record | None, MalformedRecordError | None]]:
    """(position, record, error) per doc number; a bad record is reported, the rest read."""
    number = 0
    current_doc: str | None = None
    buffer: list[tuple[int, str]] = []
    start_line = 0

    def finish() -> tuple[str, pymarc.Record | None, MalformedRecordError | None]:
        position = f"record {number}, line {start_line}"
        try:
            return position, _record_from_lines(buffer, f"record {number}"), None
        except MalformedRecordError as exc:
            return position, None, exc

    for line_number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            position = f"record {number + (0 if buffer else 1)}, line {line_number}"
            yield (
                position,
                None,
                MalformedRecordError(
                    f"line is not valid UTF-8 (byte {exc.start} of the line)", position=position
                ),
            )
            continue
        if not line:
            continue
        doc = line.split(" ", 1)[0]
        if doc != current_doc:
            if buffer:
                yield finish()
            number += 1
            current_doc = doc
            buffer = []
            start_line = line_number
        buffer.append((line_number, line))
    if buffer:
        yield finish()


def iter_alephseq(stream: IO[bytes]) -> Iterator[pymarc.Record]:
    """Stream records from Aleph sequential lines (grouped by doc number)."""
    for _position, record, error in iter_alephseq_positions(stream):
        if error is not None:
            raise error
        assert record is not None
        yield record


def parse_alephseq(data: bytes | str) -> pymarc.Record:
    """Read exactly one record from Aleph sequential text."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    records = list(iter_alephseq(io.BytesIO(raw)))
    if len(records) != 1:
        raise MalformedRecordError(f"expected one Aleph sequential record, found {len(records)}")
    return records[0]
