"""How a record is made ready to save: both views serialised, its index entry, its version stamp."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pymarc

from gateway import indexing, records, rules
from gateway.loading import PreparedRecord, forms, iso2709_or_none, staleness_spliced
from gateway.oai_sets import oai_sets_of
from gateway.records import tails
from gateway.records.iso2709 import record_to_iso2709_quick
from gateway.records.oai_forms import oai_forms
from gateway.store import (
    RecordRow,
    RecordWrite,
)


def _oai_sets(record: pymarc.Record) -> Iterable[str]:
    return oai_sets_of(record)


def prepare_write(
    record: pymarc.Record,
    record_id: int,
    datestamp: int,
    version: int | None = None,
    *,
    dates: Mapping[int, str] | None = None,
    entry: indexing.IndexEntry | None = None,
) -> RecordWrite:
    """Serialise both views and the index entry of a record about to be saved (pure, CPU only).

    Each field is serialised once: the fin01alma view shares most fields with fin01.
    `dates`: the linked authorities' dates (Asteri id -> 100 $d) for the fin01alma view;
    `entry`: the record's index entry when the caller has it already.
    """
    deleted = records.is_deleted(record)
    version = datestamp if version is None else version
    texts = {id(f): records.field_to_marcxml(f) for f in record.fields}
    alma_fields = rules.fin01alma_fields(
        record, record_id=record_id, updated=version, deleted=deleted, dates=dates
    )
    if deleted:
        entry = None
    elif entry is None:
        entry = indexing.index_entry(record, record_id=record_id, sets=_oai_sets)
    xml = records.assemble_marcxml(record, [texts[id(f)] for f in record.fields])
    alma_xml = records.assemble_marcxml(
        record, [texts.get(id(f)) or records.field_to_marcxml(f) for f in alma_fields]
    )
    iso2709 = _iso2709(record, xml)
    return RecordWrite(
        id=record_id,
        datestamp=datestamp,
        version=version,
        deleted=deleted,
        xml=xml,
        alma_xml=alma_xml,
        entry=entry,
        iso2709=iso2709,
        oai=oai_forms(xml, record_id, deleted=deleted),
        cuts=None if deleted else tails.cuts(record_id, version, xml, alma_xml, iso2709),
    )


def _iso2709(record: pymarc.Record, xml: bytes) -> bytes | None:
    quick = record_to_iso2709_quick(record)  # the same bytes without reading `xml` back
    return quick if quick is not None else iso2709_or_none(xml)


class EntryShares:
    """Each indexed field's share of an index entry, computed once for the records of one
    save: a record and its new version share all but the fields the save changed."""

    __slots__ = ("_shares",)

    def __init__(self) -> None:
        self._shares: dict[tuple[object, ...], indexing.FieldEntry] = {}

    def entry(self, record: pymarc.Record, record_id: int) -> indexing.IndexEntry:
        """`indexing.index_entry(record, record_id=record_id, sets=oai_sets_of)`."""
        kinds = indexing.TAG_KINDS
        shares = self._shares
        found: list[indexing.FieldEntry] = []
        for field in record.fields:
            if field.tag not in kinds:
                continue
            key: tuple[object, ...] = (
                (field.tag, field.data)
                if field.control_field
                else (field.tag, field._indicators, tuple(field.subfields))
            )
            share = shares.get(key)
            if share is None:
                share = shares[key] = indexing.field_entry(field)
            found.append(share)
        return indexing.entry_of_fields(found, record_id=record_id, sets=oai_sets_of(record))


def finish_prepared(
    prepared: PreparedRecord, datestamp: int, version: int, *, terms: bool = True
) -> RecordWrite:
    """The write of a record prepared by `loading.prepare_marcxml`, saved at `version`;
    without `terms` its entry has just the sort keys (its terms are saved another way)."""
    p = prepared
    iso2709, oai = forms(p)
    return RecordWrite(
        id=p.id,
        datestamp=datestamp,
        version=version,
        deleted=p.deleted,
        xml=p.xml,
        alma_xml=staleness_spliced(p.alma_head, p.id, version, p.deleted, p.alma_tail),
        entry=None
        if p.deleted
        else indexing.IndexEntry(
            set(p.terms) if terms else set(), p.sort_title, p.sort_author, p.sort_date
        ),
        iso2709=iso2709,
        oai=oai,
        cuts=None if p.deleted or p.tail_at < 0 else tails.cuts_at(p.tail_at, p.xml, iso2709),
    )


def next_version(row: RecordRow, now: int) -> int:
    """Each save of a record gets a later 024 $d stamp than the last, even within a second:
    otherwise a copy taken between two quick saves would pass as fresh."""
    return max(now, row.version + 1)


def old_entry(row: RecordRow, parsed: pymarc.Record | None = None) -> indexing.IndexEntry | None:
    """What a stored record contributes to the indexes now (to replace on save)."""
    if row.deleted:
        return None
    record = parsed if parsed is not None else records.parse_marcxml(row.xml)
    return indexing.index_entry(record, record_id=row.id, sets=_oai_sets)


def stamp_005(record: pymarc.Record, when: datetime) -> None:
    """Aleph rewrites 005 on every save."""
    stamp = when.strftime("%Y%m%d%H%M%S.0")
    for fld in record.get_fields("005"):
        fld.data = stamp
        return
    new = pymarc.Field(tag="005", data=stamp)
    controls = [i for i, f in enumerate(record.fields) if f.tag < "005" and f.is_control_field()]
    record.fields.insert(controls[-1] + 1 if controls else 0, new)


def prepare_authority_write(
    record: pymarc.Record, record_id: int, datestamp: int, version: int | None = None
) -> RecordWrite:
    """An authority record ready to save: one form (it has no Alma view) and its index entry."""
    deleted = records.is_deleted(record)
    xml = records.record_to_marcxml(record)
    return RecordWrite(
        id=record_id,
        datestamp=datestamp,
        version=datestamp if version is None else version,
        deleted=deleted,
        xml=xml,
        alma_xml=xml,
        entry=None if deleted else indexing.authority_index_entry(record, record_id=record_id),
    )


def old_authority_entry(row: RecordRow) -> indexing.IndexEntry | None:
    if row.deleted:
        return None
    return indexing.authority_index_entry(records.parse_marcxml(row.xml), record_id=row.id)
