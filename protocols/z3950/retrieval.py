"""Records of a result set rendered for Present: USMARC (ISO 2709) or MARCXML, F or B.

Element set F is the whole record as the view holds it. B (brief) keeps the leader, the
control fields and the identifying fields a copy-cataloguing client lists hits by
(standard numbers, main entry, title, edition, publication, extent). MARCXML in F is the
stored bytes spliced as they are; every other form parses the record once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pymarc

from gateway.catalog import Authorities, Catalog
from gateway.model import StoredRecord, View
from gateway.records import record_to_marcxml
from gateway.records.iso2709 import marcxml_to_iso2709, record_to_iso2709
from protocols.z3950 import pdu as z
from protocols.z3950.ber import oid_text
from protocols.z3950.diagnostics import (
    ELEMENT_SET_NOT_VALID,
    PRESENT_OUT_OF_RANGE,
    RECORD_EXCEEDS_RECORD_SIZE,
    RECORD_NOT_IN_SYNTAX,
    RECORD_SYNTAX_UNSUPPORTED,
    Bib1Diagnostic,
)

SYNTAXES: Final = frozenset({z.USMARC_SYNTAX, z.XML_SYNTAX})
FULL, BRIEF = "F", "B"
BRIEF_TAGS: Final = frozenset(
    {"001", "003", "005", "008", "020", "022", "024", "035", "100", "110", "111", "130"}
    | {"245", "250", "260", "264", "300"}
)
RECORD_DELETED: Final = 1028  # Bib-1 "Record deleted": gone from the store since the search
_ENVELOPE: Final = 256  # octets of a response PDU around its records
# Smaller batches, and full records (spliced or converted straight from the stored bytes, never
# parsed), are cheaper to render here than to hand to a thread that would hold the GIL anyway.
_INLINE_RENDER_LIMIT: Final = 4


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """The Records of a Search or Present response and what to report about them."""

    records: bytes
    returned: int
    status: z.PresentStatus

    @classmethod
    def failure(cls, condition: int, addinfo: str = "") -> RecordBatch:
        return cls(z.non_surrogate_diagnostic(condition, addinfo), 0, z.PresentStatus.FAILURE)

    def next_position(self, start: int, total: int) -> int:
        """The position after the last record returned, 0 past the end of the set."""
        following = start + self.returned
        return following if self.returned and following <= total else 0


def element_set_of(name: str | None) -> str:
    if name is None or _is_full(name):
        return FULL
    if name.strip().upper() == BRIEF:
        return BRIEF
    raise Bib1Diagnostic(ELEMENT_SET_NOT_VALID, name)


def syntax_of(syntax: z.Oid | None) -> z.Oid:
    if syntax is None:
        return z.USMARC_SYNTAX
    if syntax not in SYNTAXES:
        raise Bib1Diagnostic(RECORD_SYNTAX_UNSUPPORTED, oid_text(syntax))
    return syntax


def reads_stored_form(syntax: z.Oid | None, element_set: str | None) -> bool:
    """Whether a Present in `syntax` and `element_set` sends the records' stored ISO 2709 forms."""
    return syntax in (None, z.USMARC_SYNTAX) and _is_full(element_set)


def _is_full(element_set: str | None) -> bool:
    return element_set is None or element_set.strip().upper() == FULL


async def retrieve(
    catalog: Catalog | Authorities,
    ids: Sequence[int],
    *,
    view: View,
    database: str,
    start: int,
    count: int,
    element_set: str | None,
    syntax: z.Oid | None,
    preferred_message_size: int,
    exceptional_record_size: int,
    fetched: Sequence[StoredRecord] | None = None,
) -> RecordBatch:
    """Records `start`..`start+count-1` (1-based) of `ids`, as many as the message holds.

    Positions past the end of the set become surrogate diagnostics 13, as Z39.50-1995
    allows (a clarification of 1996), so the origin still gets the records that exist.
    Raises Bib1Diagnostic for a syntax or element set this target does not offer.
    `fetched`: those records read already (with a piggybacked Search's search); USMARC
    records come with their stored ISO 2709 form.
    """
    form = element_set_of(element_set)
    chosen = syntax_of(syntax)
    wanted = list(ids[start - 1 : start - 1 + count])
    # full USMARC records go out as the store holds them (fin01 keeps an ISO 2709 form)
    stored_form = chosen == z.USMARC_SYNTAX and form == FULL
    if fetched is None:
        fetched = await catalog.fetch(wanted, view, iso2709=stored_form)
    stored = {record.id: record for record in fetched}
    found = [stored.get(record_id) for record_id in wanted]
    if form == FULL or len(found) <= _INLINE_RENDER_LIMIT:
        rendered = _render_all(found, chosen, form, database)
    else:
        rendered = await asyncio.to_thread(_render_all, found, chosen, form, database)
    rendered.extend(
        _surrogate(database, PRESENT_OUT_OF_RANGE, str(position))
        for position in range(start + len(wanted), start + count)
    )
    return _fit(rendered, database, preferred_message_size, exceptional_record_size)


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One NamePlusRecord, and whether it is a surrogate diagnostic instead of a record."""

    pdu: bytes
    diagnostic: bool = False


def _surrogate(database: str, condition: int, addinfo: str = "") -> _Rendered:
    return _Rendered(z.surrogate_diagnostic(database, condition, addinfo), diagnostic=True)


def _render_all(
    found: list[StoredRecord | None], syntax: z.Oid, form: str, database: str
) -> list[_Rendered]:
    return [_render(record, syntax, form, database) for record in found]


def _render(record: StoredRecord | None, syntax: z.Oid, form: str, database: str) -> _Rendered:
    if record is None:
        return _surrogate(database, RECORD_DELETED)
    try:
        if syntax == z.XML_SYNTAX and form == FULL:
            data = record.xml
        elif syntax == z.USMARC_SYNTAX and form == FULL:
            # stored ISO 2709, else straight from the stored MARCXML bytes
            data = record.iso2709 or marcxml_to_iso2709(record.xml)
        else:
            parsed = record.record()
            if form == BRIEF:
                parsed = brief_record(parsed)
            if syntax == z.USMARC_SYNTAX:
                data = record_to_iso2709(parsed)
            else:
                data = record_to_marcxml(parsed)
    except Exception as exc:  # one unrenderable record must not fail the whole Present
        return _surrogate(database, RECORD_NOT_IN_SYNTAX, f"{record.melinda_id}: {exc}")
    return _Rendered(z.retrieval_record(database, syntax, data))


def brief_record(record: pymarc.Record) -> pymarc.Record:
    brief = pymarc.Record(leader=str(record.leader), force_utf8=True)
    brief.fields = [f for f in record.fields if f.tag in BRIEF_TAGS]
    return brief


def _fit(rendered: list[_Rendered], database: str, preferred: int, exceptional: int) -> RecordBatch:
    """Keep records while the response stays within the preferred message size.

    A single record larger than that is still sent alone when it is within the
    exceptional record size; larger still, it becomes surrogate diagnostic 17.
    """
    kept: list[_Rendered] = []
    size = _ENVELOPE
    status = z.PresentStatus.SUCCESS
    for item in rendered:
        if len(item.pdu) > exceptional:
            item = _surrogate(database, RECORD_EXCEEDS_RECORD_SIZE, str(len(item.pdu)))
        if kept and size + len(item.pdu) > preferred:
            status = z.PresentStatus.PARTIAL_MESSAGE_SIZE
            break
        kept.append(item)
        size += len(item.pdu)
        if size > preferred:
            if len(kept) < len(rendered):
                status = z.PresentStatus.PARTIAL_MESSAGE_SIZE
            break
    if status is z.PresentStatus.SUCCESS and any(item.diagnostic for item in kept):
        status = z.PresentStatus.PARTIAL_DIAGNOSTICS
    return RecordBatch(z.response_records([item.pdu for item in kept]), len(kept), status)
