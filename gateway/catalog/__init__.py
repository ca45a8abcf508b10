"""The Melinda operations every protocol shares: search, read, write, LOWs, changes, users.

Protocols call only this; the store is the only module that speaks SQL.
"""

from __future__ import annotations

from gateway.catalog.asteri import Authorities
from gateway.catalog.base import CatalogCore
from gateway.catalog.changes import ChangeFeed
from gateway.catalog.imports import HarvestedRef, ImportOp, ImportOutcome, Imports
from gateway.catalog.libraries import LibrariesAndUsers
from gateway.catalog.links import DanglingLink, Links, RelinkReport
from gateway.catalog.lows import LowsAndPublishing
from gateway.catalog.saving import finish_prepared, next_version, old_entry, prepare_write
from gateway.catalog.search import SearchAndRetrieval
from gateway.catalog.snapshots import LoadsAndSnapshots
from gateway.catalog.types import (
    PUBLISH_SLICE,
    RESULT_SET_CAP,
    SYSTEM_USER,
    LoadReport,
    PublishResult,
    SetInfo,
)
from gateway.catalog.writes import Writes
from gateway.query import SortKey
from gateway.store import Store, open_store

__all__ = [
    "AUTHORITY_BASE",
    "PUBLISH_SLICE",
    "RESULT_SET_CAP",
    "SYSTEM_USER",
    "Authorities",
    "Catalog",
    "CatalogCore",
    "DanglingLink",
    "HarvestedRef",
    "ImportOp",
    "ImportOutcome",
    "LoadReport",
    "PublishResult",
    "RelinkReport",
    "SetInfo",
    "SortKey",
    "finish_prepared",
    "next_version",
    "old_entry",
    "prepare_write",
]


AUTHORITY_BASE = "fin11"


class Catalog(
    SearchAndRetrieval,
    ChangeFeed,
    Writes,
    LowsAndPublishing,
    LibrariesAndUsers,
    LoadsAndSnapshots,
    Imports,
    Links,
):
    """Melinda over one store. Construct with `await Catalog.open(path)`.

    One family of operations per module (search, changes, writes, LOWs, libraries, loads,
    Asteri links); this class only puts them together, so protocols call
    `catalog.search(...)` as ever. `authorities` is Asteri's base (fin11) of the same store;
    `for_view(view)` is the catalog a view reads.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.asteri_store = store.base(AUTHORITY_BASE)
        self.authorities = Authorities(self.asteri_store, self)

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    async def open(cls, url: str) -> Catalog:
        """The catalog over the store `url` names: `sqlite:///path` (or a bare path) or
        `postgresql://user@host:port/db`."""
        return cls(await open_store(url))
