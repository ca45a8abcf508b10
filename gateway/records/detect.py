"""Read a file of records in any form: MARCXML, ISO 2709 or Aleph sequential, gzipped or not."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar, overload

import pymarc

from gateway.errors import MalformedRecordError
from gateway.records.alephseq import iter_alephseq_positions
from gateway.records.iso2709 import iter_iso2709_positions
from gateway.records.marcxml import iter_marcxml_positions

MARCXML = "marcxml"
ISO2709 = "iso2709"
ALEPHSEQ = "alephseq"

RecordResult = tuple[str, pymarc.Record | None, MalformedRecordError | None]
T = TypeVar("T")

_GZIP_MAGIC = b"\x1f\x8b"
_ALEPHSEQ_LINE = re.compile(rb"^\d{9} [0-9A-Za-z]{3}.. \S ")
_HEAD_BYTES = 4096


def detect_format(head: bytes) -> str | None:
    """Which form the first bytes of a (decompressed) file are in, or None."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return MARCXML
    if _ALEPHSEQ_LINE.match(text):
        return ALEPHSEQ
    if len(text) >= 24 and text[:5].isdigit() and text[12:17].isdigit() and b"\x1e" in text:
        return ISO2709
    return None


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to detect the form) and are put back."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _read_head(stream: IO[bytes]) -> bytes:
    head = b""
    while len(head) < _HEAD_BYTES:
        chunk = stream.read(_HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def file_head(path: str | Path) -> bytes:
    """A file's first bytes as read (decompressed if gzipped; empty if unreadable)."""
    try:
        with open(path, "rb") as handle:
            head = _read_head(handle)
            if not head.startswith(_GZIP_MAGIC):
                return head
            handle.seek(0)
            with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                return _read_head(unzipped)  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error):
        return b""


@overload
def read_records(source: str | Path | IO[bytes]) -> Iterator[RecordResult]: ...


@overload
def read_records(
    source: str | Path | IO[bytes], prepare: Callable[[bytes], T | None]
) -> Iterator[tuple[str, pymarc.Record | T | None, MalformedRecordError | None]]: ...


def read_records(
    source: str | Path | IO[bytes], prepare: Callable[[bytes], Any] | None = None
) -> Iterator[tuple[str, Any, MalformedRecordError | None]]:
    """(position, record, error) for every record of a file or binary stream.

    The form is detected from the content (a `.gz` name or gzip magic bytes means
    compressed). A bad record comes as (position, None, MalformedRecordError) and reading
    goes on where the form allows it; the position names the record and the line or byte.
    `prepare` may stand in for the parsing of MARCXML records in the store's compact form
    (see `iter_marcxml_positions`).
    """
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield from _read_stream(handle, prepare)
    else:
        yield from _read_stream(source, prepare)


def _read_stream(
    stream: IO[bytes], prepare: Callable[[bytes], Any] | None = None
) -> Iterator[tuple[str, Any, MalformedRecordError | None]]:
    try:
        head = _read_head(stream)
        if head.startswith(_GZIP_MAGIC):
            # Decompress lazily: the raw stream again with its head put back.
            raw = io.BufferedReader(_Prefixed(head, stream))
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            head = _read_head(stream)
    except (OSError, EOFError, zlib.error) as exc:
        yield (
            "byte 0",
            None,
            MalformedRecordError(f"cannot read the file: {exc}", position="byte 0"),
        )
        return
    if not head.strip():
        return
    form = detect_format(head)
    if form is None:
        yield (
            "byte 0",
            None,
            MalformedRecordError("not MARCXML, ISO 2709 or Aleph sequential", position="byte 0"),
        )
        return
    buffered = io.BufferedReader(_Prefixed(head, stream))
    if form == MARCXML:
        results = iter_marcxml_positions(buffered, prepare)
    elif form == ISO2709:
        results = iter_iso2709_positions(buffered)
    else:
        results = iter_alephseq_positions(buffered)
    last = "byte 0"
    try:
        for result in results:
            last = result[0]
            yield result
    except (OSError, EOFError, zlib.error) as exc:
        yield (
            f"after {last}",
            None,
            MalformedRecordError(
                f"the file could not be read to its end: {exc}", position=f"after {last}"
            ),
        )
