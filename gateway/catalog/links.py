"""Links from bibliographic headings to Asteri: the linking job that follows an authority's
heading change, the fin01alma dates' refresh, and the dangling-link report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

import pymarc

from gateway import indexing, records
from gateway.catalog.asteri import Authorities, HeadingChange
from gateway.catalog.base import CatalogCore
from gateway.catalog.saving import EntryShares, next_version, prepare_write
from gateway.model import User, View
from gateway.rules import asteri
from gateway.store import RecordRow, RecordWrite

RELINK_CHUNK = 500  # records a transaction of the linking job rewrites
LINK_USER = User(name=asteri.LINK_CATALOGER, library="FIN01", level=30, privileged=True)


@dataclass(slots=True)
class RelinkReport:
    """What one run of the linking job did."""

    authority_id: int
    linked: int = 0  # bib records whose index links to the authority
    rewritten: list[int] = field(default_factory=list)  # headings rewritten, CAT LOAD-ALINK
    refreshed: list[int] = field(default_factory=list)  # only the fin01alma dates changed


@dataclass(frozen=True, slots=True)
class DanglingLink:
    """A bib heading's $0 naming an Asteri record that does not exist (or was deleted)."""

    record_id: int
    asteri_id: int


class Links(CatalogCore):
    """The bib base's side of Asteri: which base a view reads, the linking job, link checks."""

    authorities: Authorities

    def for_view(self, view: View) -> Self | Authorities:
        """The catalog of the base a view reads: fin11 is Asteri's, fin01/fin01alma this one."""
        return self.authorities if view.is_authority else self

    async def relink(self, change: HeadingChange) -> RelinkReport:
        """Rewrite every bib heading linked to the authority (CAT LOAD-ALINK), or refresh the
        fin01alma view where only its dates changed; one transaction per chunk of records,
        each save entering the change sequence. Running it again finishes an interrupted
        run: records already rewritten are left alone."""
        report = RelinkReport(change.authority_id)
        ids = await self.store.ids_with_term(indexing.IX_ASTERIID, str(change.authority_id))
        report.linked = len(ids)
        for start in range(0, len(ids), RELINK_CHUNK):
            chunk = ids[start : start + RELINK_CHUNK]
            async with self.store.transaction() as txn:
                rows = await txn.existing_rows(chunk)
                parsed = await asyncio.to_thread(_parse_rows, rows)
                linked: set[int] = set()
                for record in parsed.values():
                    linked |= asteri.linked_ids(record)
                dates = await self.linked_dates(linked)
                now = self._now()
                writes, olds = await asyncio.to_thread(
                    self._relinked_writes, rows, parsed, change, dates, now, report
                )
                if writes:
                    await txn.save(writes, olds)
        return report

    def _relinked_writes(
        self,
        rows: dict[int, RecordRow],
        parsed: dict[int, pymarc.Record],
        change: HeadingChange,
        dates: dict[int, str],
        now: int,
        report: RelinkReport,
    ) -> tuple[list[RecordWrite], dict[int, indexing.IndexEntry]]:
        writes: list[RecordWrite] = []
        olds: dict[int, indexing.IndexEntry] = {}
        for rid, record in parsed.items():
            row = rows[rid]
            # each field's index terms once: the old and the new entry share all but the
            # rewritten headings' (and the ids', which the save may edit)
            shares = EntryShares()
            old = shares.entry(record, rid)
            rewritten = None
            if change.heading is not None:
                rewritten = asteri.relink_record(record, change.authority_id, change.heading)
            if rewritten is not None:
                self._finish(rewritten, rid, LINK_USER, now)
                entry = shares.entry(rewritten, rid)
                version = next_version(row, now)
                writes.append(prepare_write(rewritten, rid, now, version, dates=dates, entry=entry))
                report.rewritten.append(rid)
            else:
                # the record stays; its fin01alma view shows the authority's new dates
                write = prepare_write(record, rid, now, row.version, dates=dates, entry=old)
                if write.alma_xml == row.alma_xml:
                    continue
                writes.append(write)
                report.refreshed.append(rid)
            olds[rid] = old
        return writes, olds

    async def refresh_linked_views(self, authority_ids: Sequence[int]) -> int:
        """Recompute the fin01alma view of the bib records linked to these authorities (after
        a bulk load, whose views were prepared without them); returns the records saved."""
        saved = 0
        for authority_id in sorted(set(authority_ids)):
            report = await self.relink(HeadingChange(authority_id, None, True))
            saved += len(report.refreshed)
        return saved

    async def check_links(self) -> list[DanglingLink]:
        """Every bib heading link to an Asteri record that is not there (missing or deleted).
        The records keep their $0 as it is: only the report names them."""
        pairs = await self.store.index_pairs(indexing.IX_ASTERIID)
        wanted = sorted({int(term) for term, _ in pairs})
        live: set[int] = set()
        if self.asteri_store is not None:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found = await self.asteri_store.fetch(chunk, View.FIN11)
                live.update(s.id for s in found if not s.deleted)
        dangling = [DanglingLink(rec, int(term)) for term, rec in pairs if int(term) not in live]
        return sorted(dangling, key=lambda d: (d.record_id, d.asteri_id))


def _parse_rows(rows: dict[int, RecordRow]) -> dict[int, pymarc.Record]:
    return {rid: records.parse_marcxml(row.xml) for rid, row in rows.items() if not row.deleted}
