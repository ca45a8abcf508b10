"""Record counts are kept between writes (the console asks on every page) and never go stale:
not after our own writes, a reset or a restore, nor after another process writes the file.
The same for the change mark (a Z39.50 Present takes the records its search read while it
holds): every such commit moves it, reads do not."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gateway.catalog import Catalog
from gateway.emulator.generator import generate_records
from gateway.query import Term
from gateway.records.aleph import mark_deleted


def delete_elsewhere(path: Path, record_id: int) -> None:
    """Another process's write (the CLI beside a running gateway): a separate connection."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE records SET deleted = 1 WHERE id = ?", (record_id,))


async def test_counts_follow_every_write(tmp_path: Path) -> None:
    path = tmp_path / "melinda.sqlite"
    catalog = await Catalog.open(str(path))
    try:
        batch = list(generate_records(10, 3))
        for record in batch:
            record.remove_fields("STA")
        await catalog.load(batch)
        assert await catalog.record_counts() == (10, 0)
        assert await catalog.record_counts() == (10, 0)  # kept, and still right
        lows = await catalog.low_counts()
        assert lows and await catalog.low_counts() == lows
        await catalog.snapshot(str(tmp_path / "ten.sqlite"))
        more = list(generate_records(2, 4, start_id=50))
        mark_deleted(more[0])
        await catalog.load(more)
        assert await catalog.record_counts() == (11, 1)
        await asyncio.to_thread(delete_elsewhere, path, 1)
        assert await catalog.record_counts() == (10, 2)
        await catalog.add_low(2, "UUSI")
        assert (await catalog.low_counts())["UUSI"] == 1
        await catalog.restore(str(tmp_path / "ten.sqlite"))
        assert await catalog.record_counts() == (10, 0)
        assert "UUSI" not in await catalog.low_counts()
        await catalog.reset()
        assert await catalog.record_counts() == (0, 0)
        assert await catalog.low_counts() == {}
    finally:
        await catalog.close()


async def test_the_change_mark_moves_with_every_commit_and_only_then(tmp_path: Path) -> None:
    path = tmp_path / "melinda.sqlite"
    catalog = await Catalog.open(str(path))
    try:
        await catalog.load(list(generate_records(4, 5)))
        mark = catalog.change_mark()
        assert mark is not None
        await catalog.search_page(Term("dc.title", "a"), count=4)
        await catalog.fetch([1, 2, 3])
        assert catalog.change_mark() == mark
        # the snapshot's checkpoint empties the write-ahead log: the mark may move (needlessly)
        await catalog.snapshot(str(tmp_path / "four.sqlite"))
        marks = [catalog.change_mark()]
        for record_id in (1, 2, 3):  # another process's commits, one after the other
            await asyncio.to_thread(delete_elsewhere, path, record_id)
            marks.append(catalog.change_mark())
        await catalog.add_low(2, "UUSI")
        marks.append(catalog.change_mark())
        await catalog.restore(str(tmp_path / "four.sqlite"))
        marks.append(catalog.change_mark())
        await asyncio.to_thread(delete_elsewhere, path, 4)  # the restored file is watched
        marks.append(catalog.change_mark())
        await catalog.reset()
        marks.append(catalog.change_mark())
        assert None not in marks and len(set(marks)) == len(marks)
    finally:
        await catalog.close()
