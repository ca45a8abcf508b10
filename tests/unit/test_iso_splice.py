"""The stored ISO 2709 form is spliced with the MARCXML on a LOW change: what a full save stores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pymarc
import pytest

from gateway import records
from gateway.catalog import Catalog, PublishResult, prepare_write
from gateway.emulator.generator import generate_records
from gateway.loading import iso2709_or_none
from gateway.model import User
from gateway.records import splice, tails
from gateway.records.iso2709 import marcxml_to_iso2709
from gateway.records.iso_splice import splice_iso2709
from gateway.store import RecordRow, RecordWrite, SplicedWrite, TailRow, TailWrite

STORED_AT = 1_700_000_000
NOW = 1_750_000_000
STAMP = splice.SaveStamp.of("HELKA-PUBLISH", 30, datetime.fromtimestamp(NOW, UTC))
PUBLISHER = User("HELKA-PUBLISH", "HELKA", 30, frozenset({"HELKA"}))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """A real catalog: its `_apply_low_changes` is the publishing path's."""
    path = tmp_path_factory.mktemp("iso-splice") / "melinda.sqlite"
    catalog = asyncio.run(Catalog.open(str(path)))
    try:
        yield catalog
    finally:
        asyncio.run(catalog.close())


def row_of(record: pymarc.Record, record_id: int) -> RecordRow:
    write = prepare_write(record, record_id, STORED_AT, STORED_AT)
    return RecordRow(
        record_id, 1, write.datestamp, write.version, write.deleted, write.xml, write.alma_xml,
        write.iso2709,
    )  # fmt: skip


def generated(count: int, seed: int) -> list[RecordRow]:
    rows = []
    for record in generate_records(count, seed):
        record_id = records.melinda_id(record)
        assert record_id is not None
        row = row_of(record, record_id)
        if not row.deleted:
            rows.append(row)
    return rows


def add(
    row: RecordRow, code: str = "NEWLIB", sid_code: str = "newlib", local_id: str | None = "1"
) -> splice.Spliced:
    spliced = splice.add_low_sid(
        row.xml, row.alma_xml, record_id=row.id, code=code, sid_code=sid_code,
        local_id=local_id, stamp=STAMP, old_version=row.version, new_version=NOW,
        iso2709=row.iso2709,
    )  # fmt: skip
    assert spliced is not None
    return spliced


def full_save(catalog: Catalog, row: RecordRow, code: str, sid_code: str, local: str) -> bytes:
    """The stored ISO 2709 form after the full parse-and-save path."""
    writes, _, _ = catalog._apply_low_changes(
        {row.id: row}, [(row.id, local, True)], code, sid_code, PUBLISHER, NOW, PublishResult(),
        splice_additions=False,
    )  # fmt: skip
    (write,) = writes
    assert isinstance(write, RecordWrite) and write.iso2709 is not None
    return write.iso2709


@pytest.mark.parametrize("local_id", ["99{id:010d}506253", "(ANDL100020)ö&<{id}>\t", None])
def test_generated_records_iso_spliced_not_converted(local_id: str | None) -> None:
    rows = generated(300, 31)
    assert len(rows) > 250
    for row in rows:
        assert row.iso2709 is not None
        spliced = add(row, local_id=None if local_id is None else local_id.format(id=row.id))
        # made by the splice itself (None would mean the caller converts the record)
        assert spliced.iso2709 is not None
        assert spliced.iso2709 == marcxml_to_iso2709(spliced.xml)


def test_multibyte_content_before_and_inside_the_edited_fields(catalog: Catalog) -> None:
    (row,) = generated(1, 32)[:1]
    record = records.parse_marcxml(row.xml)
    title = record.get_fields("245")[0]
    title.add_subfield("c", "Åke Öhman ja Ääninen 𝔐 — ∑ “lainaus” & <merkit>")
    multibyte = row_of(record, row.id)
    spliced = add(multibyte, code="ÅBO", sid_code="åbo", local_id="ä€𝔐1")
    assert spliced.iso2709 == full_save(catalog, multibyte, "ÅBO", "åbo", "ä€𝔐1")
    assert "ä€𝔐1".encode() in spliced.iso2709


def _padded(row: RecordRow, size: int) -> RecordRow:
    """`row` with 500 fields of multi-byte text making it about `size` bytes of ISO 2709."""
    record = records.parse_marcxml(row.xml)
    assert row.iso2709 is not None
    at = next(i for i, f in enumerate(record.fields) if f.tag >= "500")
    need = size - len(row.iso2709)
    per_field = need // 20
    for n in range(20):  # each field at most 9,999 bytes: ISO 2709's directory limit
        text = ("äöå" * per_field)[: (per_field - 20) // 2] + f" {n}"
        record.fields.insert(
            at, pymarc.Field("500", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", text)])
        )
    return row_of(record, row.id)


def test_long_records_with_five_digit_offsets(catalog: Catalog) -> None:
    row = next(r for r in generated(20, 33) if r.xml.count(b'tag="SID"') >= 1)
    long = _padded(row, 60_000)
    assert long.iso2709 is not None and 50_000 < len(long.iso2709) < 70_000
    spliced = add(long, local_id="99123")
    assert spliced.iso2709 == full_save(catalog, long, "NEWLIB", "newlib", "99123")


def test_a_record_pushed_past_iso_2709s_length_stores_none_as_a_full_save_does(
    catalog: Catalog,
) -> None:
    row = generated(1, 34)[0]
    record = records.parse_marcxml(row.xml)
    assert row.iso2709 is not None
    spare = 99_999 - len(row.iso2709)
    record.fields.insert(
        5,
        pymarc.Field("500", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "x" * 9000)]),
    )
    # fill to a few bytes under the limit with fields of at most 9,999 bytes
    near = row_of(record, row.id)
    assert near.iso2709 is not None
    while (spare := 99_999 - len(near.iso2709)) > 9_100:
        record.fields.insert(
            5, pymarc.Field("500", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "y" * 9000)])
        )
        near = row_of(record, row.id)
        assert near.iso2709 is not None
    filler = spare - 60  # leaves less room than the new SID, CAT and LOW need
    record.fields.insert(
        5, pymarc.Field("500", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "z" * filler)])
    )
    near = row_of(record, row.id)
    assert near.iso2709 is not None and len(near.iso2709) > 99_900
    spliced = add(near, local_id="99123")
    assert spliced.iso2709 is None and iso2709_or_none(spliced.xml) is None
    writes, _, _ = catalog._apply_low_changes(
        {near.id: near}, [(near.id, "99123", True)], "NEWLIB", "newlib", PUBLISHER, NOW,
        PublishResult(),
    )  # fmt: skip
    (write,) = writes
    assert isinstance(write, SplicedWrite) and write.iso2709 is None  # as the full save stores
    # and on the record kept split (the SQLite store): its tail without an ISO 2709 form
    cut = tails.cuts(near.id, near.version, near.xml, near.alma_xml, near.iso2709)
    assert cut is not None and cut.iso_fields > 0
    kept = tails.split(near.xml, near.alma_xml, near.iso2709, cut)
    tail_row = TailRow(near.id, near.version, False, kept.tail, kept.iso_tail, '["low:X"]')
    writes, _, declined = catalog._apply_low_changes(
        {}, [(near.id, "99123", True)], "NEWLIB", "newlib", PUBLISHER, NOW, PublishResult(),
        tail_rows={near.id: tail_row},
    )  # fmt: skip
    (tail_write,) = writes
    assert not declined and isinstance(tail_write, TailWrite) and tail_write.iso_tail is None
    assert tails.join_xml(kept.xml, tail_write.tail, tail_write.stamp) == write.xml


def test_the_tail_shrinks_when_a_librarys_sids_are_replaced(catalog: Catalog) -> None:
    row = generated(1, 35)[0]
    record = records.parse_marcxml(row.xml)
    at = next(i for i, f in enumerate(record.fields) if f.tag in ("CAT", "LOW", "SID"))
    for local in ("(HELKA)" + "1" * 300, "(HELKA)" + "2" * 200):
        record.fields.insert(
            at,
            pymarc.Field(
                "SID", pymarc.Indicators(" ", " "),
                [pymarc.Subfield("c", local), pymarc.Subfield("b", "helka")],
            ),
        )  # fmt: skip
    two_sids = row_of(record, row.id)
    assert two_sids.iso2709 is not None
    spliced = add(two_sids, code="HELKA", sid_code="helka", local_id="9")
    assert spliced.iso2709 is not None
    assert len(spliced.iso2709) < len(two_sids.iso2709)  # 500 bytes of SIDs became one short
    assert spliced.iso2709 == full_save(catalog, two_sids, "HELKA", "helka", "9")


def test_the_tail_grows_by_a_sid_a_cat_and_a_low(catalog: Catalog) -> None:
    for row in generated(40, 36):
        spliced = add(row, local_id="(NEWLIB)" + "7" * 500)
        assert spliced.iso2709 is not None and len(spliced.iso2709) > len(row.iso2709 or b"") + 500
        assert spliced.iso2709 == full_save(
            catalog, row, "NEWLIB", "newlib", "(NEWLIB)" + "7" * 500
        )


def test_a_stored_form_that_does_not_fit_the_record_is_not_spliced(catalog: Catalog) -> None:
    rows = generated(3, 37)
    row, other = rows[0], rows[1]
    assert row.iso2709 is not None and other.iso2709 is not None
    spliced = add(row)
    edits_ok = spliced.iso2709
    assert edits_ok is not None
    truncated = row.iso2709[:-40] + b"\x1d"
    wrong_length = b"%05d" % (len(row.iso2709) + 1) + row.iso2709[5:]
    # a stored form with one field fewer than the record
    first = row.xml.index(b"<datafield ")
    one_field = row.xml[first : row.xml.index(b"</datafield>", first) + len(b"</datafield>")]
    fewer = marcxml_to_iso2709(row.xml.replace(one_field, b"", 1))
    for stored in (None, truncated, wrong_length, other.iso2709, fewer, b"", b"garbage"):
        odd = RecordRow(row.id, 1, row.datestamp, row.version, False, row.xml, row.alma_xml, stored)
        assert add(odd).iso2709 is None
        # publishing then converts the record: never NULL for a live record
        writes, _, _ = catalog._apply_low_changes(
            {row.id: odd}, [(row.id, "1", True)], "NEWLIB", "newlib", PUBLISHER, NOW,
            PublishResult(),
        )  # fmt: skip
        (write,) = writes
        assert isinstance(write, SplicedWrite)
        assert write.iso2709 == edits_ok == marcxml_to_iso2709(write.xml)


def test_an_edit_must_replace_the_field_the_stored_form_has_there() -> None:
    row = generated(1, 38)[0]
    assert row.iso2709 is not None
    start = row.xml.index(b'<controlfield tag="005">')
    stop = row.xml.index(b"</controlfield>", start) + len(b"</controlfield>")
    new_005 = b'<controlfield tag="005">20300101000000.0</controlfield>'
    expected = marcxml_to_iso2709(row.xml[:start] + new_005 + row.xml[stop:])
    assert splice_iso2709(row.iso2709, row.xml, [(start, stop, new_005)]) == expected
    # the 005's entry in the stored form renamed: the splice refuses rather than guess
    entry = row.iso2709.index(b"005", 24)
    renamed = row.iso2709[:entry] + b"006" + row.iso2709[entry + 3 :]
    assert splice_iso2709(renamed, row.xml, [(start, stop, new_005)]) is None
    # two fields in one edit, or an edit inside a field
    assert splice_iso2709(row.iso2709, row.xml, [(start - 40, stop, new_005)]) is None
