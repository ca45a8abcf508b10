"""The LOW-publishing splice gives byte for byte what the full parse-and-save path gives."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import records
from gateway.catalog import Catalog, PublishResult, prepare_write
from gateway.catalog.saving import old_entry
from gateway.emulator.generator import generate_records
from gateway.errors import MalformedRecordError
from gateway.model import User
from gateway.records import splice, tails
from gateway.records.iso2709 import marcxml_to_iso2709
from gateway.records.oai_forms import NO_FORMS, OaiForms, oai_forms
from gateway.store import (
    RecordRow,
    RecordWrite,
    SplicedWrite,
    SqliteStore,
    TailRow,
    TailWrite,
    copying,
)
from tests.conftest import shared_fixture

PUBLISHER = User("HELKA-PUBLISH", "HELKA", 30, frozenset({"HELKA"}))
STORED_AT = 1_700_000_000  # when the rows were last saved (their datestamp and version)
NOW = 1_750_000_000  # the publication's save


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """A real catalog: `_apply_low_changes` runs both paths on its code."""
    path = tmp_path_factory.mktemp("splice") / "melinda.sqlite"
    catalog = asyncio.run(Catalog.open(str(path)))
    try:
        yield catalog
    finally:
        asyncio.run(catalog.close())


def stored_row(record: pymarc.Record, record_id: int, version: int = STORED_AT) -> RecordRow:
    """The row the store keeps for `record`, as its write path makes it."""
    write = prepare_write(record, record_id, STORED_AT, version)
    return RecordRow(
        record_id, 1, write.datestamp, write.version, write.deleted, write.xml, write.alma_xml,
        write.iso2709, write.oai,
    )  # fmt: skip


def saved_row(catalog: Catalog, row: RecordRow, code: str = "TESTLIB") -> RecordRow:
    """The row after a full-path save (adding a LOW): the shape every gateway save leaves."""
    writes, _olds, _ = catalog._apply_low_changes(
        {row.id: row}, [(row.id, None, True)], code, "testlib", PUBLISHER, STORED_AT,
        PublishResult(), splice_additions=False,
    )  # fmt: skip
    if not writes:
        return row
    write = writes[0]
    assert isinstance(write, RecordWrite)
    return RecordRow(
        row.id, 2, write.datestamp, write.version, write.deleted, write.xml, write.alma_xml,
        write.iso2709, write.oai,
    )  # fmt: skip


def both_paths(
    catalog: Catalog,
    row: RecordRow,
    code: str,
    sid_code: str,
    local_id: str | None,
    now: int = NOW,
) -> bool:
    """Apply one LOW addition both ways, assert the same outcome; True when it was spliced."""
    fast_result, full_result = PublishResult(), PublishResult()
    rows = {row.id: row}
    changes = [(row.id, local_id, True)]
    fast, fast_olds, declined = catalog._apply_low_changes(
        rows, changes, code, sid_code, PUBLISHER, now, fast_result
    )
    full, olds, _ = catalog._apply_low_changes(
        rows, changes, code, sid_code, PUBLISHER, now, full_result, splice_additions=False
    )
    assert fast_result == full_result
    assert len(fast) == len(full) and not declined
    if not full:
        assert not tail_path(catalog, row, changes, code, sid_code, now)
        return False
    (fast_write,), (full_write,) = fast, full
    assert isinstance(full_write, RecordWrite)
    if tail_path(catalog, row, changes, code, sid_code, now, full_write, full_result):
        TAIL_SPLICED.append(row.id)
    if not isinstance(fast_write, SplicedWrite):
        assert fast_write == full_write  # declined: the full path did the save
        assert fast_olds == olds
        return False
    assert fast_write.xml == full_write.xml
    assert fast_write.alma_xml == full_write.alma_xml
    # the stored ISO 2709 form too: what the full save stores (None only when it cannot hold it)
    assert fast_write.iso2709 == full_write.iso2709
    assert (fast_write.datestamp, fast_write.version) == (full_write.datestamp, full_write.version)
    assert full_write.deleted is row.deleted
    if row.deleted:
        # still deleted: no OAI-PMH forms, no index terms (the full save's entry is none)
        assert fast_write.oai == full_write.oai == NO_FORMS
        assert full_write.entry is None and row.id not in olds
        assert not fast_write.added_terms and not fast_write.removed_terms
        return True
    # and its OAI-PMH forms, edited from the stored ones: what the full save makes anew
    assert row.oai.marc21 is not None and row.oai.sets is not None
    assert fast_write.oai == full_write.oai
    assert full_write.oai == oai_forms(full_write.xml, row.id, deleted=False)
    assert full_write.entry is not None
    old = olds[row.id]
    # the store's terms after each save are the same
    assert (old.terms - fast_write.removed_terms) | fast_write.added_terms == full_write.entry.terms
    assert fast_write.removed_terms <= old.terms
    sort_keys = (old.sort_title, old.sort_author, old.sort_date)
    entry = full_write.entry
    assert sort_keys == (entry.sort_title, entry.sort_author, entry.sort_date)
    return True


TAIL_SPLICED: list[int] = []  # the records `both_paths` found spliced on their tails too


def tail_path(
    catalog: Catalog,
    row: RecordRow,
    changes: list[tuple[int, str | None, bool]],
    code: str,
    sid_code: str,
    now: int,
    full_write: RecordWrite | None = None,
    full_result: PublishResult | None = None,
) -> bool:
    """The addition made on the tail of `row` kept split as the SQLite store keeps it: True
    when it was (and then the forms joined again are the full save's), False when the record
    is kept whole or the tail splice declined (the caller takes the whole row's way)."""
    cut = tails.cuts(row.id, row.version, row.xml, row.alma_xml, row.iso2709)
    if cut is None or row.deleted:
        return False
    kept = tails.split(row.xml, row.alma_xml, row.iso2709, cut)
    assert tails.join_xml(kept.xml, kept.tail, None) == row.xml
    assert tails.join_alma(kept.alma_xml, kept.tail, None, row.id, row.version) == row.alma_xml
    assert tails.join_iso(kept.iso, kept.iso_tail, None) == (row.iso2709 if kept.iso else None)
    tail_row = TailRow(row.id, row.version, False, kept.tail, kept.iso_tail, row.oai.sets)
    result = PublishResult()
    writes, _olds, declined = catalog._apply_low_changes(
        {}, changes, code, sid_code, PUBLISHER, now, result, tail_rows={row.id: tail_row}
    )
    if declined:
        assert declined == [row.id] and not writes and result == PublishResult()
        return False
    assert full_write is not None, "the tail splice changed what the full save leaves alone"
    assert result == full_result
    (write,) = writes
    assert isinstance(write, TailWrite)
    assert tails.join_xml(kept.xml, write.tail, write.stamp) == full_write.xml
    assert (
        tails.join_alma(kept.alma_xml, write.tail, write.stamp, row.id, write.version)
        == full_write.alma_xml
    )
    if kept.iso is not None and full_write.iso2709 is not None:
        assert tails.join_iso(kept.iso, write.iso_tail, write.stamp) == full_write.iso2709
    else:  # ISO 2709 cannot hold the result: none stored, as the full save stores none
        assert write.iso_tail is None or kept.iso is None
    if row.oai.sets is not None:
        assert write.oai_sets == full_write.oai.sets
        assert tails.join_marc21(row.oai.marc21, write.stamp) == full_write.oai.marc21
    assert (write.datestamp, write.version) == (full_write.datestamp, full_write.version)
    old = old_entry(row)
    assert full_write.entry is not None and old is not None
    assert (old.terms - write.removed_terms) | write.added_terms == full_write.entry.terms
    return True


def generated_rows(count: int, seed: int) -> list[RecordRow]:
    rows = []
    for record in generate_records(count, seed):
        record_id = records.melinda_id(record)
        assert record_id is not None
        rows.append(stored_row(record, record_id))
    return rows


def real_records() -> list[tuple[int, pymarc.Record]]:
    with shared_fixture("melinda-records.xml").open("rb") as stream:
        found = list(records.iter_marcxml(stream))
    return [(records.melinda_id(r) or 900 + n, r) for n, r in enumerate(found)]


@pytest.mark.parametrize(
    ("code", "sid_code"),
    [("HELKA", "helka"), ("OULA", "oulu"), ("NEWLIB", "newlib"), ("tamk ", "TAMK")],
)
def test_generated_records_spliced_as_the_full_save_saves(
    catalog: Catalog, code: str, sid_code: str
) -> None:
    rows = generated_rows(300, 11)
    TAIL_SPLICED.clear()
    spliced = sum(
        both_paths(catalog, row, code, sid_code, f"99{row.id:010d}506253") for row in rows
    )
    # nearly all are spliced, the live ones on their tails too (a deleted record is kept
    # whole: its splice edits the whole row)
    assert spliced >= 0.9 * len(rows)
    assert len(TAIL_SPLICED) >= 0.9 * len([row for row in rows if not row.deleted])


def test_an_addition_without_a_local_id_is_spliced(catalog: Catalog) -> None:
    rows = generated_rows(100, 12)
    assert sum(both_paths(catalog, row, "NEWLIB", "newlib", None) for row in rows) >= 90


@pytest.mark.parametrize(
    ("code", "sid_code"), [("FIKKA", "fikka"), ("MUSA", "musa"), ("NEWLIB", "helme")]
)
def test_codes_that_change_set_membership_take_the_full_path(
    catalog: Catalog, code: str, sid_code: str
) -> None:
    rows = generated_rows(60, 13)
    assert not any(both_paths(catalog, row, code, sid_code, "(X)1") for row in rows)


def test_real_records_as_loaded_and_after_a_save(catalog: Catalog) -> None:
    spliced = 0
    for record_id, record in real_records():
        loaded = stored_row(record, record_id)
        saved = saved_row(catalog, loaded)
        for row in (loaded, saved):
            for code, sid_code in (("HELKA", "helka"), ("NEWLIB", "newlib"), ("VASKI", "vaski")):
                spliced += both_paths(catalog, row, code, sid_code, "(ANDL100020)1077305")
    assert spliced >= 20  # the saved forms of the live records are spliced


def test_a_record_saved_the_same_second_gets_a_later_version(catalog: Catalog) -> None:
    (row,) = generated_rows(1, 14)
    ahead = stored_row(records.parse_marcxml(row.xml), row.id, version=NOW + 5)
    assert both_paths(catalog, ahead, "NEWLIB", "newlib", "1", now=NOW)


def _edited(row: RecordRow, edit: str) -> RecordRow:
    record = records.parse_marcxml(row.xml)
    if edit == "cats out of order":
        cats = [f for f in record.fields if f.tag == "CAT"]
        assert len(cats) >= 2
        first, last = record.fields.index(cats[0]), record.fields.index(cats[-1])
        record.fields[first], record.fields[last] = record.fields[last], record.fields[first]
    elif edit == "no 005":
        record.remove_fields("005")
    elif edit == "no 003":
        record.remove_fields("003")
    elif edit == "035 with an old id":
        record.get_fields("035")[0].add_subfield("z", "(FI-MELINDA)000000777")
    elif edit == "LOW before a CAT":
        low = pymarc.Field("LOW", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "XYZ")])
        record.fields.insert(record.fields.index(records.cat_fields(record)[-1]), low)
    elif edit == "deleted":
        records.mark_deleted(record)
    elif edit == "001 in another form":
        record.get_fields("001")[0].data = f"FCC{row.id:09d}"
    return stored_row(record, row.id)


@pytest.mark.parametrize(
    "edit",
    [
        "cats out of order",
        "no 005",
        "no 003",
        "035 with an old id",
        "LOW before a CAT",
        "001 in another form",
    ],
)
def test_records_not_in_saved_shape_take_the_full_path(catalog: Catalog, edit: str) -> None:
    rows = [r for r in generated_rows(40, 15) if not r.deleted]
    row = next(r for r in rows if r.xml.count(b'tag="CAT"') >= 2 and b'tag="STA"' not in r.xml)
    assert both_paths(catalog, row, "NEWLIB", "newlib", "1")  # as generated: spliced
    odd = _edited(row, edit)
    stamp = splice.SaveStamp.of("X", 30, datetime.fromtimestamp(NOW, UTC))
    assert _add_newlib(odd, stamp) is None
    TAIL_SPLICED.clear()
    assert not both_paths(catalog, odd, "NEWLIB", "newlib", "1")
    assert not TAIL_SPLICED
    if edit != "cats out of order":  # (the order of the CATs is the tail splice's to check)
        assert tails.cuts(odd.id, odd.version, odd.xml, odd.alma_xml, odd.iso2709) is None


def test_a_stale_view_is_not_spliced(catalog: Catalog) -> None:
    (row,) = generated_rows(1, 16)
    stale = RecordRow(row.id, 1, row.datestamp, row.version + 1, False, row.xml, row.alma_xml)
    stamp = splice.SaveStamp.of("X", 30, datetime.fromtimestamp(NOW, UTC))
    assert _add_newlib(stale, stamp) is None


def test_a_local_id_xml_cannot_carry_fails_as_the_full_save_fails(catalog: Catalog) -> None:
    (row,) = generated_rows(1, 17)
    for splice_additions in (True, False):
        with pytest.raises(MalformedRecordError):
            catalog._apply_low_changes(
                {row.id: row}, [(row.id, "bad\x01id", True)], "NEWLIB", "newlib", PUBLISHER,
                NOW, PublishResult(), splice_additions=splice_additions,
            )  # fmt: skip


_POOL: list[RecordRow] = []


def _pool(catalog: Catalog) -> list[RecordRow]:
    """Generated rows and the real records, loaded and saved (built once)."""
    if not _POOL:
        _POOL.extend(generated_rows(40, 18))
        for record_id, record in real_records():
            loaded = stored_row(record, record_id)
            _POOL.extend([loaded, saved_row(catalog, loaded)])
    return _POOL


_CODE_CHARS = st.sampled_from([*"ABKLOUaku", "&", "<", ">", '"', "'", " ", "ä", "Å", "-", "1"])
_LOCAL_CHARS = st.sampled_from([*"0123456789()ANDL", "&", "<", ">", '"', " ", "\t", "\n", "ö"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(min_value=0, max_value=10_000),
    code=st.one_of(
        st.sampled_from(["HELKA", "FIKKA", "MUSA", "OULA", "TESTLIB"]),
        st.text(_CODE_CHARS, min_size=1, max_size=8),
    ),
    sid_code=st.one_of(
        st.sampled_from(["helka", "helme", "oulu", "testlib"]),
        st.text(_CODE_CHARS, min_size=1, max_size=8),
    ),
    local_id=st.one_of(
        st.none(),
        st.sampled_from(["(ANDL100020)1077305", "99123456789"]),
        st.text(_LOCAL_CHARS, max_size=14),
    ),
    seconds=st.integers(min_value=-10, max_value=400_000_000),
)
def test_any_code_and_local_id_give_the_full_saves_result(
    catalog: Catalog, which: int, code: str, sid_code: str, local_id: str | None, seconds: int
) -> None:
    code = code.upper()  # as `_change_lows` passes it
    if not code.strip():
        return  # the full path refuses an empty LOW code before any save
    pool = _pool(catalog)
    both_paths(catalog, pool[which % len(pool)], code, sid_code, local_id, now=NOW + seconds)


def _loaded_catalog(path: Path, batch: list[pymarc.Record], at: int) -> Catalog:
    async def build() -> Catalog:
        catalog = await Catalog.open(str(path))
        catalog._last_datestamp = at  # both stores save "now" at the same second
        await catalog.load(batch)
        await catalog.add_library("HELKA", sid_code="helka")
        return catalog

    return asyncio.run(build())


def _table(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def _records(path: Path) -> list[tuple[object, ...]]:
    """Every record row as the store gives it (split rows joined), in id order."""

    async def read() -> list[tuple[object, ...]]:
        store = await SqliteStore.open(str(path))
        try:
            spec = next(t for t in copying.TABLES if t.name == "records")
            return await store.copy_out(spec, None, 10**6)
        finally:
            await store.close()

    return asyncio.run(read())


def _whole_copy(path: Path, batch: list[pymarc.Record], at: int) -> Catalog:
    """A loaded catalog copied into a new store, which keeps every record whole (as rows
    kept before records were split)."""
    source = _loaded_catalog(path.with_suffix(".source"), batch, at)

    async def copy() -> Catalog:
        target = await Catalog.open(str(path))
        await copying.copy_store(source.store, target.store)  # type: ignore[arg-type]
        await source.close()
        target._last_datestamp = at
        return target

    return asyncio.run(copy())


def test_the_store_holds_the_same_after_either_path(tmp_path: Path) -> None:
    """A publication through the store: every row (its stored ISO 2709 form too) and every
    index term the same, whether it was made on the records' tails, on whole rows (a store
    copied in keeps them whole) or by the full save; a LOW removal and rows stored without
    an ISO 2709 form or OAI-PMH forms among them."""
    batch = list(generate_records(300, 19))
    at = int(time.time()) + 10**6
    present = [(records.melinda_id(r) or 0, f"99{n:010d}506253") for n, r in enumerate(batch)]
    withdrawn = [rid for rid, _ in present[:20]]
    paths = {}
    results = {}
    for way in ("tails", "whole rows", "full save"):
        path = tmp_path / f"splice-{way.replace(' ', '-')}.sqlite"
        if way == "whole rows":
            catalog = _whole_copy(path, batch, at)
            assert _table(path, "SELECT count(*) FROM records WHERE tail IS NOT NULL") == [(0,)]
        else:
            catalog = _loaded_catalog(path, batch, at)
            assert _table(path, "SELECT count(*) FROM records WHERE tail IS NULL")[0][0] < 30
        with sqlite3.connect(path) as conn:  # as a store written before the forms were kept
            conn.execute("UPDATE record_forms SET iso = NULL WHERE id % 7 = 0")
            conn.execute("UPDATE records SET iso_tail = NULL WHERE id % 7 = 0")
            conn.execute("UPDATE records SET oai_sets = NULL WHERE id % 5 = 0")
            conn.execute("UPDATE record_forms SET oai_marc21 = NULL WHERE id % 5 = 0")
        flag = way != "full save"

        async def publish(catalog: Catalog = catalog, flag: bool = flag, way: str = way) -> None:
            results[way] = await catalog._change_lows(
                "HELKA", present[20:], withdrawn, user=PUBLISHER, sid_code="helka",
                splice_additions=flag,
            )  # fmt: skip
            await catalog._change_lows(
                "OULA", present[::3], [], user=User("OULA", "OULA", 30, frozenset({"OULA"})),
                sid_code="oulu", splice_additions=flag,
            )  # fmt: skip
            await catalog.close()

        asyncio.run(publish())
        paths[way] = path
    assert results["tails"].removed and results["tails"] == results["full save"]
    assert results["whole rows"] == results["full save"]
    # the tails were rewritten, their bodies kept: most rows have a stamp newer than the body's
    stamped = _table(paths["tails"], "SELECT count(*) FROM records WHERE stamp IS NOT NULL")
    assert stamped[0][0] > 150  # (the rows without stored forms take the whole way)
    query_terms = "SELECT ix, term, rec FROM terms ORDER BY ix, term, rec"
    rows = {way: _records(path) for way, path in paths.items()}
    assert rows["tails"] == rows["full save"]
    assert rows["whole rows"] == rows["full save"]
    full = paths["full save"]
    assert _table(paths["tails"], query_terms) == _table(full, query_terms)
    assert _table(paths["whole rows"], query_terms) == _table(full, query_terms)
    assert len(_table(full, "SELECT rec FROM terms WHERE ix = 17 AND term = 'oula'")) >= 90
    # every record the publication changed has its ISO 2709 form, the one its MARCXML gives,
    # and its OAI-PMH forms (those stored without them too), the ones its MARCXML gives
    changed = {*results["tails"].added, *results["tails"].removed}
    for way in ("tails", "whole rows"):
        stored = {int(str(r[0])): r for r in rows[way] if not r[4]}
        live = changed & stored.keys()  # (a LOW leaves deleted records too)
        assert len(live) > 250
        for rid in live:
            row = stored[rid]
            xml, iso = row[5], row[10]
            assert isinstance(xml, bytes) and iso == marcxml_to_iso2709(xml)
            forms = OaiForms(row[11], row[12])  # type: ignore[arg-type]
            assert forms == oai_forms(xml, rid, deleted=False)


@pytest.mark.parametrize("tag", ["CAT", "LOW", "SID", "STA", "FMT"])
def test_aleph_fields_as_control_fields_are_not_spliced(tag: str) -> None:
    """An Aleph field written as a control field is the full path's to handle."""
    row = next(r for r in generated_rows(10, 17) if not r.deleted and b'tag="STA"' not in r.xml)
    stamp = splice.SaveStamp.of("X", 30, datetime.fromtimestamp(NOW, UTC))

    def spliced(xml: bytes, alma_xml: bytes) -> splice.Spliced | None:
        return splice.add_low_sid(
            xml, alma_xml, record_id=row.id, code="NEWLIB", sid_code="newlib", local_id="1",
            stamp=stamp, old_version=row.version, new_version=NOW,
        )  # fmt: skip

    assert spliced(row.xml, row.alma_xml) is not None
    odd = b'<controlfield tag="%s">x</controlfield><datafield ' % tag.encode()
    xml, alma_xml = (view.replace(b"<datafield ", odd, 1) for view in (row.xml, row.alma_xml))
    # FMT is no Aleph field the save touches: it stays, and the splice goes on
    assert (spliced(xml, alma_xml) is None) is (tag != "FMT")


def _add_newlib(row: RecordRow, stamp: splice.SaveStamp, *, deleted: bool = False) -> object:
    """The splice of LOW NEWLIB (SID newlib, local id 1) into `row`'s stored views."""
    return splice.add_low_sid(
        row.xml,
        row.alma_xml,
        record_id=row.id,
        code="NEWLIB",
        sid_code="newlib",
        local_id="1",
        stamp=stamp,
        old_version=row.version,
        new_version=NOW,
        deleted=deleted,
    )


def test_test_records_are_spliced_as_the_full_save_saves(catalog: Catalog) -> None:
    """`STA $a TEST` marks a live record: a save treats it as any other field."""
    rows = [r for r in generated_rows(400, 20) if b'<subfield code="a">TEST</subfield>' in r.xml]
    assert rows, "the generator makes test records"
    for row in rows:
        assert b'tag="STA"' in row.xml and not row.deleted
        assert both_paths(catalog, row, "NEWLIB", "newlib", f"99{row.id:010d}506253")


@pytest.mark.parametrize("value", ["DELETED", " deleted "])
def test_a_deletion_mark_without_the_leader_deletes_the_record(
    catalog: Catalog, value: str
) -> None:
    """`STA $a DELETED` deletes a record whatever its leader says: spliced, it stays deleted
    as the full save leaves it; a splice that takes it for live declines."""
    row = next(r for r in generated_rows(40, 21) if not r.deleted and b'tag="STA"' not in r.xml)
    record = records.parse_marcxml(row.xml)
    sta = pymarc.Field(
        "STA", pymarc.Indicators(" ", " "), [pymarc.Subfield("b", "x"), pymarc.Subfield("a", value)]
    )
    record.fields.insert(record.fields.index(records.cat_fields(record)[0]), sta)
    odd = stored_row(record, row.id)
    assert str(record.leader)[5] != "d" and odd.deleted
    stamp = splice.SaveStamp.of("X", 30, datetime.fromtimestamp(NOW, UTC))
    assert _add_newlib(odd, stamp) is None
    assert _add_newlib(odd, stamp, deleted=True) is not None
    assert both_paths(catalog, odd, "NEWLIB", "newlib", "1")


def test_deleted_records_are_spliced_as_the_full_save_saves(catalog: Catalog) -> None:
    """A deleted record gets the LOW, SID and CAT a full save gives it and stays deleted,
    its deletion marks and the view's deleted-record 024 kept."""
    rows = [r for r in generated_rows(60, 22) if not r.deleted][:20]
    assert len(rows) == 20
    stamp = splice.SaveStamp.of("X", 30, datetime.fromtimestamp(NOW, UTC))
    for row in rows:
        record = records.parse_marcxml(row.xml)
        records.mark_deleted(record)
        deleted = stored_row(record, row.id)
        assert deleted.deleted and b"Deleted record" in deleted.alma_xml
        assert both_paths(catalog, deleted, "NEWLIB", "newlib", f"99{row.id:010d}506253")
        assert both_paths(catalog, deleted, "HELKA", "helka", None)
        spliced = _add_newlib(deleted, stamp, deleted=True)
        assert isinstance(spliced, splice.Spliced)
        saved = records.parse_marcxml(spliced.xml)
        assert records.is_deleted(saved) and "NEWLIB" in records.lows(saved)
        # what the store holds must agree with the marks: either way round, the full path
        assert _add_newlib(deleted, stamp) is None
        assert _add_newlib(row, stamp, deleted=True) is None
