"""Bulk-load preparation straight from the bytes of a MARCXML record in the store's form.

A load spends most of its time turning each record into what the store keeps: both views'
bytes, the index terms and the sort keys. For a record already in the compact form the
store writes (our own exports, the generator's files), the fin01 view IS the input bytes,
and the fin01alma view differs only in a few fields; so only the fields an index, an OAI
set, the Melinda ID or the fin01alma rules look at are parsed, and the shared rules run on
a record of just those fields. Anything not provably in that form returns None and goes
the full way (pymarc), so both ways give the same bytes, terms and keys
(tests/unit/test_loading.py compares them).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import re
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Final, NamedTuple

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

from gateway import indexing, records
from gateway.errors import MalformedRecordError
from gateway.oai_sets import oai_sets_of
from gateway.records import splice
from gateway.records.detect import MARCXML, detect_format, file_head, read_records
from gateway.records.iso2709 import iso2709_head, marcxml_to_iso2709, unescape_values
from gateway.records.marcxml import (
    COMPACT_PREFIX,
    COMPACT_PREFIX_BYTES,
    has_illegal,
    is_compact_collection,
    unescape_compact,
)
from gateway.records.oai_forms import NO_FORMS, OaiForms, oai_forms
from gateway.rules.alma import (
    LOCAL_FIELD_EXCHANGE,
    deleted_field,
    downstream_field,
    staleness_field,
)

_LEADER_AT: Final = len(COMPACT_PREFIX)
_SUFFIX_BYTES: Final = b"</record>"

# One field in exactly the form `field_to_marcxml` writes, values needing no other escape:
# a record that is a run of these (and nothing else) serialises back to its own bytes. Tags
# are three letters or digits, as ISO 2709 holds them (`_iso2709`).
_FIELD: Final = re.compile(
    r'(<controlfield tag="([0-9A-Za-z]{3})">[^<>"\t\n\r]*</controlfield>'
    r'|<datafield tag="([0-9A-Za-z]{3})" ind1="[^"<>&]" ind2="[^"<>&]">'
    r'(?:<subfield code="[^"<>&]*">[^<>"\t\n\r]*</subfield>)*</datafield>)'
)
_ENTITY: Final = re.compile("&(?:amp|lt|gt|quot|#9|#10|#13);")
_LEADER_BAD: Final = frozenset('<>"&^\t\n\r')
_tuple_new = tuple.__new__  # a namedtuple without its Python-level __new__

# The fields anything but the bytes depends on: the indexes and sort keys (indexing), the
# OAI sets (LOW, 042, 960, SID), the Melinda ID (001, 003, 035), deletion (STA) and the
# fields fin01alma changes (the local-field exchange and 6XX); the rest are only copied.
_NEEDED: Final = frozenset(
    {
        *indexing.TAG_KINDS,
        "001",
        "003",
        "035",
        "042",
        "960",
        "LOW",
        "SID",
        "STA",
        *LOCAL_FIELD_EXCHANGE,
    }
)


class PreparedRecord(NamedTuple):
    """A record ready to save but for its version: the fin01alma view is `alma_head`, the
    staleness 024 (which carries the version), then `alma_tail`."""

    id: int
    deleted: bool
    xml: bytes
    alma_head: bytes
    alma_tail: bytes
    sort_title: str
    sort_author: str
    sort_date: str
    terms: list[tuple[int, str]]
    iso2709: bytes | None = None  # the fin01 view (`xml`) as ISO 2709, for Z39.50 Present
    oai: OaiForms = NO_FORMS  # the fin01 view's OAI-PMH forms
    formed: bool = True  # False: `iso2709` and `oai` are left to the writing process (`forms`)
    tail_at: int = -1  # where its tail starts when the store may keep it split (`records.tails`)


def forms(prepared: PreparedRecord) -> tuple[bytes | None, OaiForms]:
    """A prepared record's ISO 2709 and OAI-PMH forms, made now if they were left."""
    p = prepared
    if p.formed:
        return p.iso2709, p.oai
    return _iso2709(p.xml), oai_forms(p.xml, p.id, deleted=p.deleted)


def iso2709_or_none(xml: bytes) -> bytes | None:
    """A fin01 view as ISO 2709 to store beside it; None when ISO 2709 cannot hold the record
    (Present then answers with its diagnostic, as it always did)."""
    try:
        return marcxml_to_iso2709(xml)
    except MalformedRecordError:
        return None


def doc_number(record: pymarc.Record) -> int | None:
    """A 001 in Aleph's doc-number form (9 digits) is the record's id on a bulk load."""
    fields = record.get_fields("001")
    data = (fields[0].data or "").strip() if fields else ""
    return int(data) if len(data) == 9 and data.isdigit() and int(data) > 0 else None


def load_id(record: pymarc.Record) -> int | None:
    """The id a bulk load keeps the record under, None when it must be given one."""
    return records.melinda_id(record) or doc_number(record)


def prepare_marcxml(piece: bytes, formed: bool = True) -> PreparedRecord | None:
    """Prepare one `<record>` in the store's compact form; None for anything else (or a
    record without an id of its own), which the caller reads the full way. Without `formed`
    its ISO 2709 and OAI-PMH forms are left to the writing process."""
    if not piece.startswith(COMPACT_PREFIX_BYTES) or not piece.endswith(_SUFFIX_BYTES):
        return None
    if has_illegal(piece):
        return None
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError:
        return None
    at = _LEADER_AT
    leader = text[at : at + 24]
    if text[at + 24 : at + 33] != "</leader>" or not _LEADER_BAD.isdisjoint(leader):
        return None
    body = text[at + 33 : -9]
    found = _FIELD.findall(body)
    if sum(len(f[0]) for f in found) != len(body):
        return None  # something between or inside the fields that is not in our form
    escaped = "&" in body
    if escaped and "&" in _ENTITY.sub("", body):
        return None
    needed = _NEEDED
    memo = _MEMO
    fields: list[Field] = []
    entries: list[indexing.FieldEntry] = []
    alma: list[str] = []
    point = -1
    for whole, ctag, dtag in found:
        control = whole[1] == "c"
        tag = ctag if control else dtag
        if tag not in needed:
            if point < 0 and len(tag) == 3 and tag.isdigit() and tag >= "024":
                point = len(alma)
            alma.append(whole)
            continue
        known = memo.get(whole)
        if known is None:
            known = _MEMO_OLD.get(whole)
            if known is None:
                made = _field(whole, tag, control, escaped)
                if made is None:
                    return None
                known = made
            if not control and tag not in _OWN:
                if len(memo) >= _MEMO_LIMIT:
                    memo = _new_generation()
                memo[whole] = known
        field, entry, out, out_tag = known
        fields.append(field)
        entries.append(entry)
        # fin01alma inserts its 024 before the first field tagged 024 or higher (its own tags)
        if point < 0 and len(out_tag) == 3 and out_tag.isdigit() and out_tag >= "024":
            point = len(alma)
        alma.append(out)
    record = pymarc.Record()
    record.leader = Leader(leader)
    record.fields = fields
    rid = load_id(record)
    if rid is None:
        return None
    deleted = records.is_deleted(record)
    if point < 0:
        point = len(alma)
    head = (text[: at + 33] + "".join(alma[:point])).encode()
    tail = ("".join(alma[point:]) + "</record>").encode()
    if deleted:
        iso = _iso2709(piece) if formed else None
        return PreparedRecord(rid, True, piece, head, tail, "", "", "", [], iso, NO_FORMS, formed)
    index = indexing.entry_of_fields(entries, record_id=rid, sets=oai_sets_of(record))
    return PreparedRecord(
        rid,
        False,
        piece,
        head,
        tail,
        index.sort_title,
        index.sort_author,
        index.sort_date,
        list(index.terms),
        _iso2709(piece) if formed else None,
        oai_forms(piece, rid, deleted=False) if formed else NO_FORMS,
        formed,
        _tail_at(piece, rid, head, tail),
    )


def _tail_at(xml: bytes, record_id: int, alma_head: bytes, alma_tail: bytes) -> int:
    found = splice.tail_start(xml, record_id, alma_head, alma_tail)
    return -1 if found is None else found


# The markup of fields matched by `_FIELD` as ISO 2709 has it, the whole record at once:
# each field becomes \0, its tag, its indicators, its subfields behind \x1f codes, \x1e.
_ISO_MARKUP: Final = (
    (b"</subfield>", b""),
    (b'<subfield code="', b"\x1f"),
    (b"</datafield>", b"\x1e"),
    (b"</controlfield>", b"\x1e"),
    (b'<datafield tag="', b"\0"),
    (b'<controlfield tag="', b"\0"),
    (b'" ind1="', b""),
    (b'" ind2="', b""),
    (b'">', b""),
)
_ISO_TAG: Final = re.compile(rb"\0(...)", re.DOTALL)
_ISO_MAX_FIELD: Final = 9999


def _iso2709(piece: bytes) -> bytes | None:
    """`iso2709_or_none(piece)` for a record `prepare_marcxml` has matched field by field
    (values hold no markup, control character nor unknown entity; tags three ASCII letters
    or digits): its markup replaced across the record in C instead of field by field."""
    leader = piece[_LEADER_AT : _LEADER_AT + 24]
    if not leader.isascii():
        return iso2709_or_none(piece)  # the long way says why ISO 2709 cannot hold it
    marked = piece[_LEADER_AT + 33 : -9]
    for markup, replacement in _ISO_MARKUP:
        marked = marked.replace(markup, replacement)
    marked = unescape_values(marked)  # no entity spans \0, \x1e or \x1f: as field by field
    tags = _ISO_TAG.findall(marked)
    sizes = [len(field) - 3 for field in marked.split(b"\0")[1:]]
    if not sizes or max(sizes) > _ISO_MAX_FIELD:
        return iso2709_or_none(piece)
    try:
        head = iso2709_head(leader.decode("ascii"), tags, sizes)
    except MalformedRecordError:
        return None  # as `iso2709_or_none`: more than ISO 2709 allows
    return b"".join((head, _ISO_TAG.sub(b"", marked), b"\x1d"))


# A field in the compact form -> what it is, what it feeds the indexes, its fin01alma form
# and tag. Subject headings, LOWs, names and publishers recur from record to record: each
# distinct one is parsed, indexed and converted once (bounded: emptied when full).
_Known = tuple[Field, indexing.FieldEntry, str, str]
_MEMO: dict[str, _Known] = {}
_MEMO_OLD: dict[str, _Known] = {}  # the generation before: what recurs is moved on from it
_MEMO_LIMIT: Final = 20_000
# Fields that identify their record (control fields too) recur in no other: not kept.
_OWN: Final = frozenset({"015", "020", "022", "024", "028", "035", "773", "SID"})


def _new_generation() -> dict[str, _Known]:
    global _MEMO, _MEMO_OLD
    _MEMO_OLD, _MEMO = _MEMO, {}
    return _MEMO


def _field(whole: str, tag: str, control: bool, escaped: bool) -> _Known | None:
    """Parse one field matched by `_FIELD`; None if a value holds an unexpected entity."""
    field = Field.__new__(Field)
    field.tag = tag
    if control:
        value = whole[21 + len(tag) : -15]
        if escaped:
            plain = unescape_compact(value)
            if plain is None:
                return None
            value = plain
        field.data = value
        field.control_field = True
        field._indicators = None
        field.subfields = []
    else:
        q = 16 + len(tag)
        field.data = None
        field.control_field = False
        field._indicators = _tuple_new(Indicators, (whole[q + 8], whole[q + 17]))
        subfields: list[Subfield] = []
        inner = whole[q + 20 : -12]
        if inner:
            for part in inner[16:-11].split('</subfield><subfield code="'):
                code, _, value = part.partition('">')
                if escaped:
                    plain = unescape_compact(value)
                    if plain is None:
                        return None
                    value = plain
                subfields.append(_tuple_new(Subfield, (code, value)))
        field.subfields = subfields
    out, out_tag = whole, tag
    if tag in LOCAL_FIELD_EXCHANGE or (tag[0] == "6" and not control):
        changed = downstream_field(field)
        if changed is not field:
            out, out_tag = records.field_to_marcxml(changed), changed.tag
    return field, indexing.field_entry(field), out, out_tag


def staleness_xml(record_id: int, version: int, deleted: bool) -> bytes:
    """The fields fin01alma inserts for a record saved at `version` (see rules.alma)."""
    added = [staleness_field(record_id, version)]
    if deleted:
        added.insert(0, deleted_field())
    return "".join([records.field_to_marcxml(f) for f in added]).encode()


_ID_MARK: Final = 999_999_999  # a 9-digit id the version's template is cut at


@functools.lru_cache(maxsize=64)
def _staleness_template(version: int, deleted: bool) -> tuple[bytes, bytes]:
    """The inserted fields of `staleness_xml` before and after the record's id: a batch
    shares one version, so its stamp is formatted once."""
    text = staleness_xml(_ID_MARK, version, deleted)
    before, mark, after = text.partition(b">%d<" % _ID_MARK)
    assert mark, "the staleness 024 carries the id in its own subfield"
    return before + b">", b"<" + after


def staleness_spliced(
    head: bytes, record_id: int, version: int, deleted: bool, tail: bytes
) -> bytes:
    """The fin01alma view of a prepared record: its head, the staleness 024 (and the deleted
    record 024) for `version`, its tail."""
    before, after = _staleness_template(version, deleted)
    return b"".join((head, before, b"%09d" % record_id, after, tail))


LoadItem = tuple[str, "PreparedRecord | pymarc.Record | None", "str | None"]


class Batch(NamedTuple):
    """Up to a batch of one file's (position, record, error)."""

    name: str
    items: list[LoadItem]


Message = Batch | str | None  # a batch, a missing file's name (nothing follows), None at the end


def shareable(names: Sequence[str]) -> bool:
    """Whether several processes can share the reading of these files (`read_messages` with
    parts): MARCXML in the store's compact form, which a process passes over cheaply where
    another prepares. Other forms would be parsed whole by every process."""
    for name in names:
        head = file_head(name)
        if detect_format(head) != MARCXML or not is_compact_collection(head):
            return False
    return True


def read_messages(
    names: Sequence[str],
    size: int,
    part: int = 0,
    parts: int = 1,
    share: FormsShare | None = None,
) -> Iterator[Message]:
    """The load's messages in order (a `Batch` at a time for each file in turn; a missing
    file's name, and nothing more; None at the end), just those numbered `part` modulo
    `parts`: `parts` processes read the same files and each prepares its own share of
    the batches, so together they give exactly what one process gives, in its order.

    A record of another process's batch is only checked to be well-formed (`well_formed`: so
    whatever it is, the record counts as one item and the reading goes on alike in every
    process); anything else is read the full way by every process, to stay in step.
    `share`: which prepared records get their ISO 2709 and OAI-PMH forms here (default all).
    """
    number = 0  # messages so far, across files

    def mine() -> bool:
        return number % parts == part

    for name in names:
        path = Path(name)
        if not path.is_file():
            if mine():
                yield name
            return
        prepare = _prepare(share) if parts == 1 else _share(number, size, part, parts, share)
        # (position, record or the passed-over mark, error); the mark stays in this process
        results: Iterator[tuple[str, Any, MalformedRecordError | None]]
        results = read_records(path, prepare)
        while True:
            items: list[LoadItem] = [
                (position, record, None if error is None else str(error))
                for position, record, error in itertools.islice(results, size)
            ]
            if not items:
                break
            if mine():
                yield Batch(name, items)
            number += 1
    if mine():
        yield None


_PASSED_OVER: Final = object()  # a record of a batch another process prepares


# A `<record>` in the store's layout whose text holds no `<`, `>`, stray `&` or character XML
# cannot carry: well-formed XML, so every reader reads it as one record (one scan, no decoding
# into fields: the check a process makes of the records other processes prepare).
_TEXT: Final = rb"(?:[^<>&\x00-\x08\x0b\x0c\x0e-\x1f]++|&(?:amp|lt|gt|quot|#9|#10|#13);)*+"
_VALUE: Final = rb'[^<>&"\x00-\x08\x0b\x0c\x0e-\x1f]*+'
_WELL_FORMED: Final = re.compile(
    COMPACT_PREFIX_BYTES + _TEXT + rb"</leader>"
    rb'(?:<controlfield tag="' + _VALUE + rb'">' + _TEXT + rb"</controlfield>"
    rb'|<datafield tag="' + _VALUE + rb'" ind1="' + _VALUE + rb'" ind2="' + _VALUE + rb'">'
    rb'(?:<subfield code="' + _VALUE + rb'">' + _TEXT + rb"</subfield>)*+</datafield>)*+"
    rb"</record>"
)  # fmt: skip


def well_formed(piece: bytes) -> bool:
    """Whether a record's bytes are surely well-formed XML (False: maybe, maybe not)."""
    if _WELL_FORMED.fullmatch(piece) is None:
        return False
    if b"\xef\xbf\xbe" in piece or b"\xef\xbf\xbf" in piece:  # U+FFFE, U+FFFF
        return False
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _prepare(share: FormsShare | None) -> Callable[[bytes], PreparedRecord | None]:
    """`prepare_marcxml` making the forms of the records `share` takes (all without one)."""
    if share is None:
        return prepare_marcxml
    take = share.take
    return lambda piece: prepare_marcxml(piece, take())


def _share(
    first: int, size: int, part: int, parts: int, share: FormsShare | None
) -> Callable[[bytes], object | None]:
    """`prepare_marcxml` for a file's records in batches `part` modulo `parts` (the file's
    first batch is message `first`); a record of another batch is passed over."""
    seen = 0  # records of the file offered so far
    own = _prepare(share)

    def prepare(piece: bytes) -> object | None:
        nonlocal seen
        index, seen = seen, seen + 1
        if (first + index // size) % parts != part and well_formed(piece):
            return _PASSED_OVER
        return own(piece)

    return prepare


class FormsShare:
    """How many of the records a preparing child prepares get their ISO 2709 and OAI-PMH forms
    there (over a third of its work); the writing process makes the rest. On two cores one child
    prepares while the writer idles half the time: the share follows whichever waits. A
    batch whose sending waited on the writer (longer than the quickest send, which is just
    the pipe's copying) says the writer is the busier: the child takes more of the forms;
    otherwise the writer waited for the child: it takes more."""

    STEP: Final = 0.125
    WAITED: Final = 0.05  # of the time the batch took to prepare

    def __init__(self) -> None:
        self.share = 1.0  # as without sharing, until the first batches tell
        self._credit = 0.0
        self._quickest = float("inf")

    def take(self) -> bool:
        """Whether the next record's forms are made in the child."""
        self._credit += self.share
        if self._credit >= 1.0:
            self._credit -= 1.0
            return True
        return False

    def sent(self, preparing: float, sending: float) -> None:
        """A batch took `preparing` seconds to prepare and `sending` to hand over."""
        self._quickest = min(self._quickest, sending)
        if sending - self._quickest > preparing * self.WAITED:
            self.share = min(1.0, self.share + self.STEP)
        else:
            self.share = max(0.0, self.share - self.STEP)


def read_batches(names: Sequence[str], size: int) -> Iterator[Batch | str]:
    """A `Batch` at a time for each file in turn; a record in the store's MARCXML form comes
    prepared. A file that does not exist: its name, and nothing more."""
    for message in read_messages(names, size):
        if message is None:
            return
        yield message


def send_batches(
    sender: Connection, names: list[str], size: int, part: int = 0, parts: int = 1
) -> None:
    """A child process of a load: its share of `read_messages` through a pipe, each as
    ("batch", message); ("failed", why) if reading fails unexpectedly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # What this process makes is acyclic (freed by reference counting); the cycle collector
    # would rescan the field memo and the batch in hand over and over (half the CPU,
    # measured), so it runs only now and then
    gc.disable()
    share = FormsShare()
    try:
        started = time.perf_counter()
        messages = read_messages(names, size, part, parts, share)
        for number, message in enumerate(messages, start=1):
            payload = ForkingPickler.dumps(("batch", message))  # what `send` would pickle
            ready = time.perf_counter()
            sender.send_bytes(payload)
            sent = time.perf_counter()
            share.sent(ready - started, sent - ready)
            started = sent
            if number % 50 == 0:
                gc.collect()
    except (BrokenPipeError, ConnectionResetError):
        return  # the loading process is gone
    except Exception as exc:  # reported by the parent, which exits with 1
        with contextlib.suppress(OSError):
            sender.send(("failed", f"{type(exc).__name__}: {exc}"))
