"""Reading record files of any form: detection, gzip, positions of bad records."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Subfield

from gateway.errors import MalformedRecordError
from gateway.records import (
    ALEPHSEQ,
    COLLECTION_END,
    COLLECTION_START,
    ISO2709,
    MARCXML,
    detect_format,
    new_record,
    read_records,
    record_to_alephseq,
    record_to_iso2709,
    record_to_marcxml,
)
from tests.conftest import shared_fixture


def sample(number: int):  # type: ignore[no-untyped-def]
    record = new_record("00000cam a2200000 i 4500")
    record.fields = [
        Field(tag="001", data=f"{number:09d}"),
        Field(tag="245", indicators=Indicators("0", "0"), subfields=[Subfield("a", f"T{number}")]),
    ]
    return record


def encoded(form: str, numbers: range) -> bytes:
    records = [sample(n) for n in numbers]
    if form == MARCXML:
        return COLLECTION_START + b"".join(map(record_to_marcxml, records)) + COLLECTION_END
    if form == ISO2709:
        return b"".join(map(record_to_iso2709, records))
    return b"".join(map(record_to_alephseq, records))


@pytest.mark.parametrize("form", [MARCXML, ISO2709, ALEPHSEQ])
@pytest.mark.parametrize("compress", [False, True])
def test_every_form_is_detected_and_read(form: str, compress: bool, tmp_path: Path) -> None:
    data = encoded(form, range(1, 6))
    assert detect_format(data[:4096]) == form
    if compress:
        data = gzip.compress(data)
    # By content from a stream, and from a path whose name says nothing of the form.
    path = tmp_path / "records.bin"
    path.write_bytes(data)
    for source in (io.BytesIO(data), path, str(path)):
        results = list(read_records(source))
        assert [r[2] for r in results] == [None] * 5
        assert [r[1]["245"]["a"] for r in results if r[1] is not None] == [
            f"T{n}" for n in range(1, 6)
        ]


def test_real_fixture_files_are_read(tmp_path: Path) -> None:
    xml = shared_fixture("melinda-records.xml")
    assert sum(1 for r in read_records(xml) if r[1] is not None) == 12
    seq = shared_fixture("aleph-sequential", "from3")
    gz = tmp_path / "from3.gz"
    gz.write_bytes(gzip.compress(seq.read_bytes()))
    [(_position, record, error)] = list(read_records(gz))
    assert error is None and record is not None and record["001"].data == "000591182"


def test_bad_iso_record_is_reported_with_byte_offset_and_rest_read() -> None:
    good = record_to_iso2709(sample(1))
    bad = bytearray(record_to_iso2709(sample(2)))
    bad[12:17] = b"00999"  # base address past the directory
    data = good + bytes(bad) + record_to_iso2709(sample(3))
    results = list(read_records(io.BytesIO(data)))
    assert [r[1] is not None for r in results] == [True, False, True]
    assert results[1][0] == f"record 2, byte {len(good)}"
    assert isinstance(results[1][2], MalformedRecordError)
    assert "base address" in str(results[1][2])


def test_invalid_utf8_in_iso_names_field_and_byte() -> None:
    data = record_to_iso2709(sample(1)).replace(b"T1", b"T\xff")
    [(_, record, error)] = list(read_records(io.BytesIO(data)))
    assert record is None and error is not None
    assert "field 245" in str(error) and "byte" in str(error)


def test_truncated_gzip_is_an_error_not_a_crash() -> None:
    data = gzip.compress(encoded(MARCXML, range(1, 2000)))[:-200]
    results = list(read_records(io.BytesIO(data)))
    assert results[-1][1] is None
    assert isinstance(results[-1][2], MalformedRecordError)
    assert any(r[1] is not None for r in results)


def test_unknown_content_is_one_error() -> None:
    [(position, record, error)] = list(read_records(io.BytesIO(b"hello world\n")))
    assert record is None and position == "byte 0"
    assert "not MARCXML" in str(error)


def test_empty_input_has_no_records() -> None:
    assert list(read_records(io.BytesIO(b""))) == []
