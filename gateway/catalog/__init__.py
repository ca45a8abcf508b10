"""The Melinda operations every protocol shares: search, read, write, LOWs, changes, users.

Protocols call only this; the store is the only module that speaks SQL.
"""

from __future__ import annotations

from gateway.catalog.base import CatalogCore
from gateway.catalog.changes import ChangeFeed
from gateway.catalog.imports import HarvestedRef, ImportOp, ImportOutcome, Imports
from gateway.catalog.libraries import LibrariesAndUsers
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
from gateway.store import SqliteStore

__all__ = [
    "PUBLISH_SLICE",
    "RESULT_SET_CAP",
    "SYSTEM_USER",
    "Catalog",
    "CatalogCore",
    "HarvestedRef",
    "ImportOp",
    "ImportOutcome",
    "LoadReport",
    "PublishResult",
    "SetInfo",
    "SortKey",
    "finish_prepared",
    "next_version",
    "old_entry",
    "prepare_write",
]


class Catalog(
    SearchAndRetrieval,
    ChangeFeed,
    Writes,
    LowsAndPublishing,
    LibrariesAndUsers,
    LoadsAndSnapshots,
    Imports,
):
    """Melinda over one store. Construct with `await Catalog.open(path)`.

    One family of operations per module (search, changes, writes, LOWs, libraries, loads);
    this class only puts them together, so protocols call `catalog.search(...)` as ever.
    """

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    async def open(cls, path: str) -> Catalog:
        return cls(await SqliteStore.open(path))
