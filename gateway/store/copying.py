"""Moving a whole catalog between stores (SQLite <-> PostgreSQL): every table, row for row,
in key order and batches, into an empty store; the counts compared at the end."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

# column kinds: how a value travels between the stores (time: epoch seconds; json: text)
INT, BOOL, BYTES, TEXT, TIME, JSON = "int", "bool", "bytes", "text", "time", "json"
REAL = "real"  # epoch seconds with a fraction, as ILL keeps them


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, kind)
    key: tuple[str, ...]  # unique, in the order the rows are read

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def key_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        names = self.names
        return tuple(row[names.index(k)] for k in self.key)


# both bases' record tables (fin01 `records`, Asteri's `aut_records`) have the one layout
RECORD_COLUMNS: Final = (
    ("id", INT),
    ("seq", INT),
    ("datestamp", TIME),
    ("version", INT),
    ("deleted", BOOL),
    ("xml", BYTES),
    ("alma_xml", BYTES),
    ("sort_title", TEXT),
    ("sort_author", TEXT),
    ("sort_date", TEXT),
    ("iso", BYTES),  # the fin01 view as ISO 2709, or NULL
    ("oai_sets", TEXT),  # the fin01 view's OAI-PMH set specs (JSON), or NULL
    ("oai_marc21", BYTES),  # the fin01 view's marc21 form, or NULL
)

TABLES: Final[tuple[TableSpec, ...]] = (
    TableSpec(
        "libraries",
        (
            ("code", TEXT),
            ("name", TEXT),
            ("sid_code", TEXT),
            ("level", INT),
            ("privileged", BOOL),
            ("password_hash", TEXT),
        ),
        ("code",),
    ),
    TableSpec("library_lows", (("code", TEXT), ("low", TEXT)), ("code", "low")),
    TableSpec("ssh_keys", (("code", TEXT), ("key", TEXT)), ("code", "key")),
    TableSpec(
        "records",
        RECORD_COLUMNS,
        ("id",),
    ),
    TableSpec("terms", (("ix", INT), ("term", TEXT), ("rec", INT)), ("ix", "term", "rec")),
    TableSpec(
        "aut_records",
        RECORD_COLUMNS,
        ("id",),
    ),
    TableSpec("aut_terms", (("ix", INT), ("term", TEXT), ("rec", INT)), ("ix", "term", "rec")),
    TableSpec(
        "significant_changes",
        (
            ("seq", INT),
            ("rec", INT),
            ("at", TIME),
            ("user", TEXT),
            ("library", TEXT),
            ("fields", JSON),
        ),
        ("seq",),
    ),
    TableSpec(
        "publishing_log",
        (("library", TEXT), ("file_key", TEXT), ("at", TIME), ("result", TEXT)),
        ("library", "file_key"),
    ),
    TableSpec(
        "harvests", (("id", INT), ("library", TEXT), ("state", TEXT), ("run", TEXT)), ("id",)
    ),
    TableSpec(
        "harvested",
        (("library", TEXT), ("identifier", TEXT), ("rec", INT), ("how", TEXT), ("digest", TEXT)),
        ("library", "identifier"),
    ),
    TableSpec(
        "ill_requests",
        (
            ("id", INT),
            ("role", TEXT),
            ("library", TEXT),
            ("own_symbol", TEXT),
            ("peer_symbol", TEXT),
            ("peer_url", TEXT),
            ("request_id", TEXT),
            ("supplier_request_id", TEXT),
            ("service", TEXT),
            ("record", TEXT),
            ("scenario", TEXT),
            ("profile", TEXT),
            ("status", TEXT),
            ("received", BOOL),
            ("error", TEXT),
            ("created", REAL),
            ("updated", REAL),
        ),
        ("id",),
    ),
    TableSpec(
        "ill_messages",
        (
            ("id", INT),
            ("request", INT),
            ("direction", TEXT),
            ("kind", TEXT),
            ("summary", TEXT),
            ("body", TEXT),
            ("delivery", TEXT),
            ("due", REAL),
            ("attempts", INT),
            ("detail", TEXT),
            ("at", REAL),
        ),
        ("id",),
    ),
    TableSpec("asteri_relinks", (("authority", INT), ("since", INT)), ("authority",)),
)

BATCH: Final = 2000


class CopyableStore(Protocol):
    """What a store offers for copying: rows out in key order, rows in, counts."""

    async def copy_out(
        self, table: TableSpec, after: tuple[Any, ...] | None, limit: int
    ) -> list[tuple[Any, ...]]: ...

    async def copy_in(self, table: TableSpec, rows: Sequence[tuple[Any, ...]]) -> None: ...

    async def count_rows(self, table: TableSpec) -> int: ...

    async def copy_finish(self, high_id: int) -> None:
        """Counters from the copied rows (the change sequence after the highest seq); the
        highest id ever given as the source had it."""
        ...

    @property
    def high_id(self) -> int: ...

    def base(self, name: str) -> CopyableStore: ...


BASES: Final = ("fin01", "fin11")  # each base's counters are set after its rows


class CopyError(Exception):
    """The target is not empty, or the counts differ after the copy."""


async def copy_store(
    source: CopyableStore,
    target: CopyableStore,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Copy every table of `source` into the empty `target`; returns the rows per table.

    `progress(table, done, total)` after each batch. Raises CopyError when the target holds
    records or libraries already, or when a table's count differs afterwards.
    """
    for table in TABLES:
        if table.name in ("records", "libraries") and await target.count_rows(table):
            raise CopyError(f"the target store is not empty (it has {table.name})")
    copied: dict[str, int] = {}
    for table in TABLES:
        total = await source.count_rows(table)
        done = 0
        after: tuple[Any, ...] | None = None
        while True:
            rows = await source.copy_out(table, after, BATCH)
            if not rows:
                break
            await target.copy_in(table, rows)
            done += len(rows)
            after = table.key_of(rows[-1])
            if progress is not None:
                progress(table.name, done, total)
        copied[table.name] = done
    for name in BASES:
        await target.base(name).copy_finish(source.base(name).high_id)
    for table in TABLES:
        there, here = await source.count_rows(table), await target.count_rows(table)
        if there != here:
            raise CopyError(f"{table.name}: {there} rows in the source, {here} in the target")
    return copied
