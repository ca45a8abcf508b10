"""A publishing file applied in pipelined slices leaves the store as one slice would."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway import records
from gateway.catalog import Catalog, editing, lows
from gateway.emulator.generator import generate_records
from gateway.model import User
from gateway.records import splice, tails
from gateway.store.sqlite import store as sqlite_store

PUBLISHER = User("HELKA-PUBLISH", "HELKA", 30, frozenset({"HELKA"}))
AT = 1_900_000_000  # "now" for both stores: their saves must stamp the same second


async def _loaded(path: Path, count: int) -> Catalog:
    catalog = await Catalog.open(str(path))
    catalog._last_datestamp = AT
    await catalog.load(list(generate_records(count, 23)))
    await catalog.add_library("HELKA", sid_code="helka")
    return catalog


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return (
            list(conn.execute("SELECT * FROM records ORDER BY id"))
            + list(conn.execute("SELECT * FROM record_forms ORDER BY id"))
            + list(conn.execute("SELECT * FROM terms ORDER BY ix, term, rec"))
        )


async def test_slices_leave_the_store_as_one_slice_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Additions (spliced and full), withdrawals and unknown ids over many small slices, their
    tails edited in a thread or in the helper process: every row, change sequence and index
    term as when the whole file is one slice."""
    ids = list(range(1, 121))
    present = [(rid, f"99{rid:010d}506253") for rid in ids[10:]]
    withdrawn = [*ids[:10], 999_999]
    results = []
    ways = (("thread", 7), ("helper", 7), ("thread", 10_000))
    for way, size in ways:
        monkeypatch.setattr(lows, "PUBLISH_SLICE", size)
        path = tmp_path / f"slices-{way}-{size}.sqlite"
        catalog = await _loaded(path, len(ids))
        catalog.editing_process = way == "helper"
        try:
            await catalog._change_lows("HELKA", present[:30], [], user=PUBLISHER, sid_code="helka")
            results.append(
                await catalog._change_lows(
                    "HELKA", present, withdrawn, user=PUBLISHER, sid_code="helka"
                )
            )
            editor = catalog.last_editor
            assert editor is not None
            if way == "helper":  # every slice with an addition on a tail went there
                assert editor.helper is not None and editor.in_process >= 10
                assert not editor.helper.process.is_alive()  # it ends with the publication
            else:
                assert editor.helper is None and editor.in_process == 0
        finally:
            await catalog.close()
    sliced, in_helper, whole = results
    assert sliced == whole == in_helper and len(whole.added) >= 80
    assert whole.unknown == [999_999]
    expected = _rows(tmp_path / "slices-thread-10000.sqlite")
    assert _rows(tmp_path / "slices-thread-7.sqlite") == expected
    assert _rows(tmp_path / "slices-helper-7.sqlite") == expected


async def test_a_helper_that_dies_leaves_its_edits_to_a_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A killed helper process: the slice it was given, and every one after, is edited in a
    thread, with the helper's result; the publication goes on."""
    caplog.set_level(logging.INFO, logger="melinda.publishing")
    catalog = await _loaded(tmp_path / "helper.sqlite", 20)
    try:
        async with catalog.store.transaction() as txn:
            rows = await txn.tail_rows(list(range(1, 21)))
        forms = [
            (row.tail, row.iso_tail, row.oai_sets)
            for row in rows.values()
            if row.tail is not None and row.iso_tail is not None and row.oai_sets is not None
        ]
        assert len(forms) >= 15
        local_ids = [f"99{n:010d}506253" for n in range(len(forms))]
        stamp = splice.SaveStamp.of("HELKA-PUBLISH", 30, datetime(2030, 1, 2, tzinfo=UTC))
        args: dict[str, Any] = {"code": "HELKA", "sid_code": "helka", "stamp": stamp}
        expected = tails.add_low_sid_tails(forms, local_ids, **args)
        assert all(edit is not None for edit in expected)
        async with editing.tail_editor() as editor:
            await editor.start_helper(wait=True)
            assert editor.helper is not None
            assert await editor.add_low_sid_tails(forms, local_ids, **args) == expected
            assert editor.in_process == 1
            editor.helper.process.kill()
            editor.helper.process.join()
            assert await editor.add_low_sid_tails(forms, local_ids, **args) == expected
            assert await editor.add_low_sid_tails(forms[:3], local_ids[:3], **args) == expected[:3]
            assert editor.in_process == 1 and editor.helper.broken
        said = [r.getMessage() for r in caplog.records if r.name == "melinda.publishing"]
        assert said == [
            "tails of 1 of 3 slices edited in a helper process (it died: the rest in a thread)"
        ]
    finally:
        await catalog.close()


async def test_a_record_twice_in_a_file_is_changed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first line wins, as within one slice, even when the second falls in a later slice
    (read before the first is written): one save, one change in the OAI-PMH feed."""
    monkeypatch.setattr(lows, "PUBLISH_SLICE", 2)
    catalog = await _loaded(tmp_path / "twice.sqlite", 10)
    try:
        before = max(r.seq for r in await catalog.changes(after_seq=0, limit=100))
        present = [(3, "first"), (4, "x"), (5, "y"), (3, "second"), (6, "z")]
        result = await catalog._change_lows("HELKA", present, [], user=PUBLISHER, sid_code="helka")
        stored = await catalog.get(3)
        assert result.added.count(3) == 1 and 3 not in result.unchanged
        assert ("first", "helka") in records.sids(stored.record())
        assert ("second", "helka") not in records.sids(stored.record())
        changed = [r.id for r in await catalog.changes(after_seq=before, limit=100)]
        assert changed == [3, 4, 5, 6]
    finally:
        await catalog.close()


def _published(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(
            conn.execute(
                # (a record kept split has its LOWs in its tail)
                "SELECT count(*) FROM records r JOIN record_forms f ON f.id = r.id"
                " WHERE instr(coalesce(r.tail, f.xml), CAST('>HELKA</subfield>' AS BLOB))"
            ).fetchone()[0]
        )


def _published_in_file(path: Path) -> int:
    """Records whose row in the database file itself (not its write-ahead log) has LOW HELKA."""
    copy = path.with_name(f"{path.name}.file-only")
    copy.write_bytes(path.read_bytes())
    try:
        return _published(copy)
    finally:
        copy.unlink()


async def test_a_large_publishing_file_is_checkpointed_after_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit of a large transaction leaves its rows in the write-ahead log (readable at
    once); the checkpoint after it puts them into the database file, and the writer goes on
    checkpointing the transactions after it as SQLite does."""
    path = tmp_path / "large.sqlite"
    catalog = await _loaded(path, 120)
    seen: list[tuple[int, int]] = []
    checkpoint = sqlite_store._checkpoint

    def observed(file: str) -> None:
        before = _published_in_file(Path(file))
        checkpoint(file)
        seen.append((before, _published_in_file(Path(file))))

    with sqlite3.connect(path) as conn:  # the file itself holds the store as loaded
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    loaded = _published_in_file(path)  # some generated records hold LOW HELKA already
    assert loaded < 20
    writer = catalog.store._writer  # type: ignore[attr-defined]
    await writer.execute("PRAGMA wal_autocheckpoint = 1")  # any other commit checkpoints
    monkeypatch.setattr(sqlite_store, "LARGE_TRANSACTION_ROWS", 50)
    monkeypatch.setattr(sqlite_store, "_checkpoint", observed)
    try:
        present = [(rid, f"99{rid:010d}506253") for rid in range(1, 121)]
        result = await catalog._change_lows("HELKA", present, [], user=PUBLISHER, sid_code="helka")
        assert len(result.added) == 120 and _published(path) == 120
        await catalog.store.checkpointed()
        assert seen == [(loaded, 120)]
        autocheckpoint = await writer.execute("PRAGMA wal_autocheckpoint")
        assert (await autocheckpoint.fetchone()) == (1,)
    finally:
        await catalog.close()


async def test_the_helper_starts_before_the_look_ups_and_ends_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of many slices starts the helper before the index look-ups; when they find
    nothing to change, it ends with the publication all the same."""
    monkeypatch.setattr(lows, "PUBLISH_SLICE", 7)
    catalog = await _loaded(tmp_path / "early.sqlite", 40)
    catalog.editing_process = True
    present = [(rid, f"99{rid:010d}506253") for rid in range(1, 41)]
    try:
        first = await catalog._change_lows("HELKA", present, [], user=PUBLISHER, sid_code="helka")
        assert len(first.added) == 40
        again = await catalog._change_lows("HELKA", present, [], user=PUBLISHER, sid_code="helka")
        assert sorted(again.unchanged) == list(range(1, 41)) and not again.added
        editor = catalog.last_editor
        assert editor is not None and editor.helper is not None  # started at once
        assert editor.slices == 0 and not editor.helper.process.is_alive()
        # a file applied before is reported again before any helper starts
        args: dict[str, Any] = {"user": PUBLISHER, "sid_code": "helka", "file_key": "f@1"}
        assert not (await catalog._change_lows("HELKA", present, [], **args)).replayed
        assert (await catalog._change_lows("HELKA", present, [], **args)).replayed
        assert catalog.last_editor is not None and catalog.last_editor.helper is None
    finally:
        await catalog.close()


async def test_a_helper_stopped_while_starting_is_ended_at_once() -> None:
    """Stopping a helper that is not up yet kills it: the publication does not wait for a
    process's imports that it has no use for."""
    helper = await asyncio.to_thread(editing.Helper)
    await asyncio.to_thread(helper.stop)
    assert not helper.process.is_alive()
    assert helper.process.exitcode == -signal.SIGKILL
