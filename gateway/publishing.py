"""Reads an Alma LOW publishing file into what it asks of Melinda, and writes the report of it.

The real file format is not published; this one is fixed in the README ("LOW publishing over
SFTP"), modelled on Alma's publishing profiles: a MARCXML collection (`.xml`, `.xml.gz`, or a
`.tar.gz` of `.xml` files), one bib record each, the MMS ID in 001, the Melinda ID in
`035 $a (FI-MELINDA)NNNNNNNNN`, Leader/05 `d` for a record that left the published set. A file
whose name contains `_full` is the library's whole set. Everything here is pure except the
reading of the file itself; the caller runs `read_publishing_file` in a worker thread.
"""

from __future__ import annotations

import gzip
import json
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from lxml import etree

from gateway.errors import MalformedRecordError
from gateway.records import xmlsafe
from gateway.records.xmlsafe import escape

MARC_NS = "http://www.loc.gov/MARC21/slim"
PARTIAL_SUFFIXES = (".part", ".tmp")
PUBLISHING_SUFFIXES = (".xml", ".xml.gz", ".tar.gz", ".tgz")
FULL_MARK = "_full"
DEFAULT_MAX_REMOVAL_RATIO = 0.2  # a full file may remove at most 20 % of a library's LOWs

_RECORD_TAGS = (f"{{{MARC_NS}}}record", "record")
_LEADER = frozenset((f"{{{MARC_NS}}}leader", "leader"))
_CONTROLFIELD = frozenset((f"{{{MARC_NS}}}controlfield", "controlfield"))
_DATAFIELD = frozenset((f"{{{MARC_NS}}}datafield", "datafield"))
_ROOTS = frozenset((*_RECORD_TAGS, f"{{{MARC_NS}}}collection", "collection"))
# Melinda's own prefix, and the older forms Melinda still recognises on input (SPEC section 1)
_MELINDA_035 = re.compile(r"^\s*(?:\(FI-MELINDA\)|\(FIN01\)|FCC)\s*0*(\d{1,9})\s*$", re.IGNORECASE)

REASON_NO_035 = "no 035 $a (FI-MELINDA) Melinda ID"
REASON_NO_001 = "no 001 (MMS ID)"
REASON_UNKNOWN = "unknown Melinda ID"


class MalformedPublishingFileError(MalformedRecordError):
    """The file cannot be read as a publishing file; it is rejected whole, nothing applied."""


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """Where one record of the file came from, for the report."""

    position: int  # 1-based, in file order (across the members of a .tar.gz)
    line: int
    mms_id: str
    melinda_id: int | None
    withdrawn: bool
    member: str = ""  # the .xml member of a .tar.gz

    @property
    def where(self) -> str:
        inside = f"{self.member}, " if self.member else ""
        return f"record {self.position} ({inside}line {self.line})"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record the publishing did not act on, and why."""

    record: PublishedRecord
    reason: str

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record": self.record.position,
            "line": self.record.line,
            "mms_id": self.record.mms_id,
            "melinda_id": _melinda_id(self.record.melinda_id),
            "reason": self.reason,
        }
        if self.record.member:
            out["member"] = self.record.member
        return out

    def __str__(self) -> str:
        parts = [self.record.where]
        if self.record.mms_id:
            parts.append(f"MMS ID {self.record.mms_id}")
        if self.record.melinda_id is not None:
            parts.append(f"Melinda ID {self.record.melinda_id:09d}")
        return f"{', '.join(parts)}: {self.reason}"


@dataclass(slots=True)
class PublishingFile:
    """What a publishing file asks for: LOW (and SID) on `present`, LOW off `withdrawn`."""

    name: str
    full: bool
    records: int = 0
    present: dict[int, PublishedRecord] = field(default_factory=dict)  # by Melinda ID
    withdrawn: dict[int, PublishedRecord] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def holdings(self) -> list[tuple[int, str]]:
        """(Melinda ID, MMS ID) of every title the library holds, as the catalog takes them."""
        return [(melinda_id, rec.mms_id) for melinda_id, rec in self.present.items()]

    @property
    def withdrawn_ids(self) -> list[int]:
        return list(self.withdrawn)

    def source(self, melinda_id: int) -> PublishedRecord | None:
        return self.present.get(melinda_id) or self.withdrawn.get(melinda_id)


class PublishOutcome(Protocol):
    """The fields of the catalog's PublishResult the report needs."""

    added: list[int]
    removed: list[int]
    unchanged: list[int]
    unknown: list[int]
    held: bool
    held_reason: str


# --- names -----------------------------------------------------------------------------


def is_partial_upload(name: str) -> bool:
    """A `.part`/`.tmp` upload is still arriving; it is processed once renamed."""
    return name.lower().endswith(PARTIAL_SUFFIXES)


def is_full_publication(name: str) -> bool:
    """A file whose name contains `_full` is the library's whole published set."""
    return FULL_MARK in name


def is_publishing_file_name(name: str) -> bool:
    return name.lower().endswith(PUBLISHING_SUFFIXES)


# --- reading ---------------------------------------------------------------------------


def read_publishing_file(path: Path, name: str | None = None) -> PublishingFile:
    """Read a publishing file in constant memory. Blocking: run it in a worker thread.

    Raises MalformedPublishingFileError (with the line and column of the error) when the
    file is not well-formed MARCXML, not gzip/tar as its name says, or holds no collection.
    """
    name = name or path.name
    publishing = PublishingFile(name=name, full=is_full_publication(name))
    lowered = name.lower()
    try:
        if lowered.endswith((".tar.gz", ".tgz")):
            _read_tar(path, publishing)
        elif lowered.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                _read_collection(stream, publishing)
        elif not _read_plain_fast(path, publishing):
            # A path lets libxml2 read the file itself, a little faster than through Python.
            _read_collection(str(path), publishing)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise MalformedPublishingFileError(f"{name} cannot be read: {_reason(exc)}") from exc
    return publishing


def _read_tar(path: Path, publishing: PublishingFile) -> None:
    found = False
    # Stream mode ("r|gz"): members are read in order, never the whole archive in memory.
    with tarfile.open(path, "r|gz") as archive:
        for member in archive:
            if not member.isfile() or not member.name.lower().endswith(".xml"):
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            found = True
            with stream:
                _read_collection(stream, publishing, member.name)
    if not found:
        raise MalformedPublishingFileError(f"{publishing.name} holds no .xml file")


XmlSource = str | IO[bytes] | gzip.GzipFile


def _read_collection(source: XmlSource, publishing: PublishingFile, member: str = "") -> None:
    for record in _iter_records(source, publishing, member):
        _take(publishing, record)


def _iter_records(
    source: XmlSource, publishing: PublishingFile, member: str
) -> Iterator[PublishedRecord]:
    # constant memory: each record and anything else is dropped once read
    events = xmlsafe.RecordElements(source, frozenset(_RECORD_TAGS))
    records = 0
    try:
        for element in events:
            publishing.records += 1
            records += 1
            yield _published_record(element, publishing.records, member)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        inside = f"{member}: " if member else ""
        problem = "is refused" if isinstance(exc, xmlsafe.REFUSALS) else "is not well-formed XML"
        raise MalformedPublishingFileError(
            f"{publishing.name} {problem}: {inside}{exc.msg}",
            position=f"line {line}, column {column}",
        ) from exc
    root = events.root
    if root is None or root.tag not in _ROOTS:
        found = "nothing" if root is None else f"<{etree.QName(root).localname}>"
        inside = f" ({member})" if member else ""
        raise MalformedPublishingFileError(
            f"{publishing.name}{inside} is not a MARCXML collection: found {found}"
        )
    if records == 0 and events.foreign:
        inside = f" ({member})" if member else ""
        raise MalformedPublishingFileError(
            f"{publishing.name}{inside} holds no MARC records, only {events.foreign} other elements"
        )


# --- the fast path: Alma's plain form, read by byte patterns ----------------------------
# libxml2 checks the whole file (no tree, no Python per element: ~4x faster than building one)
# and byte patterns take the three values from each record; a file in any other form (comments,
# CDATA, prefixes, entities in the values, another encoding) is read by the tree path instead.
_FAST_CHUNK = 4 << 20
_PROLOG = re.compile(
    rb'(?:<\?xml version="1\.[01]"(?: encoding="[Uu][Tt][Ff]-8")?(?: standalone="(?:yes|no)")?'
    rb"\s*\?>)?\s*<collection(?: xmlns=\"http://www\.loc\.gov/MARC21/slim\")?>"
)
_SUBFIELD_FORM = rb'<subfield code="[^"<&]*">[^<]*</subfield>\s*'
# one record in the plain form: (leader, control fields, data fields), whitespace after it
_RECORD_FORM = re.compile(
    rb"<record>\s*(?:<leader>([^<]*)</leader>\s*)?"
    rb'((?:<controlfield tag="[^"<&]*">[^<]*</controlfield>\s*)*)'
    rb'((?:<datafield tag="[^"<&]*" ind1="[^"<&]*" ind2="[^"<&]*">\s*(?:'
    + _SUBFIELD_FORM
    + rb")*</datafield>\s*)*)</record>\s*"
)
_FAST_001 = re.compile(rb'<controlfield tag="001">([^<]*)</controlfield>')
_FAST_035_A = re.compile(rb'<subfield code="a">([^<]*)</subfield>')


class _NoTree:
    """A parser target that takes no events: libxml2 only checks the file is well-formed."""

    def close(self) -> None:
        return None


def _read_plain_fast(path: Path, publishing: PublishingFile) -> bool:
    """Read a plain `.xml` file in Alma's form; False (nothing taken) when it is in another
    form or not well-formed: the tree path then reads it (and names the error)."""
    # no event methods on the target is the point: no callbacks
    parser = xmlsafe.new_parser(target=_NoTree())
    try:
        xmlsafe.parse_file(str(path), parser)
    except etree.XMLSyntaxError:
        return False
    taken: list[PublishedRecord] = []
    with open(path, "rb") as stream:
        pending = stream.read(_FAST_CHUNK)
        prolog = _PROLOG.match(pending)
        if prolog is None:
            return False
        line = 1 + pending.count(b"\n", 0, prolog.end())
        pending = pending[prolog.end() :]
        while more := stream.read(_FAST_CHUNK):
            pending += more
            cut = pending.rfind(b"</record>") + len(b"</record>")
            if cut < len(b"</record>"):
                if len(pending) > 2 * _FAST_CHUNK:
                    return False  # no record ends here: the streaming path reads (and judges) it
                continue
            if not _fast_records(pending[:cut], line, taken):
                return False
            line += pending.count(b"\n", 0, cut)
            pending = pending[cut:]
        if not _fast_records(pending, line, taken, last=True):
            return False
    for record in taken:
        publishing.records += 1
        _take(publishing, record)
    return True


def _fast_records(body: bytes, line: int, taken: list[PublishedRecord], last: bool = False) -> bool:
    """Take the whole `<record>` elements of `body` (and, when `last`, the `</collection>`
    after them); False when anything is not in the plain form."""
    # Comments, CDATA, PIs and xmlns attributes fail the form; a lone CR counts as a line end.
    if b"\r" in body and b"\r" in body.replace(b"\r\n", b""):
        return False
    done = len(body) - len(body.lstrip())
    line += body.count(b"\n", 0, done)
    for form in _RECORD_FORM.finditer(body, done):
        if form.start() != done:
            return False  # text or other markup between records
        leader, controls, fields = form.groups(b"")
        mms = _FAST_001.search(controls)
        mms_id = mms.group(1) if mms else b""
        melinda_id: int | None = None
        at = fields.find(b'<datafield tag="035" ')
        while at >= 0 and melinda_id is None:
            close = fields.index(b"</datafield>", at)
            for value in _FAST_035_A.findall(fields, at, close):
                if b"&" in value or b"\r" in value:
                    return False  # entities and carriage returns are the parser's to decode
                melinda_id = melinda_id_from_035(value.decode())
                if melinda_id is not None:
                    break
            at = fields.find(b'<datafield tag="035" ', close)
        if b"&" in leader or b"\r" in leader or b"&" in mms_id or b"\r" in mms_id:
            return False
        text = leader.decode()
        taken.append(
            PublishedRecord(
                position=len(taken) + 1,
                line=line,
                mms_id=mms_id.decode().strip(),
                melinda_id=melinda_id,
                withdrawn=len(text) > 5 and text[5] == "d",
            )
        )
        done = form.end()
        line += body.count(b"\n", form.start(), done)
    rest = body[done:].strip()
    return rest == b"</collection>" if last else not rest


def _published_record(element: Any, position: int, member: str) -> PublishedRecord:
    leader = ""
    mms_id = ""
    melinda_id: int | None = None
    for child in element:
        tag = child.tag
        if tag in _DATAFIELD:
            if melinda_id is None and child.get("tag") == "035":
                melinda_id = _melinda_id_of_035(child)
                # Fields come in tag order; stopping here saves most of the work per record.
                if melinda_id is not None and mms_id and leader:
                    break
        elif tag in _CONTROLFIELD:
            if not mms_id and child.get("tag") == "001":
                mms_id = (child.text or "").strip()
        elif tag in _LEADER:
            leader = child.text or ""
    return PublishedRecord(
        position=position,
        line=element.sourceline or 0,
        mms_id=mms_id,
        melinda_id=melinda_id,
        withdrawn=len(leader) > 5 and leader[5] == "d",
        member=member,
    )


def _melinda_id_of_035(datafield: Any) -> int | None:
    for subfield in datafield:
        if subfield.get("code") == "a":
            found = melinda_id_from_035(subfield.text or "")
            if found is not None:
                return found
    return None


def melinda_id_from_035(value: str) -> int | None:
    """`(FI-MELINDA)000123456` (or the older `(FIN01)` / `FCC` forms) → 123456."""
    match = _MELINDA_035.match(value)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


def _take(publishing: PublishingFile, record: PublishedRecord) -> None:
    """Add one record to what the file asks; a title held live wins over a withdrawn copy."""
    melinda_id = record.melinda_id
    if melinda_id is None:
        publishing.rejected.append(Rejection(record, REASON_NO_035))
        return
    if record.withdrawn:
        if melinda_id in publishing.present:
            kept = publishing.present[melinda_id]
            publishing.rejected.append(
                Rejection(record, f"withdrawn, but MMS ID {kept.mms_id} still holds it")
            )
        else:
            publishing.withdrawn.setdefault(melinda_id, record)
        return
    if not record.mms_id:
        publishing.rejected.append(Rejection(record, REASON_NO_001))
        return
    if melinda_id in publishing.present:
        kept = publishing.present[melinda_id]
        publishing.rejected.append(
            Rejection(record, f"duplicate: Melinda ID already published by MMS ID {kept.mms_id}")
        )
        return
    dropped = publishing.withdrawn.pop(melinda_id, None)
    if dropped is not None:
        publishing.rejected.append(
            Rejection(dropped, f"withdrawn, but MMS ID {record.mms_id} still holds it")
        )
    publishing.present[melinda_id] = record


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[0].lower() + text[1:] if text else text


# --- reporting -------------------------------------------------------------------------


def report_name(file_name: str) -> str:
    """`reports/<file>.report.json` and `.txt` hold what happened to `<file>`."""
    return f"{file_name}.report"


def publishing_report(
    publishing: PublishingFile | None,
    *,
    file_name: str,
    library: str,
    outcome: PublishOutcome | None = None,
    error: str = "",
    received: datetime | None = None,
    processed: datetime | None = None,
) -> dict[str, Any]:
    """The JSON report of one file: counts, the Melinda IDs touched, rejections with reasons.

    `status` is `applied`, `held` (a full file that would remove too much; nothing changed)
    or `rejected` (the whole file, with `error`; nothing changed).
    """
    processed = processed or datetime.now(UTC)
    rejections = list(publishing.rejected) if publishing else []
    if publishing is not None and outcome is not None:
        for melinda_id in outcome.unknown:
            source = publishing.source(melinda_id)
            if source is not None:
                rejections.append(Rejection(source, REASON_UNKNOWN))
    rejections.sort(key=lambda r: r.record.position)
    if error or outcome is None:
        status = "rejected"
    elif outcome.held:
        status = "held"
    else:
        status = "applied"
    added = sorted(outcome.added) if outcome and not outcome.held else []
    removed = sorted(outcome.removed) if outcome and not outcome.held else []
    unchanged = sorted(outcome.unchanged) if outcome and not outcome.held else []
    report: dict[str, Any] = {
        "file": file_name,
        "library": library,
        "mode": "full" if is_full_publication(file_name) else "incremental",
        "status": status,
        "received": _iso(received) if received else None,
        "processed": _iso(processed),
        "records": publishing.records if publishing else 0,
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "unchanged": len(unchanged),
            "rejected": len(rejections),
        },
        "held": status == "held",
        "held_reason": outcome.held_reason if outcome and outcome.held else "",
        "error": error,
        "added": [_melinda_id(i) for i in added],
        "removed": [_melinda_id(i) for i in removed],
        "unchanged": [_melinda_id(i) for i in unchanged],
        "rejected": [r.as_json() for r in rejections],
    }
    return report


def report_json(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, indent=1).encode() + b"\n"


def report_text(report: dict[str, Any]) -> bytes:
    """The same report for a human reading it with `get` and `less`."""
    counts = report["counts"]
    lines = [
        "Melinda LOW publishing report",
        f"File:      {report['file']} ({report['mode']})",
        f"Library:   {report['library']}",
    ]
    if report.get("received"):
        lines.append(f"Received:  {report['received']}")
    lines += [
        f"Processed: {report['processed']}",
        f"Status:    {report['status']}",
    ]
    if report["error"]:
        lines.append(f"Error:     {report['error']}")
        lines.append("Nothing was applied.")
    if report["held"]:
        lines.append(f"Held:      {report['held_reason']}")
        lines.append("Nothing was applied.")
    lines += [
        f"Records:   {report['records']}",
        f"Added:     {counts['added']}",
        f"Removed:   {counts['removed']}",
        f"Unchanged: {counts['unchanged']}",
        f"Rejected:  {counts['rejected']}",
    ]
    if report["rejected"]:
        lines += ["", "Rejected records:"]
        for item in report["rejected"]:
            where = f"record {item['record']} ("
            where += f"{item['member']}, " if item.get("member") else ""
            where += f"line {item['line']})"
            parts = [where]
            if item["mms_id"]:
                parts.append(f"MMS ID {item['mms_id']}")
            if item["melinda_id"]:
                parts.append(f"Melinda ID {item['melinda_id']}")
            lines.append(f"  {', '.join(parts)}: {item['reason']}")
    for title, key in (("LOW added to", "added"), ("LOW removed from", "removed")):
        if report[key]:
            lines += ["", f"{title}:"]
            lines += [f"  {melinda_id}" for melinda_id in report[key]]
    return ("\n".join(lines) + "\n").encode()


def _melinda_id(value: int | None) -> str | None:
    return None if value is None else f"{value:09d}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- writing (what Alma sends; used by the demo, tests and benchmark) -------------------


@dataclass(frozen=True, slots=True)
class AlmaHolding:
    """One bib record of an Alma publishing file."""

    mms_id: str
    melinda_id: int | None
    withdrawn: bool = False
    title: str = ""


def alma_publishing_xml(
    records: Iterable[AlmaHolding], *, extra_fields: int = 0
) -> Iterator[bytes]:
    """A publishing file as Alma writes it, in chunks (`extra_fields` pads each record)."""
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<collection xmlns="{MARC_NS}">\n'.encode()
    padding = "".join(
        f'<datafield tag="{500 + n % 90}" ind1=" " ind2=" ">'
        f'<subfield code="a">Note number {n} of this record, as catalogued.</subfield>'
        "</datafield>"
        for n in range(extra_fields)
    )
    for holding in records:
        status = "d" if holding.withdrawn else "c"
        parts = [
            f"<record><leader>00000{status}am a2200000 i 4500</leader>",
            f'<controlfield tag="001">{escape(holding.mms_id)}</controlfield>',
        ]
        if holding.melinda_id is not None:
            parts.append(
                '<datafield tag="035" ind1=" " ind2=" "><subfield code="a">'
                f"(FI-MELINDA){holding.melinda_id:09d}</subfield></datafield>"
            )
        parts.append(
            '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">'
            f"{escape(holding.title or 'Untitled')}</subfield></datafield>"
        )
        parts.append(padding)
        parts.append("</record>\n")
        yield "".join(parts).encode()
    yield b"</collection>\n"


def write_alma_publishing_file(
    path: Path, records: Iterable[AlmaHolding], *, extra_fields: int = 0
) -> Path:
    """Write a publishing file; `.gz` names are gzipped. Blocking."""
    chunks = alma_publishing_xml(records, extra_fields=extra_fields)
    if path.name.endswith(".gz") and not path.name.endswith(".tar.gz"):
        with gzip.open(path, "wb", compresslevel=5) as out:
            out.writelines(chunks)
    else:
        with open(path, "wb") as plain:
            plain.writelines(chunks)
    return path
