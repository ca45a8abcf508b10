"""Melinda's import transformation of a library's record, and the client's Retry-After reading."""

from __future__ import annotations

from datetime import date

import pymarc
import pytest

from gateway.harvesting import TransformError, retry_after_seconds, transform
from gateway.model import Library
from gateway.records import lows, sids

LIBRARY = Library(code="VASKI", name="Vaski", sid_code="vaski", lows=("VASKI",))


def _field(tag: str, *pairs: str, ind: str = "  ") -> pymarc.Field:
    subfields = [pymarc.Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return pymarc.Field(tag=tag, indicators=[ind[0], ind[1]], subfields=subfields)  # type: ignore[arg-type]


def _local_record() -> pymarc.Record:
    record = pymarc.Record(leader="00000cam a2200000 i 4500")
    record.fields = [
        pymarc.Field(tag="001", data="1504442"),
        pymarc.Field(tag="003", data="FI-VASKI"),
        pymarc.Field(tag="005", data="20240101120000.0"),
        pymarc.Field(tag="008", data="240101s2024    fi ||||      ||||||fin| "),
        _field("020", "a", "9789513112345"),
        _field("035", "a", "(FI-VASKI)1504442"),
        _field("035", "a", "(OCoLC)123"),
        _field("245", "a", "Kirja /", "c", "Tekijä.", ind="10"),
        _field("852", "b", "PÄÄ", "h", "84.2"),
        _field("866", "a", "1-5"),
        _field("900", "a", "paikallinen"),
        _field("990", "a", "hankinta"),
        _field(
            "884",
            "a",
            "Vaski to Melinda MARC transformation",
            "g",
            "20200101",
            "k",
            "VASKI:1504442",
        ),
        _field("LOW", "a", "OTHER"),
        _field("CAT", "a", "SOMEONE"),
        _field("SID", "c", "9", "b", "other"),
    ]
    return record


def test_the_local_id_becomes_a_sid_and_the_library_a_low() -> None:
    out = transform(_local_record(), LIBRARY, date(2026, 12, 2))
    assert sids(out) == [("1504442", "vaski")]
    assert lows(out) == ["VASKI"]
    assert out.get_fields("CAT") == []


def test_local_fields_are_dropped() -> None:
    out = transform(_local_record(), LIBRARY, date(2026, 12, 2))
    tags = [f.tag for f in out.fields]
    for tag in ("001", "003", "005", "852", "866", "900", "990"):
        assert tag not in tags
    # The 035 built from the local 003/001 is the local id again; other 035s stay.
    assert [f["a"] for f in out.get_fields("035")] == ["(OCoLC)123"]
    assert "020" in tags and "245" in tags and "008" in tags


def test_an_884_records_the_transformation_once() -> None:
    out = transform(_local_record(), LIBRARY, date(2026, 12, 2))
    (note,) = out.get_fields("884")
    assert [(s.code, s.value) for s in note.subfields] == [
        ("a", "Vaski to Melinda MARC transformation"),
        ("g", "20261202"),
        ("k", "VASKI:1504442"),
        ("q", "FI-NL"),
        ("5", "MELINDA"),
    ]
    assert [f.tag for f in out.fields][-2:] == ["SID", "LOW"]


def test_a_record_without_001_or_245_is_refused() -> None:
    no_id = _local_record()
    no_id.remove_fields("001")
    with pytest.raises(TransformError, match="no 001"):
        transform(no_id, LIBRARY, date(2026, 12, 2))
    no_title = _local_record()
    no_title.remove_fields("245")
    with pytest.raises(TransformError, match="no 245"):
        transform(no_title, LIBRARY, date(2026, 12, 2))


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 02 Dec 2026 02:00:10 GMT", now=1796176800.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
