"""The gateway's one XML configuration: reading without DTDs or entities, escaping every echo.

Every XML input (X-server `xml_full_req`, SRW/SOAP bodies, the admin seed body, publishing
files, MARCXML and oai_marc records) is read through this module. A document type declaration
is refused outright, never half-honoured: with entities left unresolved lxml would keep the
text around an entity and silently drop the entity itself, so a record would lose data
without a word. The refusal is an `XMLSyntaxError` subclass, so every reader answers it with
the error it already gives for XML that is not well-formed, in its own protocol's terms.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import IO, Any, Final
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr as _quoteattr

from lxml import etree

# The only parser options the gateway uses. `huge_tree` stays off: libxml2 then caps one text
# node at 10 MB and nesting at 256 levels, far above any MARC record and far below harm.
PARSER_OPTIONS: Final[dict[str, Any]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}

DOCTYPE_REFUSED: Final = "a document type declaration (DOCTYPE) is not accepted"

# Characters XML 1.0 cannot carry at all, not even escaped.
XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_local = threading.local()


class DoctypeRefusedError(etree.XMLSyntaxError):
    """A document declares a DOCTYPE (a DTD, entities): refused like any XML that is not well-formed."""

    def __init__(self, line: int = 1) -> None:
        super().__init__(DOCTYPE_REFUSED, 0, line, 1)  # type: ignore[call-arg,arg-type]


def new_parser(**extra: Any) -> etree.XMLParser:
    """A parser with the gateway's options (plus e.g. `target`, `remove_comments`)."""
    return etree.XMLParser(**PARSER_OPTIONS, **extra)


def parser() -> etree.XMLParser:
    """The calling thread's parser (lxml parsers are not thread-safe)."""
    found: etree.XMLParser | None = getattr(_local, "parser", None)
    if found is None:
        found = new_parser()
        _local.parser = found
    return found


def refuse_doctype(element: Any) -> None:
    """Raise DoctypeRefusedError when the document of `element` has a DOCTYPE."""
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise DoctypeRefusedError()


def parse(data: bytes, xml_parser: etree.XMLParser | None = None) -> Any:
    """The root element of a whole document; XMLSyntaxError when it is not acceptable."""
    root = etree.fromstring(data, xml_parser if xml_parser is not None else parser())
    refuse_doctype(root)
    return root


def parse_file(path: str, xml_parser: etree.XMLParser | None = None) -> Any:
    """`etree.parse` of a file with the gateway's options (a target parser returns its result)."""
    result = etree.parse(path, xml_parser if xml_parser is not None else parser())
    if isinstance(result, etree._ElementTree):
        refuse_doctype(result.getroot())
    return result


def iterparse(source: str | IO[bytes] | Any, **options: Any) -> ParseEvents:
    """lxml's iterparse with the gateway's options; the DOCTYPE check comes before any event."""
    return ParseEvents(etree.iterparse(source, **PARSER_OPTIONS, **options))


class ParseEvents:
    """The events of an lxml iterparse, refused whole when the document has a DOCTYPE.

    The first event is only reported once its document's prolog has been read, so no element
    of a refused document is ever handed on.
    """

    def __init__(self, context: Any) -> None:
        self._context = context

    @property
    def root(self) -> Any:
        return self._context.root

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        checked = False
        for event, element in self._context:
            if not checked:
                refuse_doctype(element)
                checked = True
            yield event, element
        if not checked and self._context.root is not None:
            refuse_doctype(self._context.root)


def clean_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (every echoed value goes through it)."""
    return XML_ILLEGAL.sub("", value) if XML_ILLEGAL.search(value) else value


# Past this much markup (tags and attributes: each `<` and `=`) read without a record ending,
# a document is refused rather than held: a MARC record has a few thousand elements at most
# (ISO 2709 caps one at 99,999 bytes), while millions of small elements, or one start tag of
# a million attributes, would otherwise cost gigabytes (libxml2 keeps ~300 bytes for each).
MAX_MARKUP_BETWEEN_RECORDS: Final = 150_000


class OversizedRecordError(etree.XMLSyntaxError):
    """Too much markup without a record ending: the document is refused, not held."""

    def __init__(self, line: int) -> None:
        message = f"more than {MAX_MARKUP_BETWEEN_RECORDS} tags and attributes without a record ending"
        super().__init__(message, 0, line, 1)  # type: ignore[call-arg,arg-type]


class _CountedSource:
    """The parser's byte source, counting the markup it hands over (at C speed, per chunk)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.markup = 0  # since the last record ended
        self.lines = 1

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.markup += data.count(b"<") + data.count(b"=")
        if self.markup > MAX_MARKUP_BETWEEN_RECORDS:
            raise OversizedRecordError(self.lines)
        self.lines += data.count(b"\n")
        return data


class RecordElements:
    """The record elements of a document, streamed in constant memory.

    Each record element is handed on once complete and dropped, with everything before it,
    when the next is asked for. lxml picks the records out itself (no Python step per
    element); what is not a record can only pile up between two of them, and the source
    counts markup to refuse a document once too much has been read without a record ending.
    """

    def __init__(self, source: str | IO[bytes] | Any, record_tags: frozenset[str]) -> None:
        self._source = source
        self._record_tags = record_tags
        self._events: ParseEvents | None = None
        self.foreign = 0  # elements other than records, in a document without records

    @property
    def root(self) -> Any:
        return self._events.root if self._events is not None else None

    def __iter__(self) -> Iterator[Any]:
        with contextlib.ExitStack() as stack:
            stream = self._source
            if isinstance(stream, str):
                stream = stack.enter_context(open(stream, "rb"))
            counted = _CountedSource(stream)
            self._events = iterparse(
                counted,
                events=("end",),
                tag=tuple(self._record_tags),
                remove_comments=True,
                remove_pis=True,
            )
            records = 0
            for _event, element in self._events:
                records += 1
                counted.markup = 0
                yield element
                element.clear(keep_tail=False)
                # everything before it is read: wrappers (an OAI-PMH <record>) go too
                for node in [element, *element.iterancestors()]:
                    parent = node.getparent()
                    at = parent.index(node) if parent is not None else 0
                    if at:
                        del parent[:at]
            root = self._events.root
            if not records and root is not None:
                self.foreign = sum(1 for _ in root.iter()) - 1


# The refusals of a well-formed document (as against XML that is not well-formed).
REFUSALS: Final = (DoctypeRefusedError, OversizedRecordError)


def escape(text: str) -> str:
    """`text` for XML character data: markup escaped, characters XML cannot carry dropped.

    Every value a response echoes (a query, a parameter name, a verb) goes through this or
    `quoteattr`, so a control character in a request can never make an answer ill-formed.
    """
    return _escape(clean_text(text))


def quoteattr(value: str) -> str:
    """`value` as a quoted XML attribute value, characters XML cannot carry dropped."""
    return _quoteattr(clean_text(value))
