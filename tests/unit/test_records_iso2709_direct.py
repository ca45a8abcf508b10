"""The direct MARCXML -> ISO 2709 path (Z39.50 Present) equals the codec's long way."""

from __future__ import annotations

import pymarc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import records
from gateway.emulator.generator import generate_records
from gateway.errors import MalformedRecordError
from gateway.loading import iso2709_or_none
from gateway.records.iso2709 import marcxml_to_iso2709, record_to_iso2709_quick
from tests.conftest import shared_fixture


def _same(record: pymarc.Record) -> None:
    xml = records.record_to_marcxml(record)
    assert marcxml_to_iso2709(xml) == records.record_to_iso2709(records.parse_marcxml(xml))
    _same_quick(record)


def _same_quick(record: pymarc.Record) -> None:
    """The quick path from the fields gives the stored bytes, or leaves them to the MARCXML."""
    quick = record_to_iso2709_quick(record)
    if quick is not None:
        assert quick == iso2709_or_none(records.record_to_marcxml(record))


def test_generated_records() -> None:
    for record in generate_records(300, 21):
        _same(record)


def test_real_records() -> None:
    with shared_fixture("melinda-records.xml").open("rb") as fh:
        for record in records.iter_marcxml(fh):
            _same(record)


text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('&<>"\t\nåäö'), max_size=30
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.tuples(st.sampled_from("abc09"), text), min_size=1, max_size=5),
    data=text,
    ind=st.sampled_from([" ", "0", "1", "ä", "&"]),
)
def test_any_values(values: list[tuple[str, str]], data: str, ind: str) -> None:
    record = records.new_record(
        "00000cam a2200000 i 4500",
        [
            pymarc.Field(tag="001", data="000000001"),
            pymarc.Field(tag="005", data=data),
            pymarc.Field(
                tag="245",
                indicators=pymarc.Indicators(ind, "0"),
                subfields=[pymarc.Subfield(c, v) for c, v in values],
            ),
            pymarc.Field(
                tag="LOW",
                indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield("a", "HELKA")],
            ),
        ],
    )
    _same(record)


def test_a_leader_iso_2709_cannot_hold_is_a_malformed_record_both_ways() -> None:
    # a non-ASCII leader would shift every byte position ISO 2709's header counts on
    record = pymarc.Record(leader="00000cäm a2200000 i 4500")
    record.add_field(pymarc.Field(tag="001", data="1"))
    xml = records.record_to_marcxml(record)
    with pytest.raises(MalformedRecordError, match="leader"):
        marcxml_to_iso2709(xml)
    with pytest.raises(MalformedRecordError, match="leader"):
        records.record_to_iso2709(record)
    assert iso2709_or_none(xml) is None


def test_the_quick_path_takes_ordinary_records() -> None:
    record = next(iter(generate_records(1, 3)))
    assert record_to_iso2709_quick(record) == iso2709_or_none(records.record_to_marcxml(record))


@settings(max_examples=300, deadline=None)
@given(
    tag=st.sampled_from(["245", "LOW", "24", "2450", "2&5", "2<5", "24ä", "CAT"]),
    ind=st.sampled_from(["", " ", "0", "ä", "&", '"', "<", "12", "\t"]),
    value=text,
    size=st.sampled_from([1, 2000, 5000, 30000]),
    leader=st.sampled_from(
        ["00000cam a2200000 i 4500", "00000cam^a2200000^i^4500", "00000cäm a2200000 i 4500"]
    ),
)
def test_the_quick_path_is_the_compact_paths_bytes_or_none(
    tag: str, ind: str, value: str, size: int, leader: str
) -> None:
    # whatever the quick path makes must be what the stored MARCXML converts to; where it
    # gives up (escaped or multi-byte tags and indicators, long fields, odd leaders), the
    # caller converts the MARCXML
    record = pymarc.Record(leader=leader)
    record.add_field(pymarc.Field(tag="001", data=value))
    record.add_field(
        pymarc.Field(
            tag=tag,
            indicators=pymarc.Indicators(ind, "0"),
            subfields=[pymarc.Subfield("a", value), pymarc.Subfield("b", "x" * size)],
        )
    )
    try:
        xml = records.record_to_marcxml(record)
    except MalformedRecordError:
        return
    quick = record_to_iso2709_quick(record)
    if quick is not None:
        assert quick == iso2709_or_none(xml)
    if (
        tag in ("245", "LOW", "CAT")
        and ind in ("", " ", "0")
        and size < 5000
        and leader.isascii()
        and len(leader) == 24
    ):
        assert quick is not None  # the ordinary case is never left to the long way
