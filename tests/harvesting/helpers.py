"""What the harvesting tests share: a Melinda store with a joining library, its source, the store compared."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pymarc

from bench.library_source import LibrarySource, SourceServer, local_copy
from gateway import records
from gateway.catalog import Catalog
from gateway.emulator.generator.builder import generate_records

LIBRARY = "VASKI"
SID_CODE = "vaski"


def matchable(count: int, seed: int = 1) -> Iterator[pymarc.Record]:
    """Generated Melinda records a library's copy of which Melinda's matching finds: live
    books with an ISBN (no component parts, no deleted records)."""
    for record in generate_records(count * 4, seed=seed):
        leader = str(record.leader)
        if leader[5] == "d" or leader[7] != "m" or record.get_fields("773"):
            continue
        if not record.get_fields("020"):
            continue
        yield record
        count -= 1
        if count == 0:
            return


def new_titles(count: int) -> list[pymarc.Record]:
    """Records Melinda does not have (another seed), live books."""
    return list(matchable(count, seed=4242))


async def melinda_with_library(catalog: Catalog, melinda: list[pymarc.Record]) -> None:
    await catalog.add_library(LIBRARY, name="Vaski", sid_code=SID_CODE, lows=[LIBRARY])
    await catalog.load(melinda)


def library_source(
    duplicates: list[pymarc.Record], fresh: list[pymarc.Record], *, page_size: int = 10
) -> tuple[LibrarySource, SourceServer, dict[str, int]]:
    """The library's source: local copies of `duplicates` (L1…) then of `fresh`; returns
    also which Melinda id each duplicate's local id copies."""
    source = LibrarySource()
    copies: dict[str, int] = {}
    for number, record in enumerate([*duplicates, *fresh], start=1):
        local_id = f"L{number:07d}"
        if number <= len(duplicates):
            copies[local_id] = int(record["001"].data)
        source.put(local_id, local_copy(record, local_id))
    return source, SourceServer(source, page_size=page_size), copies


async def store_contents(catalog: Catalog) -> dict[int, bytes]:
    """Every record (deleted ones too) as stored, by id."""
    high = catalog.store.high_id
    found = await catalog.fetch(list(range(1, high + 1)))
    return {r.id: r.xml for r in found}


def without_times(xml: bytes) -> bytes:
    """A stored record without what the clock wrote: 005, and CAT's date and time."""
    record = records.parse_marcxml(xml)
    for field in record.get_fields("CAT"):
        field.subfields = [s for s in field.subfields if s.code not in ("c", "h")]
    record.remove_fields("005")
    for field in record.get_fields("884"):
        field.subfields = [s for s in field.subfields if s.code != "g"]
    return records.record_to_marcxml(record)


def sids_of(xml: bytes) -> list[tuple[str, str]]:
    return records.sids(records.parse_marcxml(xml))


def lows_of(xml: bytes) -> list[str]:
    return records.lows(records.parse_marcxml(xml))


async def wait_for_harvest(session: aiohttp.ClientSession, base: str, harvest_id: int) -> dict:  # type: ignore[type-arg]
    """Poll GET /_admin/harvests/ID until the run is no longer active."""
    for _ in range(1200):
        async with session.get(f"{base}/_admin/harvests/{harvest_id}") as resp:
            assert resp.status == 200
            report = await resp.json()
        if not report["active"] and report["state"] != "running":
            return dict(report)
        await asyncio.sleep(0.1)
    raise AssertionError(f"harvest {harvest_id} did not end")
