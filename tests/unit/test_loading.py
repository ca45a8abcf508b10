"""The bulk load's fast path (records prepared from their bytes, without pymarc, in a child
process) gives exactly what the full path gives: the same bytes, terms, keys and store."""

from __future__ import annotations

import asyncio
import gc
import gzip
import sqlite3
from pathlib import Path

import pymarc
import pytest

from gateway import indexing, loading, records
from gateway.catalog import Catalog, finish_prepared, prepare_write
from gateway.emulator import cli
from gateway.emulator.generator import generate_records
from gateway.oai_sets import oai_sets_of
from gateway.records.marcxml import record_to_marcxml
from gateway.store import RecordWrite
from tests.conftest import shared_fixture
from tests.conftest import test_settings as settings_for

SF = pymarc.Subfield
IND = pymarc.Indicators
VERSION = 1_700_000_123


def fixture_records() -> list[pymarc.Record]:
    with shared_fixture("melinda-records.xml").open("rb") as fh:
        return list(records.iter_marcxml(fh))


def field(tag: str, ind: str, *pairs: tuple[str, str]) -> pymarc.Field:
    return pymarc.Field(tag=tag, indicators=IND(ind[0], ind[1]), subfields=[SF(*p) for p in pairs])


def edge_records() -> list[pymarc.Record]:
    """Escapes in every kind of field, the fin01alma rules, deletion, ids in 035 only."""
    control = [
        pymarc.Field(tag="001", data="000000321"),
        pymarc.Field(tag="003", data="FI-MELINDA"),
    ]
    odd = 'Tom & "Jerry" <3> \t tab\nline\r'
    return [
        records.new_record(
            "00000cam a2200000 i 4500",
            [
                *control,
                pymarc.Field(tag="008", data="201231s2020    fi ||||&<>|||||fin||"),
                field("019", "  ", ("a", "12345"), ("5", "HELKA")),
                field("100", "1 ", ("a", f"Virtanen, {odd}")),
                field("245", "10", ("a", odd), ("b", "Åbo & Ääni")),
                field("500", "  ", ("a", odd)),
                field("650", " 4", ("a", "kissat"), ("0", "(FIN11)000012345")),
                field(
                    "650",
                    " 7",
                    ("a", "koirat"),
                    ("2", "yso/fin"),
                    ("0", "http://www.yso.fi/onto/yso/p1"),
                ),
                field("651", " 7", ("a", "Turku?"), ("2", "yso/fin"), ("0", "http://x/p2")),
                field("920", "  ", ("a", "alma-local")),
                field("LOW", "  ", ("a", "FIKKA & <co>")),
                field("SID", "  ", ("c", "(ANDL100020)10773"), ("b", "helka")),
            ],
        ),
        records.new_record(  # deleted, no field tagged 024 or higher, id in 035 only
            "00000dam a2200000 i 4500",
            [
                field("035", "  ", ("a", "(FI-MELINDA)000000777")),
                field("STA", "  ", ("a", "DELETED")),
            ],
        ),
        records.new_record(
            "00000cam a2200000 i 4500",
            [
                *control[:1],
                field("LOW", "  ", ("a", "HELKA")),
                field("STA", "  ", ("a", "deleted")),
            ],
        ),
        records.new_record("00000nam a2200000 i 4500", [field("245", "00", ("a", "Nimetön"))]),
    ]


def corpus() -> list[pymarc.Record]:
    return [*generate_records(300, 11), *edge_records(), *fixture_records()]


def full_way(piece: bytes) -> RecordWrite:
    record = records.parse_marcxml(piece)
    rid = loading.load_id(record)
    assert rid is not None
    return prepare_write(record, rid, VERSION, VERSION)


def test_prepared_records_equal_the_full_way() -> None:
    count = 0
    for record in corpus():
        piece = record_to_marcxml(record)
        prepared = loading.prepare_marcxml(piece)
        if loading.load_id(record) is None:
            assert prepared is None  # it needs an id given: the full way
            continue
        assert prepared is not None
        count += 1
        fast, full = finish_prepared(prepared, VERSION, VERSION), full_way(piece)
        assert (fast.id, fast.deleted, fast.xml, fast.alma_xml) == (
            full.id,
            full.deleted,
            full.xml,
            full.alma_xml,
        )
        if full.entry is None:
            assert fast.entry is None
        else:
            assert fast.entry is not None
            assert fast.entry.terms == full.entry.terms
            assert (fast.entry.sort_title, fast.entry.sort_author, fast.entry.sort_date) == (
                full.entry.sort_title,
                full.entry.sort_author,
                full.entry.sort_date,
            )
    assert count > 300


def odd_records() -> list[pymarc.Record]:
    """Tags and indicators the ISO 2709 form of a prepared record must take as the long way
    does: letters, a multi-byte indicator, a tag ISO 2709 cannot hold, an over-long field."""
    head = [pymarc.Field(tag="001", data="000000654"), pymarc.Field(tag="005", data="x&y")]
    return [
        records.new_record("00000cam a2200000 i 4500", [*head, field(tag, ind, ("a", "v"))])
        for tag, ind in (("0a9", "  "), ("abc", "ä "), ("LOW", "&<"), ("ÄÄÄ", "  "), ("24", "  "))
    ] + [
        records.new_record("00000cam a2200000 i 4500", [*head, field("500", "  ", ("a", "ö" * n))])
        for n in (4990, 5000)  # the field's bytes just within ISO 2709's 9,999, and past it
    ]


@pytest.mark.parametrize("formed", [True, False])
def test_prepared_stored_forms_equal_the_full_way(formed: bool) -> None:
    count = 0
    for record in [*corpus(), *odd_records()]:
        piece = record_to_marcxml(record)
        prepared = loading.prepare_marcxml(piece, formed)
        if prepared is None:
            continue  # the full way (compared above)
        count += 1
        assert prepared.formed is formed
        fast, full = finish_prepared(prepared, VERSION, VERSION), full_way(piece)
        assert fast.iso2709 == full.iso2709 == loading.iso2709_or_none(piece)
        assert fast.oai == full.oai
    assert count > 300 + 5


def test_the_forms_share_follows_whichever_process_waits() -> None:
    share = loading.FormsShare()
    made = sum(share.take() for _ in range(100))
    assert made == 100  # all in the child until batches tell otherwise
    for _ in range(4):  # sends as quick as the pipe: the writer waited for this child
        share.sent(preparing=1.0, sending=0.01)
    assert share.share == 0.5
    assert sum(share.take() for _ in range(100)) == 50
    for _ in range(20):
        share.sent(preparing=1.0, sending=0.01)
    assert share.share == 0.0
    assert not any(share.take() for _ in range(100))
    share.sent(preparing=1.0, sending=0.5)  # the send waited on the writer: it is the busier
    assert share.share == loading.FormsShare.STEP


def test_a_second_pass_reads_the_remembered_fields_alike() -> None:
    pieces = [record_to_marcxml(r) for r in generate_records(50, 12)]
    first = [loading.prepare_marcxml(p) for p in pieces]
    assert first == [loading.prepare_marcxml(p) for p in pieces]


@pytest.mark.parametrize(
    "piece",
    [
        # the leader's ^ becomes a blank: the bytes would change
        b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam^a2200000 i 4500</leader>'
        b'<controlfield tag="001">000000001</controlfield></record>',
        # whitespace between fields, a raw > and an unknown entity in a value, a comment
        b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 i 4500</leader>'
        b'<controlfield tag="001">000000001</controlfield>\n</record>',
        b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 i 4500</leader>'
        b'<controlfield tag="001">000000001</controlfield><datafield tag="500" ind1=" " ind2=" ">'
        b'<subfield code="a">a > b</subfield></datafield></record>',
        b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 i 4500</leader>'
        b'<controlfield tag="001">000000001</controlfield><datafield tag="500" ind1=" " ind2=" ">'
        b'<subfield code="a">&apos;</subfield></datafield></record>',
        b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 i 4500</leader>'
        b'<controlfield tag="001">000000001</controlfield><!-- x --></record>',
        b"<record><leader>00000nam a2200000 i 4500</leader></record>",
    ],
)
def test_records_not_in_the_stores_form_go_the_full_way(piece: bytes) -> None:
    assert loading.prepare_marcxml(piece) is None


def test_index_entry_and_field_entries_agree() -> None:
    for record in corpus():
        whole = indexing.index_entry(record, record_id=42, sets=oai_sets_of)
        parts = indexing.entry_of_fields(
            [indexing.field_entry(f) for f in record.fields], record_id=42, sets=oai_sets_of(record)
        )
        assert parts == whole


def test_staleness_template_gives_the_fields_themselves() -> None:
    for rid, deleted in ((1, False), (123456789, True), (1234567890, False)):
        assert loading.staleness_spliced(b"<", rid, VERSION, deleted, b">") == (
            b"<" + loading.staleness_xml(rid, VERSION, deleted) + b">"
        )


def store_dump(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT r.id, r.seq, r.deleted, f.xml, f.alma_xml, r.sort_title, r.sort_author,"
            " r.sort_date, f.iso, r.tail, r.iso_tail"
            " FROM records r JOIN record_forms f ON f.id = r.id ORDER BY r.id"
        ).fetchall()
        terms = conn.execute("SELECT ix, term, rec FROM terms ORDER BY ix, term, rec").fetchall()
    return rows, terms


async def load_into(path: Path, batches: list[list[pymarc.Record]], prepared: bool) -> None:
    catalog = await Catalog.open(str(path))
    catalog._now = lambda: VERSION  # type: ignore[method-assign]  # same stamps both ways
    try:
        for batch in batches:
            items: list[pymarc.Record | loading.PreparedRecord] = []
            for record in batch:
                made = loading.prepare_marcxml(record_to_marcxml(record)) if prepared else None
                items.append(
                    made if made is not None else records.parse_marcxml(record_to_marcxml(record))
                )
            await catalog.load(items)
    finally:
        await catalog.close()


async def test_a_store_loaded_prepared_equals_one_loaded_the_full_way(tmp_path: Path) -> None:
    generated = list(generate_records(120, 13))
    changed = [records.parse_marcxml(record_to_marcxml(r)) for r in generated[:30]]
    for record in changed:
        record.add_field(field("650", " 7", ("a", "uusi aihe"), ("2", "yso/fin")))
    batches = [
        generated[:40],  # new records only: their terms go in as one sorted list
        generated[40:60] + edge_records(),
        generated[60:] + generated[:5],  # records loaded again: replaced, terms compared
        changed + changed[:3],  # the same id twice in one batch: the later one wins
    ]
    await load_into(tmp_path / "full.sqlite", batches, prepared=False)
    await load_into(tmp_path / "fast.sqlite", batches, prepared=True)
    full = await asyncio.to_thread(store_dump, tmp_path / "full.sqlite")
    fast = await asyncio.to_thread(store_dump, tmp_path / "fast.sqlite")
    assert len(full[0]) == 120 + 3  # the record without an id got one
    assert fast == full


def write_mixed_file(path: Path) -> None:
    with path.open("wb") as fh:
        records.write_marcxml_collection([*generate_records(30, 14), *edge_records()], fh)
        # a record in another form, then a broken one
        fh.seek(-len(records.COLLECTION_END), 2)
        fh.write(
            b'<record xmlns="http://www.loc.gov/MARC21/slim">\n'
            b"<leader>00000nam a2200000 i 4500</leader>"
            b'<controlfield tag="001">000000999</controlfield></record>'
            b"<record><leader>short</leader></record>" + records.COLLECTION_END
        )


async def test_cli_load_in_a_child_process_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.xml"
    await asyncio.to_thread(write_mixed_file, source)
    dumps = []
    for child in (True, False):
        settings = settings_for(tmp_path / f"d{child}")
        assert await cli.load(settings, [str(source)], child=child) == 1
        out = capsys.readouterr().out
        assert "loaded 35, replaced 0, rejected 1" in out
        assert "in.xml: record 36, line 3: leader is 5 characters long" in out
        rows, terms = await asyncio.to_thread(store_dump, settings.store_path)
        # alma_xml carries the time of the load: compared in the tests above
        dumps.append(([(r[:4], r[5:]) for r in rows], terms))
    rows, terms = dumps[0]
    assert [r[0][0] for r in rows][-2:] == [999, 1000]  # the id given follows the highest
    assert (indexing.IX_ISBN, "9789510000007", 321) not in terms  # 321 again: deleted
    assert len(terms) > 30 * 20
    assert dumps[0] == dumps[1]


async def test_cli_load_runs_the_cycle_collector_every_few_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each run of the collector walks the batch in flight (tens of ms for 2,000 records):
    a load of 36 batches runs it once per GC_BATCHES of them, and still loads everything."""
    source = tmp_path / "in.xml"
    await asyncio.to_thread(write_mixed_file, source)
    youngest: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 0:
            youngest.append(1)

    gc.callbacks.append(count)
    try:
        assert (
            await cli.load(settings_for(tmp_path / "d"), [str(source)], child=False, batch_size=1)
            == 1
        )
    finally:
        gc.callbacks.remove(count)
    # record 321 twice, now in batches of its own: the second replaces the first
    assert "loaded 34, replaced 1, rejected 1" in capsys.readouterr().out
    # 36 batches and the end: runs before batches 1, 9, 17, 25 and 33
    assert len(youngest) == -(-37 // cli.GC_BATCHES)


async def test_cli_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(cli.CliError, match=r"nope\.xml: no such file"):
        await cli.load(settings_for(tmp_path / "d"), [str(tmp_path / "nope.xml")], child=True)


def write_shared_file(path: Path, *, broken_markup: bool) -> None:
    """Generated records in the store's form with records of other forms among them: one
    in another layout, one malformed, a record without an id and (`broken_markup`) a
    `</record>` inside a comment, after which the reader goes on with lxml to the end."""
    with path.open("wb") as fh:
        records.write_marcxml_collection(
            [*generate_records(23, 15), *edge_records(), *generate_records(9, 16, start_id=500)],
            fh,
        )
        fh.seek(-len(records.COLLECTION_END), 2)
        fh.write(
            b'<record xmlns="http://www.loc.gov/MARC21/slim">\n'
            b"<leader>00000nam a2200000 i 4500</leader>"
            b'<controlfield tag="001">000000999</controlfield></record>'
            b"<record><leader>short</leader></record>"
        )
        if broken_markup:
            fh.write(
                b'<record xmlns="http://www.loc.gov/MARC21/slim"><!-- </record> -->'
                b"<leader>00000nam a2200000 i 4500</leader>"
                b'<controlfield tag="001">000000998</controlfield></record>'
            )
        for record in generate_records(7, 17, start_id=900):
            fh.write(record_to_marcxml(record) + b"\n")
        fh.write(records.COLLECTION_END)


@pytest.mark.parametrize("broken_markup", [False, True])
async def test_cli_load_shared_by_several_processes_equals_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken_markup: bool
) -> None:
    """Three processes preparing every third batch store exactly what one reader does, in
    the same order (ids given, change sequence), whatever the records between them."""
    source = tmp_path / "in.xml"
    await asyncio.to_thread(write_shared_file, source, broken_markup=broken_markup)
    assert await asyncio.to_thread(loading.shareable, [str(source)])
    dumps = []
    outputs = []
    for name, processes, child in (("thread", None, False), ("one", 1, True), ("three", 3, True)):
        settings = settings_for(tmp_path / name)
        await cli.load(settings, [str(source)], child=child, processes=processes, batch_size=4)
        outputs.append(capsys.readouterr().out.replace("\n", " "))
        rows, terms = await asyncio.to_thread(store_dump, settings.store_path)
        dumps.append(([(r[:4], r[5:]) for r in rows], terms))
    assert (
        "rejected 1" in outputs[0]
        and "in.xml: record 38, line 3: leader is 5 characters" in outputs[0]
    )
    assert outputs[0] == outputs[1] == outputs[2]
    # the edge records: 321 twice, 777, one given an id
    assert len(dumps[0][0]) == 23 + 3 + 9 + 1 + 7 + broken_markup
    assert dumps[0] == dumps[1] == dumps[2]


def test_only_files_in_the_stores_form_are_shared(tmp_path: Path) -> None:
    generated = list(generate_records(5, 18))
    compact = tmp_path / "a.xml"
    with compact.open("wb") as fh:
        records.write_marcxml_collection(generated, fh)
    zipped = tmp_path / "a.xml.gz"
    zipped.write_bytes(gzip.compress(compact.read_bytes()))
    iso = tmp_path / "a.mrc"
    iso.write_bytes(b"".join(records.record_to_iso2709(r) for r in generated))
    spaced = tmp_path / "b.xml"
    # a collection tag of another layout: lxml reads the file, every process would parse all
    spaced.write_bytes(
        compact.read_bytes().replace(
            records.COLLECTION_START, records.COLLECTION_START[:-1] + b" >"
        )
    )
    assert loading.shareable([str(compact), str(zipped)])
    assert not loading.shareable([str(compact), str(iso)])
    assert not loading.shareable([str(spaced)])
    assert not loading.shareable([str(tmp_path / "missing.xml")])


def test_a_record_passed_over_as_well_formed_is_well_formed() -> None:
    """What a preparing process passes over must parse wherever it is prepared: each piece
    judged well-formed parses with lxml, and the pieces that would not are never judged so."""
    pieces = [record_to_marcxml(r) for r in corpus()]
    mutations = [
        b"<!-- </record> -->",  # markup no record of ours holds
        b"]]>",  # not allowed in text
        b"\x01",  # a character XML cannot carry
        b"&#0;",
        b"&nbsp;",
        b"\xff",  # not UTF-8
        "\ufffe".encode(),
        b"&",
    ]
    judged = 0
    for piece in pieces:
        assert loading.well_formed(piece), piece
        records.xmlsafe.parse(piece)
        at = piece.index(b"</subfield>")
        for bad in mutations:
            broken = piece[:at] + bad + piece[at:]
            if loading.well_formed(broken):
                judged += 1
                records.xmlsafe.parse(broken)  # raises if the judgement was wrong
    assert judged == 0  # none of these mutations passes, though some would still parse
    assert loading.well_formed(pieces[0].replace(b"</subfield>", b"&amp;&lt;&#10;</subfield>", 1))


@pytest.mark.parametrize(("cores", "children"), [(1, 1), (2, 1), (4, 3), (64, 8)])
def test_a_load_prepares_in_a_child_per_core_besides_the_writing_one(
    monkeypatch: pytest.MonkeyPatch, cores: int, children: int
) -> None:
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert cli.load_processes() == children
