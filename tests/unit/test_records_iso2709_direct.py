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
from gateway.records.iso2709 import marcxml_to_iso2709
from tests.conftest import shared_fixture


def _same(record: pymarc.Record) -> None:
    xml = records.record_to_marcxml(record)
    assert marcxml_to_iso2709(xml) == records.record_to_iso2709(records.parse_marcxml(xml))


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
