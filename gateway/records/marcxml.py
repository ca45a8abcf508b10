"""MARCXML codec: compact, deterministic bytes for the store and fast lxml-based reading."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, Final, NamedTuple

import pymarc
from lxml import etree
from pymarc import Field, Indicators, Leader, Subfield

from gateway.errors import MalformedRecordError
from gateway.records import xmlsafe

MARC_NS = "http://www.loc.gov/MARC21/slim"
COLLECTION_START = b'<collection xmlns="http://www.loc.gov/MARC21/slim">'
COLLECTION_END = b"</collection>"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

_RECORD_START = '<record xmlns="http://www.loc.gov/MARC21/slim">'

# Element names in both forms, so one dict lookup classifies a child of <record>.
_LEADER, _CONTROL, _DATA = 0, 1, 2
_KINDS: dict[str, int] = {}
for _ns in ("", "{%s}" % MARC_NS):  # noqa: UP031 - literal braces of Clark notation
    _KINDS[_ns + "leader"] = _LEADER
    _KINDS[_ns + "controlfield"] = _CONTROL
    _KINDS[_ns + "datafield"] = _DATA
_RECORD_TAGS = ("record", "{%s}record" % MARC_NS)  # noqa: UP031
_COLLECTION_TAGS = ("collection", "{%s}collection" % MARC_NS)  # noqa: UP031

# pymarc's Record() rewrites leader positions 10-11 and 20-23; records read from files must
# keep the leader they came with, so the codecs set it after construction. Aleph writes a
# blank in fixed fields as `^` and some exported records carry that into their MARCXML
# leader; every reader turns it back into a blank, so the model (and the MARC21 slim
# schema's leader pattern) only ever sees blanks.
DEFAULT_LEADER = "00000nam a2200000 i 4500"

# Characters XML 1.0 cannot carry at all (not even escaped).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Escaped on output: markup characters, and the whitespace XML would normalise away on reading
# (CR in text, TAB/LF/CR in attribute values), so every value reads back exactly.
_NEEDS_ESCAPE = re.compile('[&<>"\t\n\r]')
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_ENTITY = re.compile("&(?:amp|lt|gt|quot|#9|#10|#13);")
_tuple_new = tuple.__new__
# The same set as bytes, for a C-speed scan of UTF-8 (U+FFFE/U+FFFF are checked separately).
_ILLEGAL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32)])


def has_illegal(encoded: bytes) -> bool:
    """Whether UTF-8 bytes hold a character XML 1.0 cannot carry (faster than a regex)."""
    return (
        len(encoded.translate(None, _ILLEGAL_BYTES)) != len(encoded)
        or b"\xef\xbf\xbe" in encoded
        or b"\xef\xbf\xbf" in encoded
    )


def xml_problem(exc: etree.XMLSyntaxError) -> str:
    """What is wrong with a document lxml refused, in a line."""
    if isinstance(exc, xmlsafe.REFUSALS):
        return str(exc.msg)
    return f"not well-formed XML: {exc.msg}"


def xml_pull_parser(tags: Sequence[str]) -> etree.XMLPullParser:
    """A push parser for a document read in pieces (an OAI-PMH page as it streams in), with
    the gateway's parser settings: "end" events of the elements `tags`."""
    return etree.XMLPullParser(events=("end",), tag=list(tags), **xmlsafe.PARSER_OPTIONS)


def new_record(leader: str = DEFAULT_LEADER, fields: list[Field] | None = None) -> pymarc.Record:
    """A pymarc record with exactly this leader and these fields."""
    record = pymarc.Record()
    record.leader = Leader(leader)
    if fields:
        record.fields = fields
    return record


def control_field(tag: str, data: str) -> Field:
    return Field(tag=tag, data=data)


def data_field(tag: str, ind1: str, ind2: str, subfields: list[Subfield]) -> Field:
    """A data field built without pymarc's per-call checks (hot path of every reader)."""
    field = Field.__new__(Field)
    field.tag = tag
    field.data = None
    field.control_field = False
    field._indicators = Indicators(ind1, ind2)
    field.subfields = subfields
    return field


def _indicator(value: str | None) -> str:
    # A missing or empty indicator is a blank, as in every MARC21 reader.
    if not value:
        return " "
    return value


def record_from_element(
    element: Any, position: str = "record 1", line_offset: int = 0
) -> pymarc.Record:
    """Build a pymarc record from a MARCXML `<record>` element (namespaced or not)."""
    leader = DEFAULT_LEADER
    fields: list[Field] = []
    kinds = _KINDS
    for child in element:
        kind = kinds.get(child.tag)
        if kind is None:
            if isinstance(child.tag, str):
                raise MalformedRecordError(
                    f"unexpected element <{etree.QName(child).localname}> in <record>",
                    position=f"{position}, line {child.sourceline + line_offset}",
                )
            continue  # comments and processing instructions
        if kind == _DATA:
            tag = child.get("tag")
            if not tag:
                raise MalformedRecordError(
                    "datafield without a tag attribute",
                    position=f"{position}, line {child.sourceline + line_offset}",
                )
            subfields = []
            for sub in child:
                code = sub.get("code")
                if code is None:
                    if not isinstance(sub.tag, str):
                        continue
                    raise MalformedRecordError(
                        "subfield without a code attribute",
                        position=f"{position}, line {sub.sourceline + line_offset}, field {tag}",
                    )
                subfields.append(Subfield(code, sub.text or ""))
            fields.append(
                data_field(
                    tag, _indicator(child.get("ind1")), _indicator(child.get("ind2")), subfields
                )
            )
        elif kind == _CONTROL:
            tag = child.get("tag")
            if not tag:
                raise MalformedRecordError(
                    "controlfield without a tag attribute",
                    position=f"{position}, line {child.sourceline + line_offset}",
                )
            field = Field.__new__(Field)
            field.tag = tag
            field.data = child.text or ""
            field.control_field = True
            field._indicators = None
            field.subfields = []
            fields.append(field)
        else:
            leader = (child.text or "").replace("^", " ")
            if len(leader) != 24:
                raise MalformedRecordError(
                    f"leader is {len(leader)} characters long, not 24",
                    position=f"{position}, line {child.sourceline + line_offset}, leader",
                )
    record = pymarc.Record()
    record.leader = Leader(leader)
    record.fields = fields
    return record


def xml_bytes(data: bytes | str) -> bytes:
    """Bytes for lxml: text is encoded as UTF-8 and loses a declaration naming another encoding."""
    if isinstance(data, bytes):
        return data
    raw = data.encode("utf-8")
    declaration = _DECLARATION.match(raw)
    return raw[declaration.end() :] if declaration is not None else raw


def _root(data: bytes | str) -> Any:
    data = xml_bytes(data)
    try:
        return xmlsafe.parse(data)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise MalformedRecordError(xml_problem(exc), position=f"line {line}") from None


def parse_marcxml(data: bytes | str) -> pymarc.Record:
    """Read one record from a MARCXML `<record>` or a one-record `<collection>`.

    Bytes in the compact form `record_to_marcxml` writes (what the store keeps) are read by
    a string-splitting fast path; anything else, or anything that path is unsure of, by lxml.
    """
    encoded = data.encode("utf-8") if isinstance(data, str) else data
    if encoded.startswith(COMPACT_PREFIX_BYTES) and not has_illegal(encoded):
        try:
            text = encoded.decode("utf-8")
        except UnicodeDecodeError:
            text = ""  # lxml reports where
        record = _parse_compact(text) if text else None
        if record is not None:
            return record
    root = _root(data)
    if root.tag in _RECORD_TAGS:
        return record_from_element(root)
    if root.tag in _COLLECTION_TAGS:
        records = [child for child in root if child.tag in _RECORD_TAGS]
        if len(records) != 1:
            raise MalformedRecordError(
                f"expected one record in <collection>, found {len(records)}", position="line 1"
            )
        return record_from_element(records[0])
    name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
    raise MalformedRecordError(
        f"expected a MARCXML <record> or <collection>, found <{name}>",
        position=f"line {root.sourceline}",
    )


# model.StoredRecord.record() reads the store's bytes through this name.
parse_record = parse_marcxml

COMPACT_PREFIX = _RECORD_START + "<leader>"
COMPACT_PREFIX_BYTES = COMPACT_PREFIX.encode("ascii")
_LEADER_AT = len(COMPACT_PREFIX)


def unescape_compact(value: str) -> str | None:
    """Undo `escape_text`; None when the value holds any other reference (lxml must read it)."""
    if "&" not in value:
        return value
    plain = _ENTITY.sub(_unescape_match, value)
    if "&" in _ENTITY.sub("", value):
        return None
    return plain


def _unescape_match(match: re.Match[str]) -> str:
    return _UNESCAPES[match.group()]


class Markup(NamedTuple):
    """The element markup of a record format written by this package's own writers, which
    `compact_record` reads by splitting strings (MARCXML's compact form, oai_marc)."""

    data_open: str  # '<datafield tag="': what each data field starts with, up to its tag
    ind1: str  # '" ind1="'
    ind2: str  # '" ind2="'
    data_close: str
    subfield_open: str  # up to the subfield's code
    control_open: str  # up to the control field's tag
    control_close: str
    blank: str  # what the format writes for a blank in a control field's data
    dropped: str  # a control field's tag that is no field of the record ("" none)


COMPACT_MARKUP: Final = Markup(
    '<datafield tag="',
    '" ind1="',
    '" ind2="',
    "</datafield>",
    '<subfield code="',
    '<controlfield tag="',
    "</controlfield>",
    " ",
    "",
)


def _control_fields(
    part: str, fields: list[Field], escaped: bool, markup: Markup
) -> int | None:
    """Append the control fields `part` is made of; None if it is not that, else how many
    were dropped (`markup.dropped`)."""
    pieces = part.split(markup.control_close)
    if pieces.pop() != "":
        return None
    new = Field.__new__
    opening, skip = markup.control_open, len(markup.control_open)
    blank, dropped_tag = markup.blank, markup.dropped
    dropped = 0
    for piece in pieces:
        if not piece.startswith(opening):
            return None
        tag, sep, value = piece[skip:].partition('">')
        if not sep:
            return None
        if escaped:
            tag_u, value_u = unescape_compact(tag), unescape_compact(value)
            if tag_u is None or value_u is None:
                return None
            tag, value = tag_u, value_u
        if dropped_tag and tag == dropped_tag:
            dropped += 1
            continue
        if blank != " ":
            value = value.replace(blank, " ")
        field = new(Field)
        field.tag = tag
        field.data = value
        field.control_field = True
        field._indicators = None
        field.subfields = []
        fields.append(field)
    return dropped


def parse_compact_marcxml(text: str) -> pymarc.Record | None:
    """The record of text in exactly the compact form `record_to_marcxml` writes (characters
    XML cannot carry checked by the caller), or None for anything else."""
    return _parse_compact(text)


def _parse_compact(text: str) -> pymarc.Record | None:
    """Read the exact form `record_to_marcxml` writes, or None to let lxml read it.

    Every structural assumption is checked (and the count of `<` must match the elements
    found), so input that merely looks compact falls through to the real XML parser.
    """
    at = _LEADER_AT
    if text[at + 24 : at + 33] != "</leader>" or not text.endswith("</record>"):
        return None
    if "]]>" in text:
        return None
    escaped = "&" in text
    leader = text[at : at + 24].replace("^", " ")
    if escaped and "&" in leader:
        return None
    # <record>, <leader> and their ends: four '<'
    return compact_record(text, text[at + 33 : -9], leader, escaped, COMPACT_MARKUP, 4)


def compact_record(
    text: str, body: str, leader: str, escaped: bool, markup: Markup, framing: int
) -> pymarc.Record | None:
    """The record of `text`, whose fields are `body` (see `_compact_fields`), the rest of it
    `framing` '<'s; None unless each element holds exactly two '<' (comments, CDATA: lxml)."""
    fields: list[Field] = []
    counted = _compact_fields(body, fields, escaped, markup)
    if counted is None or text.count("<") != framing + 2 * counted:
        return None
    record = pymarc.Record()
    record.leader = Leader(leader)
    record.fields = fields
    return record


def _compact_fields(body: str, fields: list[Field], escaped: bool, markup: Markup) -> int | None:
    """Append the fields of `body`, a record's fields in exactly the form this package's
    writer of `markup` writes them; None for anything else, else the number of elements
    read (fields, subfields and dropped control fields), each of which holds two '<'."""
    opening, ind1_mark, ind2_mark = markup.data_open, markup.ind1, markup.ind2
    ind1_at = len(ind1_mark)
    ind2_at = ind1_at + 1 + len(ind2_mark)
    closing, sub_open = markup.data_close, markup.subfield_open
    sub_skip, sub_between = len(sub_open), "</subfield>" + sub_open
    chunks = body.split(opening)
    first, elements = len(fields), 0
    if chunks[0]:
        dropped = _control_fields(chunks[0], fields, escaped, markup)
        if dropped is None:
            return None
        elements += dropped
    new = Field.__new__
    for chunk in chunks[1:]:
        head, sep, tail = chunk.partition(closing)
        q = head.find(ind1_mark)
        if (
            not sep
            or q < 0
            or head[q + ind1_at + 1 : q + ind2_at] != ind2_mark
            or head[q + ind2_at + 1 : q + ind2_at + 3] != '">'
        ):
            return None
        tag, ind1, ind2 = head[:q], head[q + ind1_at], head[q + ind2_at]
        subfields: list[Subfield] = []
        rest = head[q + ind2_at + 3 :]
        if rest:
            if not rest.startswith(sub_open) or not rest.endswith("</subfield>"):
                return None
            for piece in rest[sub_skip:-11].split(sub_between):
                code, sep, value = piece.partition('">')
                if not sep:
                    return None
                if escaped:
                    code_u, value_u = unescape_compact(code), unescape_compact(value)
                    if code_u is None or value_u is None:
                        return None
                    code, value = code_u, value_u
                subfields.append(_tuple_new(Subfield, (code, value)))
            elements += len(subfields)
        if escaped:
            tag_u = unescape_compact(tag)
            if tag_u is None or "&" in ind1 or "&" in ind2:
                return None
            tag = tag_u
        field = new(Field)
        field.tag = tag
        field.data = None
        field.control_field = False
        field._indicators = _tuple_new(Indicators, (ind1, ind2))
        field.subfields = subfields
        fields.append(field)
        if tail:
            dropped = _control_fields(tail, fields, escaped, markup)
            if dropped is None:
                return None
            elements += dropped
    return elements + len(fields) - first


def escape_text(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    return _NEEDS_ESCAPE.sub(_escape_match, value)


def _escape_match(match: re.Match[str]) -> str:
    return _ESCAPES[match.group()]


def record_to_marcxml(record: pymarc.Record) -> bytes:
    """The compact MARCXML form the store keeps and protocols splice (UTF-8, no declaration).

    Deterministic: fields in record order, attributes in a fixed order, `& < > "` and
    TAB/LF/CR escaped the same way wherever they occur. Raises MalformedRecordError for a
    character XML cannot carry (a control code), naming the field.
    """
    text = _compact_unescaped(record)
    if text is None:
        text = _compact_escaped(record)
    encoded = text.encode("utf-8")
    if has_illegal(encoded):
        raise_illegal_characters(record)
    return encoded


def _compact_unescaped(record: pymarc.Record) -> str | None:
    """The common case, values needing no escapes: build raw, then prove it by counting."""
    parts = [_RECORD_START, "<leader>", str(record.leader), "</leader>"]
    append = parts.append
    controls = datas = subfield_count = 0
    for field in record.fields:
        if field.control_field:
            append(f'<controlfield tag="{field.tag}">{field.data or ""}</controlfield>')
            controls += 1
        else:
            ind = field._indicators or ("", "")
            subfields = field.subfields
            append(f'<datafield tag="{field.tag}" ind1="{ind[0] or " "}" ind2="{ind[1] or " "}">')
            append("".join([f'<subfield code="{c}">{v}</subfield>' for c, v in subfields]))
            append("</datafield>")
            datas += 1
            subfield_count += len(subfields)
    append("</record>")
    text = "".join(parts)
    # Markup alone accounts for every bracket and quote; any extra one came from a value.
    brackets = 4 + 2 * (controls + datas + subfield_count)
    if (
        text.count("<") != brackets
        or text.count(">") != brackets
        or text.count('"') != 2 + 2 * controls + 6 * datas + 2 * subfield_count
        or "&" in text
        or "\t" in text
        or "\n" in text
        or "\r" in text
    ):
        return None
    return text


def _compact_escaped(record: pymarc.Record) -> str:
    esc = escape_text
    parts = [_RECORD_START, "<leader>", esc(str(record.leader)), "</leader>"]
    append = parts.append
    for field in record.fields:
        if field.control_field:
            append(f'<controlfield tag="{esc(field.tag)}">{esc(field.data or "")}</controlfield>')
        else:
            ind = field._indicators or ("", "")
            append(
                f'<datafield tag="{esc(field.tag)}" ind1="{esc(ind[0] or " ")}" '
                f'ind2="{esc(ind[1] or " ")}">'
            )
            append(
                "".join(
                    [f'<subfield code="{esc(c)}">{esc(v)}</subfield>' for c, v in field.subfields]
                )
            )
            append("</datafield>")
    append("</record>")
    return "".join(parts)


def raise_illegal_characters(record: pymarc.Record) -> None:
    """Name the field holding a character XML cannot carry (a control code, usually)."""
    for field in record.fields:
        values = [field.data or ""] if field.control_field else [v for _, v in field.subfields]
        for value in [field.tag, *values]:
            found = _XML_ILLEGAL.search(value)
            if found:
                raise MalformedRecordError(
                    f"field {field.tag} contains character U+{ord(found.group()):04X}, "
                    "which XML cannot carry",
                    position=f"field {field.tag}",
                )
    raise MalformedRecordError("the record contains a character XML cannot carry")


RecordResult = tuple[str, pymarc.Record | None, MalformedRecordError | None]

_DECLARATION = re.compile(rb"\s*<\?xml[^>]*\?>\s*")
_UTF8 = re.compile(rb"""encoding\s*=\s*["']utf-?8["']""", re.IGNORECASE)
_CHUNK = 1 << 16
_NON_SPACE = re.compile(rb"\S")


class _Chain:
    """Bytes already read, then the rest of a stream: lets a reader change its mind."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                return head if size < 0 else head + self._rest.read(size - len(head))
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._rest.read(size)


def _compact_start(head: bytes) -> int | None:
    """Offset just past `<collection xmlns=…>` when the file is in the form we write."""
    at = 0
    declaration = _DECLARATION.match(head)
    if declaration is not None:
        text = declaration.group()
        if b"encoding" in text and not _UTF8.search(text):
            return None
        at = declaration.end()
    if head.startswith(COLLECTION_START, at):
        return at + len(COLLECTION_START)
    return None


def is_compact_collection(head: bytes) -> bool:
    """Whether a MARCXML file's first bytes open a collection in the form this module writes."""
    return _compact_start(head) is not None


def iter_marcxml_positions(
    stream: IO[bytes], prepare: Callable[[bytes], Any] | None = None
) -> Iterator[tuple[str, Any, MalformedRecordError | None]]:
    """(position, record, error) per `<record>`; a bad record is reported and skipped.

    Files in the compact form this module writes (our own exports and dumps) are cut at
    `</record>` and read by the fast path, in constant memory; at anything unexpected, and
    for every other file, lxml's iterparse reads on from that record. XML that is not
    well-formed ends the stream with one error: nothing after it can be trusted to belong
    to the record it seems to.

    `prepare`, when given, sees the bytes of each record cut that way first; what it returns,
    unless None, stands in for the record (a bulk load prepares them without pymarc).
    """
    head = stream.read(_CHUNK)
    start = _compact_start(head)
    if start is None:
        yield from _iterparse_positions(_Chain(head, stream), 0, 0)
    else:
        yield from _compact_positions(head, start, stream, prepare)


def _compact_positions(
    buffer: bytes, pos: int, stream: IO[bytes], prepare: Callable[[bytes], Any] | None = None
) -> Iterator[tuple[str, Any, MalformedRecordError | None]]:
    number = 0
    line = 1 + buffer.count(b"\n", 0, pos)
    eof = False
    while True:
        # Skip the whitespace between records, reading on as needed.
        while True:
            found = _NON_SPACE.search(buffer, pos)
            skip_to = found.start() if found is not None else len(buffer)
            line += buffer.count(b"\n", pos, skip_to)
            pos = skip_to
            if pos < len(buffer) - 16 or eof:
                break
            chunk = stream.read(_CHUNK)
            eof = not chunk
            buffer = buffer[pos:] + chunk
            pos = 0
        if buffer.startswith(b"</collection>", pos) and eof and not buffer[pos + 13 :].strip():
            return
        end = buffer.find(b"</record>", pos) if buffer.startswith(b"<record", pos) else -2
        while end == -1 and not eof:
            chunk = stream.read(_CHUNK)
            eof = not chunk
            buffer = buffer[pos:] + chunk
            pos = 0
            end = buffer.find(b"</record>")
        if end < 0:
            break  # not one of our records next: lxml reads (and judges) the rest
        piece = buffer[pos : end + 9]
        position = f"record {number + 1}, line {line}"
        record = prepare(piece) if prepare is not None else None
        if record is None:
            record = _parse_compact_bytes(piece)
        if record is None:
            try:
                element = xmlsafe.parse(piece)
            except etree.XMLSyntaxError:
                break  # e.g. "</record>" inside a comment: only a real parser can tell
            number += 1
            try:
                record = record_from_element(element, f"record {number}", line - 1)
            except MalformedRecordError as exc:
                yield position, None, exc
                record = None
        else:
            number += 1
        if record is not None:
            yield position, record, None
        line += piece.count(b"\n")
        pos = end + 9
        if pos > _CHUNK:
            buffer = buffer[pos:]
            pos = 0
    rest = COLLECTION_START + buffer[pos:]
    yield from _iterparse_positions(_Chain(rest, stream), number, line - 1)


def _parse_compact_bytes(piece: bytes) -> pymarc.Record | None:
    if not piece.startswith(COMPACT_PREFIX_BYTES) or has_illegal(piece):
        return None
    try:
        return _parse_compact(piece.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _iterparse_positions(source: Any, number: int, line_offset: int) -> Iterator[RecordResult]:
    elements = xmlsafe.RecordElements(source, frozenset(_RECORD_TAGS))
    try:
        for element in elements:
            number += 1
            position = f"record {number}, line {element.sourceline + line_offset}"
            try:
                record = record_from_element(element, f"record {number}", line_offset)
            except MalformedRecordError as exc:
                yield position, None, exc
            else:
                yield position, record, None
    except etree.XMLSyntaxError as exc:
        line = (exc.position[0] if exc.position else exc.lineno) + line_offset
        position = f"record {number + 1}, line {line}"
        yield (
            position,
            None,
            MalformedRecordError(xml_problem(exc), position=position),
        )


def iter_marcxml(stream: IO[bytes]) -> Iterator[pymarc.Record]:
    """Stream records from a MARCXML file (a `<collection>` or a bare `<record>`)."""
    for _position, record, error in iter_marcxml_positions(stream):
        if error is not None:
            raise error
        assert record is not None
        yield record


def write_marcxml_collection(
    records: Iterable[pymarc.Record], out: IO[bytes], *, xml_declaration: bool = True
) -> int:
    """Write records as one `<collection>`; returns how many were written."""
    if xml_declaration:
        out.write(XML_DECLARATION)
    out.write(COLLECTION_START)
    count = 0
    for record in records:
        out.write(record_to_marcxml(record))
        count += 1
    out.write(COLLECTION_END)
    return count


def field_to_marcxml(field: Field) -> str:
    """One field in the store's compact MARCXML form, exactly as `record_to_marcxml` writes it.

    With `assemble_marcxml` it lets a caller serialise a field once and reuse the text in
    two views of a record (fin01 and fin01alma share most fields).
    """
    esc = escape_text
    if field.control_field:
        return f'<controlfield tag="{_short(field.tag)}">{esc(field.data or "")}</controlfield>'
    ind = field._indicators or ("", "")
    subfields = "".join(
        [
            f'<subfield code="{_short(code)}">{value if _NEEDS_ESCAPE.search(value) is None else esc(value)}</subfield>'
            for code, value in field.subfields
        ]
    )
    return (
        f'<datafield tag="{_short(field.tag)}" ind1="{_short(ind[0] or " ")}" '
        f'ind2="{_short(ind[1] or " ")}">{subfields}</datafield>'
    )


_SHORT_CACHE: dict[str, str] = {}


def _short(value: str) -> str:
    """Tags, indicators and codes repeat endlessly: escape each distinct one once."""
    found = _SHORT_CACHE.get(value)
    if found is None:
        found = escape_text(value)
        if len(_SHORT_CACHE) < 4096:
            _SHORT_CACHE[value] = found
    return found


def assemble_marcxml(record: pymarc.Record, parts: Iterable[str]) -> bytes:
    """`record`'s leader and the given field texts as one compact `<record>` (see above)."""
    encoded = "".join(
        [_RECORD_START, "<leader>", escape_text(str(record.leader)), "</leader>", *parts, "</record>"]
    ).encode("utf-8")
    if has_illegal(encoded):
        raise_illegal_characters(record)
    return encoded
