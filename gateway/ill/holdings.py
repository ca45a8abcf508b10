"""Whether a lending library holds what a request asks for: the item found in Melinda, its LOW read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gateway.catalog import Catalog
from gateway.ill.messages import IllRequest
from gateway.model import Library
from gateway.query import And, Or, Query, Term
from gateway.records import aleph

NOT_HELD: Final = "NotHeld"
NOT_FOUND: Final = "NotFoundAsCited"
_MELINDA_ID: Final = re.compile(r"(?:\(FI-MELINDA\)|\(FIN01\)|FCC)?0*(\d{1,9})")


@dataclass(frozen=True, slots=True)
class Holding:
    record: int | None  # the Melinda ID the request resolved to
    held: bool

    @property
    def reason_unfilled(self) -> str:
        return NOT_FOUND if self.record is None else NOT_HELD


def _item_query(request: IllRequest) -> Query | None:
    """ISBN, then ISSN, then title and author: the first the request carries."""
    if request.isbn.strip():
        return Term("bath.isbn", request.isbn.strip())
    if request.issn.strip():
        return Term("bath.issn", request.issn.strip())
    if request.title.strip():
        title: Query = Term("dc.title", request.title.strip())
        if request.author.strip():
            return And(title, Term("dc.author", request.author.strip()))
        return title
    return None


async def resolve_holding(catalog: Catalog, request: IllRequest, library: Library) -> Holding:
    """The record a request means and whether `library`'s LOW is on it.

    supplierUniqueRecordId is a Melinda ID (`000123456`, `(FI-MELINDA)000123456`, `FCC…`);
    when there is none, or it names no live record, the item is searched for through the
    catalog's own search; of several hits, one the library holds wins.
    """
    given = _MELINDA_ID.fullmatch(request.supplier_unique_record_id.strip())
    if given is not None:
        found = await catalog.fetch([int(given.group(1))])
        if found and not found[0].deleted:
            stored = found[0]
            return Holding(
                stored.id, any(aleph.has_low(stored.record(), low) for low in library.lows)
            )
    query = _item_query(request)
    if query is None or not library.lows:
        return Holding(None, False)
    hits = await catalog.search(query, cap=50)
    if not hits.ids:
        return Holding(None, False)
    lows: Query = Term("melinda.low", library.lows[0])
    for low in library.lows[1:]:
        lows = Or(lows, Term("melinda.low", low))
    held = await catalog.search(And(query, lows), cap=1)
    if held.ids:
        return Holding(held.ids[0], True)
    return Holding(hits.ids[0], False)
