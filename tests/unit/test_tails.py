"""A record kept as body and tail (`gateway.records.tails`) reads back as the whole record, and
a store written before records were split reads the same after its migration."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import records
from gateway.catalog import Catalog, prepare_write
from gateway.emulator.generator import generate_records
from gateway.model import View
from gateway.records import splice, tails
from gateway.records.iso2709 import compact_field_to_iso2709, marcxml_to_iso2709
from gateway.store import RecordWrite
from gateway.store.sqlite.schema import MIGRATIONS

VERSION = 1_700_000_000
STAMP = splice.SaveStamp.of("HELKA-PUBLISH", 30, datetime.fromtimestamp(1_750_000_000, UTC))


def _writes(count: int, seed: int) -> list[tuple[int, RecordWrite]]:
    found = []
    for record in generate_records(count, seed):
        record_id = records.melinda_id(record)
        assert record_id is not None
        found.append((record_id, prepare_write(record, record_id, VERSION)))
    return found


def test_split_forms_join_to_the_whole_ones() -> None:
    split = 0
    for record_id, write in _writes(300, 41):
        cut = write.cuts
        if write.deleted:
            assert cut is None
            continue
        if cut is None:
            continue
        split += 1
        xml, alma, iso = write.xml, write.alma_xml, write.iso2709
        kept = tails.split(xml, alma, iso, cut)
        assert len(kept.xml) + len(kept.tail) < len(xml)  # (without `</record>`)
        assert tails.join_xml(kept.xml, kept.tail, None) == xml
        assert tails.join_alma(kept.alma_xml, kept.tail, None, record_id, VERSION) == alma
        assert tails.join_iso(kept.iso, kept.iso_tail, None) == iso
        # a new stamp in every form, as a LOW change leaves it
        stamped = tails.join_xml(kept.xml, kept.tail, STAMP.value_005)
        assert STAMP.field_005 in stamped and stamped.count(b'tag="005"') == 1
        assert tails.join_iso(kept.iso, kept.iso_tail, STAMP.value_005) == marcxml_to_iso2709(
            stamped
        )
        view = tails.join_alma(kept.alma_xml, kept.tail, STAMP.value_005, record_id, VERSION + 9)
        assert STAMP.field_005 in view
        assert splice.staleness_field(record_id, VERSION + 9) in view
        assert splice.staleness_field(record_id, VERSION) not in view
    assert split > 250  # nearly every live record as generated


def test_a_tail_that_would_make_the_record_too_long_for_iso2709_has_no_iso_form() -> None:
    write = next(w for _, w in _writes(20, 42) if w.cuts is not None)
    assert write.cuts is not None
    kept = tails.split(write.xml, write.alma_xml, write.iso2709, write.cuts)
    assert kept.iso_tail is not None
    low = b'<datafield tag="LOW" ind1=" " ind2=" "><subfield code="a">X</subfield></datafield>'
    edits = [(len(kept.tail), len(kept.tail), low)]
    assert tails.iso_tail_after(kept.tail, kept.iso_tail, edits) is not None
    # the body's data as long as ISO 2709's five digits allow: one more field cannot fit
    near_full = b"%05d" % (99999 - 40) + kept.iso_tail[5:]
    assert tails.iso_tail_after(kept.tail, near_full, edits) is None
    # an edit that is not at a field boundary is refused, not guessed
    assert tails.iso_tail_after(kept.tail, kept.iso_tail, [(3, 3, low)]) is None


def _old_store(path: Path, count: int) -> list[tuple[int, bytes, bytes]]:
    """A store file as written before migration 9: forms in the records' rows."""
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:8], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    kept = []
    for seq, (record_id, w) in enumerate(_writes(count, 43), start=1):
        entry = w.entry
        conn.execute(
            "INSERT INTO records (id, seq, datestamp, version, deleted, xml, alma_xml,"
            " sort_title, sort_author, sort_date, iso, oai_sets, oai_marc21)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record_id, seq, VERSION, VERSION, int(w.deleted), w.xml, w.alma_xml,
                entry.sort_title if entry else "", entry.sort_author if entry else "",
                entry.sort_date if entry else "", w.iso2709, w.oai.sets, w.oai.marc21,
            ),
        )  # fmt: skip
        if entry:
            conn.executemany(
                "INSERT OR IGNORE INTO terms (ix, term, rec) VALUES (?, ?, ?)",
                [(ix, term, record_id) for ix, term in entry.terms],
            )
        kept.append((record_id, w.xml, w.alma_xml))
    conn.execute("INSERT INTO meta (key, value) VALUES ('high_id', ?)", (str(kept[-1][0]),))
    conn.commit()
    conn.close()
    return kept


def test_a_store_written_before_the_split_reads_the_same_and_splits_on_its_next_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "melinda.sqlite"
    kept = _old_store(path, 60)

    async def check() -> None:
        catalog = await Catalog.open(str(path))
        try:
            for record_id, xml, alma in kept:
                assert (await catalog.get(record_id, View.FIN01)).xml == xml
                assert (await catalog.get(record_id, View.FIN01ALMA)).xml == alma
            live = [rid for rid, xml, _ in kept if b"<leader>00000d" not in xml[:80]][:10]
            await catalog.add_library("HELKA", sid_code="helka")
            result = await catalog.publish_lows(
                "HELKA", [(rid, f"99{rid:010d}506253") for rid in live], [], full=False
            )
            assert sorted(result.added) == sorted(live)
            for rid in live:
                stored = await catalog.get(rid, View.FIN01)
                assert "HELKA" in records.lows(stored.record())
            # published whole (kept whole), then a second library's LOW: still whole rows
            await catalog.add_library("OULA", sid_code="oulu")
            await catalog.publish_lows("OULA", [(live[0], "1")], [], full=False)
        finally:
            await catalog.close()

    asyncio.run(check())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        whole = conn.execute("SELECT count(*) FROM records WHERE tail IS NULL").fetchone()[0]
        forms = conn.execute("SELECT count(*) FROM record_forms").fetchone()[0]
    assert whole == len(kept) and forms == len(kept)


@pytest.mark.parametrize("view", [View.FIN01, View.FIN01ALMA])
def test_records_saved_through_the_catalog_are_kept_split_and_read_whole(
    tmp_path: Path, view: View
) -> None:
    path = tmp_path / "melinda.sqlite"
    batch = list(generate_records(40, 44))

    async def check() -> list[tuple[int, bytes]]:
        catalog = await Catalog.open(str(path))
        try:
            await catalog.load(batch)
            await catalog.add_library("HELKA", sid_code="helka")
            ids = [records.melinda_id(r) or 0 for r in batch]
            await catalog.publish_lows("HELKA", [(i, f"L{i}") for i in ids], [], full=False)
            return [(i, (await catalog.get(i, view)).xml) for i in ids]
        finally:
            await catalog.close()

    read = asyncio.run(check())
    with sqlite3.connect(path) as conn:
        split = conn.execute("SELECT count(*) FROM records WHERE stamp IS NOT NULL").fetchone()[0]
    assert split >= 30  # published on their tails
    for record_id, xml in read:
        record = records.parse_marcxml(xml)
        if records.is_deleted(record):
            continue
        assert "HELKA" in records.lows(record)
        assert (f"L{record_id}", "helka") in records.sids(record)
        assert xml.count(STAMP.field_005[:24]) == 1  # one 005


def test_the_quick_addition_gives_what_the_tail_splice_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A publication's usual record (no LOW nor SID of the library yet) takes the quick way,
    with the same tail, terms and edits as the field-by-field way."""
    kept = []
    for _record_id, write in _writes(300, 45):
        if write.cuts is not None:
            kept.append(tails.split(write.xml, write.alma_xml, write.iso2709, write.cuts).tail)
    cases = [("HELKA", "helka"), ("OULA", "oulu"), ("TAMK", " TAMK "), ("NEWLIB", "newlib")]

    def add(tail: bytes, code: str, sid_code: str, n: int) -> splice.TailSpliced | None:
        return splice.add_low_sid_tail(
            tail, code=code, sid_code=sid_code, local_id=f"99{n:010d}506253", stamp=STAMP
        )

    quick = {
        (n, code): add(tail, code, sid_code, n)
        for n, tail in enumerate(kept)
        for code, sid_code in cases
    }
    taken = 0
    for n, tail in enumerate(kept):
        for code, sid_code in cases:
            first = splice._TAIL_START.search(tail)
            cat_low = len(tail) if first is None else first.start()
            local = f"99{n:010d}506253"
            taken += splice._quick_addition(tail, cat_low, code, sid_code, local, STAMP) is not None
    monkeypatch.setattr(splice, "_quick_addition", lambda *args: None)
    for n, tail in enumerate(kept):
        for code, sid_code in cases:
            assert add(tail, code, sid_code, n) == quick[(n, code)]
    assert taken > len(kept) * len(cases) // 2


@pytest.mark.parametrize(
    "local_id", ["990000000005506253", "(ANDL100020)1077305", "99ä x", "", "a&b", 'q"', "<x>"]
)
def test_a_new_sid_in_iso2709_is_what_the_conversion_makes(local_id: str) -> None:
    field = splice._sid_field(local_id, "helka") if local_id else b""
    if not field:
        field = splice._sid_field("1", "")
    quick = tails._sid_iso2709(field)
    if b"&" in field:
        assert quick is None  # escaped: the conversion's way
    else:
        assert quick is not None and quick == compact_field_to_iso2709(field)
