"""The change feed and sets: what OAI-PMH harvests, and the significant-change log."""

from __future__ import annotations

from typing import Any

from gateway import indexing
from gateway.catalog.base import CatalogCore
from gateway.catalog.types import SetInfo
from gateway.model import StoredRecord, View
from gateway.oai_sets import MELINDA_SETS
from gateway.records.oai_forms import Ready

# Melinda's named OAI-PMH sets (melinda-sets.json); `low:CODE` sets come from the LOWs in use.
NAMED_SETS: tuple[SetInfo, ...] = tuple(
    SetInfo(s.spec, s.name, s.description) for s in MELINDA_SETS
)


class ChangeFeed(CatalogCore):
    """The change feed OAI-PMH harvests page by, its sets, and the significant-change log."""

    @staticmethod
    def _set_term(set_spec: str | None) -> tuple[int, str] | None:
        if set_spec is None:
            return None
        if set_spec.lower().startswith("low:"):
            return (indexing.IX_LOW, indexing.fold(set_spec[4:]).strip())
        return (indexing.IX_OAISET, set_spec)

    async def changes(
        self,
        *,
        after_seq: int = 0,
        since: int | None = None,
        until: int | None = None,
        set_spec: str | None = None,
        limit: int = 100,
        view: View = View.FIN01,
        ready: Ready | None = None,
    ) -> list[StoredRecord]:
        """Records changed in [since, until] with seq > after_seq, ascending by seq.

        With a set, deleted records are left out (as Melinda's provider does): they leave
        every index, set membership included. `ready`: with the stored OAI-PMH forms
        (`gateway.records.oai_forms`), and the MARCXML only of records without them.
        """
        floor = await self.store.seq_floor(since)
        return await self.store.changes(
            after_seq=max(after_seq, floor),
            since=since,
            until=until,
            set_term=self._set_term(set_spec),
            limit=limit,
            view=view,
            ready=ready,
        )

    async def count_changes(
        self,
        *,
        after_seq: int = 0,
        since: int | None = None,
        until: int | None = None,
        set_spec: str | None = None,
    ) -> int:
        floor = await self.store.seq_floor(since)
        return await self.store.count_changes(
            after_seq=max(after_seq, floor),
            since=since,
            until=until,
            set_term=self._set_term(set_spec),
        )

    async def sets(self) -> list[SetInfo]:
        lows, _named = await self.store.set_terms()
        low_sets = [SetInfo(f"low:{code.upper()}", f"Records of {code.upper()}") for code in lows]
        return [*NAMED_SETS, *low_sets]

    async def significant_changes(
        self, *, after_seq: int = 0, limit: int = 100, record_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The latest significant changes, newest first (the feed catalogers are notified from);
        with `record_id`, that record's only."""
        return await self.store.significant_changes(
            after_seq=after_seq, limit=limit, record_id=record_id
        )
