"""Every codec round trip: the 12 real Melinda records and arbitrary generated ones.

Equality, per codec:
- MARCXML: the whole leader and every field (tag, indicators, subfields in order), exactly.
  (Every reader turns a `^` in the leader, Aleph's way of writing a blank that two of the
  real records carry, into a blank; after that first reading the bytes never change.)
- ISO 2709: every field exactly; of the leader, the positions that carry meaning — 05-09
  (status, type, level, control, coding scheme) and 17-19 (encoding level, cataloguing form,
  multipart level). 00-04 and 12-16 are the computed length and base address, 10-11 and
  20-23 are fixed, and 09 is always written `a` (the bytes are UTF-8).
- Aleph sequential and oai_marc: every field exactly, and the whole leader, with one
  convention of Aleph's applied: in the leader and control fields a blank is written `^`,
  so `^` and blank are the same there (several real records carry `^` in 008 or the leader).
"""

from __future__ import annotations

import io
import string

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymarc import Field, Indicators, Leader, Subfield

from gateway.records import (
    iter_alephseq,
    iter_iso2709,
    iter_marcxml,
    parse_alephseq,
    parse_iso2709,
    parse_marcxml,
    parse_oai_marc,
    record_to_alephseq,
    record_to_iso2709,
    record_to_marcxml,
    record_to_oai_marc,
)
from tests.conftest import shared_fixture

FieldKey = tuple[object, ...]


def field_list(record: pymarc.Record, *, caret_is_blank: bool = False) -> list[FieldKey]:
    out: list[FieldKey] = []
    for field in record.fields:
        if field.control_field:
            data = field.data or ""
            out.append((field.tag, data.replace("^", " ") if caret_is_blank else data))
        else:
            out.append(
                (
                    field.tag,
                    field.indicators[0],
                    field.indicators[1],
                    tuple((code, value) for code, value in field.subfields),
                )
            )
    return out


def meaningful_leader(record: pymarc.Record) -> str:
    leader = str(record.leader)
    return leader[5:9] + leader[17:20]


def fixture_records() -> list[pymarc.Record]:
    path = shared_fixture("melinda-records.xml")
    with open(path, "rb") as handle:
        return list(iter_marcxml(handle))


# --- the 12 real records ----------------------------------------------------------------------


def test_fixture_has_twelve_records_with_aleph_fields() -> None:
    records = fixture_records()
    assert len(records) == 12
    tags = {field.tag for record in records for field in record.fields}
    assert {"LOW", "SID", "CAT", "STA"} <= tags


def test_fixtures_marcxml_round_trip_is_exact() -> None:
    for record in fixture_records():
        xml = record_to_marcxml(record)
        back = parse_marcxml(xml)
        assert str(back.leader) == str(record.leader)
        assert field_list(back) == field_list(record)
        assert record_to_marcxml(back) == xml  # deterministic bytes


def test_fixtures_iso2709_round_trip() -> None:
    records = fixture_records()
    data = b"".join(record_to_iso2709(r) for r in records)
    back = list(iter_iso2709(io.BytesIO(data)))
    assert len(back) == len(records)
    for original, copy in zip(records, back, strict=True):
        assert field_list(copy) == field_list(original)
        assert meaningful_leader(copy) == meaningful_leader(original)
        assert str(copy.leader)[9] == "a"
        assert int(str(copy.leader)[:5]) == len(record_to_iso2709(original))


def test_fixtures_alephseq_round_trip() -> None:
    records = fixture_records()
    data = b"".join(record_to_alephseq(r) for r in records)
    back = list(iter_alephseq(io.BytesIO(data)))
    assert len(back) == len(records)
    for original, copy in zip(records, back, strict=True):
        assert field_list(copy) == field_list(original, caret_is_blank=True)
        assert str(copy.leader) == str(original.leader).replace("^", " ")


def test_fixtures_oai_marc_round_trip() -> None:
    for record in fixture_records():
        back = parse_oai_marc(record_to_oai_marc(record))
        assert field_list(back) == field_list(record, caret_is_blank=True)
        assert str(back.leader) == str(record.leader).replace("^", " ")


def test_fixtures_survive_every_codec_in_a_chain() -> None:
    """MARCXML → ISO 2709 → Aleph sequential → oai_marc → MARCXML gives the same fields."""
    for record in fixture_records():
        step = parse_iso2709(record_to_iso2709(record))
        step = parse_alephseq(record_to_alephseq(step))
        step = parse_oai_marc(record_to_oai_marc(step))
        step = parse_marcxml(record_to_marcxml(step))
        assert field_list(step) == field_list(record, caret_is_blank=True)
        assert meaningful_leader(step) == meaningful_leader(record).replace("^", " ")


# --- arbitrary records --------------------------------------------------------------------------

FINNISH = "äöåÄÖÅéü"
XML_SPECIAL = "&<>\"'"
BASE_ALPHABET = string.ascii_letters + string.digits + " .,:;/-()[]=+?!*#%" + FINNISH


def _value(alphabet: str, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


def _records(
    value_text: st.SearchStrategy[str], control_text: st.SearchStrategy[str], long_values: bool
) -> st.SearchStrategy[pymarc.Record]:
    control = st.builds(
        lambda tag, data: Field(tag=tag, data=data),
        st.sampled_from(["001", "003", "005", "007", "008"]),
        control_text,
    )
    tags = st.one_of(
        st.integers(min_value=10, max_value=999).map(lambda n: f"{n:03d}"),
        st.sampled_from(["LOW", "SID", "CAT", "STA"]),
    )
    indicator = st.sampled_from(list(" 0123456789"))
    code = st.sampled_from(list(string.ascii_lowercase + string.digits))
    values = value_text
    if long_values:
        # Now and then a 505/520-sized value, to exercise Aleph's split lines.
        # (Repeated pieces: drawing thousands of characters one by one is slow.)
        long_text = st.tuples(
            st.lists(st.text(alphabet=BASE_ALPHABET, min_size=1, max_size=60), min_size=1),
            st.integers(min_value=20, max_value=120),
        ).map(lambda drawn: " ".join(drawn[0] * drawn[1])[:3500])
        values = st.one_of(value_text, long_text)
    subfield = st.builds(Subfield, code, values)
    data = st.builds(
        lambda tag, i1, i2, subs: Field(tag=tag, indicators=Indicators(i1, i2), subfields=subs),
        tags,
        indicator,
        indicator,
        st.lists(subfield, min_size=1, max_size=6),
    )
    leader = st.tuples(
        st.sampled_from(list("acdnp")),
        st.sampled_from(list("acdefgijkmoprt")),
        st.sampled_from(list("abcdims")),
        st.sampled_from(list(" 12345789uz")),
    ).map(lambda t: f"00000{t[0]}{t[1]}{t[2]} a2200000{t[3]}i 4500")

    def build(leader: str, controls: list[Field], datas: list[Field]) -> pymarc.Record:
        record = pymarc.Record()
        record.leader = Leader(leader)
        record.fields = [*controls, *datas]
        return record

    return st.builds(
        build, leader, st.lists(control, max_size=4), st.lists(data, min_size=1, max_size=12)
    )


HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

XML_RECORDS = _records(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs",),
            blacklist_characters="".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32)]))
            + "\ufffe\uffff",
        ),
        max_size=40,
    ),
    _value(BASE_ALPHABET + XML_SPECIAL + "^$|\t"),
    long_values=False,
)


@HYPOTHESIS
@given(XML_RECORDS)
def test_marcxml_round_trip_any_record(record: pymarc.Record) -> None:
    xml = record_to_marcxml(record)
    back = parse_marcxml(xml)
    assert field_list(back) == field_list(record)
    assert str(back.leader) == str(record.leader)
    assert record_to_marcxml(back) == xml


@HYPOTHESIS
@given(XML_RECORDS)
def test_marcxml_fast_path_agrees_with_lxml(record: pymarc.Record) -> None:
    from gateway.records.marcxml import _root, record_from_element

    xml = record_to_marcxml(record)
    assert field_list(record_from_element(_root(xml))) == field_list(parse_marcxml(xml))


@HYPOTHESIS
@given(XML_RECORDS)
def test_iso2709_round_trip_any_record(record: pymarc.Record) -> None:
    back = parse_iso2709(record_to_iso2709(record))
    assert field_list(back) == field_list(record)
    assert meaningful_leader(back) == meaningful_leader(record)


@HYPOTHESIS
@given(XML_RECORDS)
def test_oai_marc_round_trip_any_record(record: pymarc.Record) -> None:
    # `^` means blank in fixed fields; the strategy's control values may contain it.
    back = parse_oai_marc(record_to_oai_marc(record))
    assert field_list(back) == field_list(record, caret_is_blank=True)
    assert str(back.leader) == str(record.leader)


# Aleph sequential cannot carry `$$` in a value, line breaks, or `^` (see alephseq's docstring).
ALEPHSEQ_RECORDS = _records(
    _value(BASE_ALPHABET + XML_SPECIAL + "|"),
    _value(BASE_ALPHABET + "|"),
    long_values=True,
)


@HYPOTHESIS
@given(ALEPHSEQ_RECORDS)
def test_alephseq_round_trip_any_record(record: pymarc.Record) -> None:
    data = record_to_alephseq(record)
    back = parse_alephseq(data)
    assert field_list(back) == field_list(record)
    assert str(back.leader) == str(record.leader)
    # Every line stays within Aleph's field limit (random text always has blanks to cut at).
    assert all(len(line[18:]) <= 2000 for line in data.split(b"\n"))


@pytest.mark.parametrize("count", [1, 3])
def test_iso2709_stream_of_records(count: int) -> None:
    record = fixture_records()[0]
    data = record_to_iso2709(record) * count
    assert len(list(iter_iso2709(io.BytesIO(data)))) == count
