"""The bench's corpus helpers: search terms drawn from records, raw ISO 2709 splitting, live copy."""

from __future__ import annotations

import io
from pathlib import Path

import pymarc
from pymarc import Field, Indicators, Subfield

from bench.corpus import (
    Query,
    iter_raw_iso2709,
    read_sample,
    sample_queries,
    terms_of,
    write_live,
)


def record(
    melinda_id: str, title: str, author: str, isbn: str, *, deleted: bool = False
) -> pymarc.Record:
    rec = pymarc.Record(force_utf8=True)
    rec.leader = pymarc.Leader("00000" + ("d" if deleted else "c") + "am a2200000 i 4500")
    rec.add_field(Field(tag="001", data=melinda_id))
    rec.add_field(
        Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", isbn)])
    )
    rec.add_field(
        Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", author)])
    )
    rec.add_field(
        Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)])
    )
    return rec


def test_terms_of_a_record() -> None:
    terms = terms_of(
        record("000000042", "Seitsemän veljestä : romaani.", "Kivi, Aleksis,", "978-951-1-12345-6")
    )
    assert terms["id"] == ["000000042"]
    assert terms["isbn"] == ["978-951-1-12345-6"]
    # "seitsemän" has an ä: Zebra and the gateway fold it differently, so it is not used.
    assert terms["title"] == ["romaani"]
    assert terms["author"] == ["kivi"]


def test_queries_speak_cql_and_bib1() -> None:
    query = Query("isbn", "978-951-1-12345-6")
    assert query.cql == 'bath.isbn="978-951-1-12345-6"'
    assert query.use == 7
    assert Query("id", "000000001").use == 12
    assert Query("author", "kivi").cql == 'dc.author="kivi"'


def test_sample_queries_skip_deleted_records_and_repeat_with_the_seed() -> None:
    records = [
        record(f"{n:09d}", f"Kirja number{n}", f"Author{n}, Anna", f"978-951-0-{n:05d}-1")
        for n in range(1, 30)
    ]
    records.append(record("000000099", "Poistettu", "Gone, Gustav", "978-0", deleted=True))
    first = sample_queries(records, seed=3, per_kind=10)
    assert first == sample_queries(records, seed=3, per_kind=10)
    assert len(first["id"]) == 10
    assert all(q.term != "000000099" for q in first["id"])
    assert all(q.term != "gone" for q in first["author"])
    assert sample_queries(records, seed=4, per_kind=10)["id"] != first["id"]


def write_file(path: Path, records: list[pymarc.Record]) -> None:
    with path.open("wb") as out:
        for rec in records:
            out.write(rec.as_marc())


def test_raw_split_and_live_copy(tmp_path: Path) -> None:
    records = [record(f"{n:09d}", f"Kirja {n}", "Kivi, Aleksis", "951-1") for n in range(1, 8)]
    records[2] = record("000000003", "Poistettu", "Kivi, Aleksis", "951-1", deleted=True)
    source = tmp_path / "in.mrc"
    write_file(source, records)
    raws = list(iter_raw_iso2709(source, chunk_size=100))  # records straddle chunk boundaries
    assert raws == [r.as_marc() for r in records]
    live = tmp_path / "live.mrc"
    assert write_live(source, live) == 6
    kept = [pymarc.Record(data=raw) for raw in iter_raw_iso2709(live)]
    assert [r["001"].data for r in kept] == [f"{n:09d}" for n in (1, 2, 4, 5, 6, 7)]
    assert [r["001"].data for r in read_sample(source, every=3)] == [
        "000000001",
        "000000004",
        "000000007",
    ]
    assert io.BytesIO(live.read_bytes()).read().count(b"\x1d") == 6
