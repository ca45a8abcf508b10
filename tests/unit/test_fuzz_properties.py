"""Property-based fuzzing at CI-friendly counts: no exception escapes but the documented ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.records import xmlsafe
from tests import fuzz_targets

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CQL_PIECES = st.sampled_from(
    ["dc.title", "=", "==", "any", "all", "and", "or", "not", "prox", "(", ")", '"', "*", "?",
     "^", "\\", "/", "sortby", ">", "<", "kissa", "cql.allRecords", "1", " ", "\x00", "ä", "😀"]
)  # fmt: skip
CCL_PIECES = st.sampled_from(
    ["WTI", "WAU", "WRD", "=", "(", ")", "AND", "OR", "NOT", " ", "?", '"', "kissa", "\x01", "ö"]
)
OAI_NAMES = st.sampled_from(
    ["verb", "metadataPrefix", "identifier", "from", "until", "set", "resumptionToken", "x"]
)
OAI_VALUES = st.sampled_from(
    ["ListRecords", "GetRecord", "Identify", "ListSets", "marc21", "oai_dc", "2026-01-01",
     "2026-01-01T00:00:00Z", "low:HELKA", "äö.😀", "a.b", "\x00", "", "oai:x/1"]
) | st.text(max_size=20)  # fmt: skip


def joined(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(pieces | st.text(max_size=4), max_size=40).map("".join)


@FAST
@given(joined(CQL_PIECES))
def test_cql_parser_raises_only_query_errors(text: str) -> None:
    fuzz_targets.cql(text)


@FAST
@given(st.binary(max_size=300) | st.lists(st.sampled_from([b"\xa1\x80", b"\x30\x03", b"\x02\x01\x05", b"\x00\x00", b"\x84\xff\xff\xff\xff", b"\x1f\xff\xff\xff\xff\x7f"]), max_size=60).map(b"".join))  # fmt: skip
def test_ber_decoder_raises_only_ber_errors(data: bytes) -> None:
    fuzz_targets.ber(data)


@FAST
@given(joined(CCL_PIECES))
def test_xserver_find_raises_only_gateway_errors(text: str) -> None:
    fuzz_targets.xserver_find(text)


@FAST
@given(st.lists(st.tuples(OAI_NAMES | st.text(max_size=8), OAI_VALUES), max_size=6))
def test_oai_arguments_raise_only_oai_errors_and_answers_are_well_formed(
    pairs: list[tuple[str, str]],
) -> None:
    fuzz_targets.oai_arguments(pairs)


RECORD = (
    b'<record><leader>00000nam a2200000 i 4500</leader><controlfield tag="001">99123</controlfield>'
    b'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">(FI-MELINDA)000000001</subfield>'
    b"</datafield></record>"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from([b'<collection xmlns="http://www.loc.gov/MARC21/slim">', RECORD,
                         b"</collection>", b"<x/>", b"<!DOCTYPE c>", b"&x;", b"<!--", b"-->",
                         b'<?xml version="1.0"?>', b"\x00", b"<record>", b"</record>"])
        | st.binary(max_size=10),
        max_size=20,
    ).map(b"".join)
)  # fmt: skip
def test_publishing_file_reader_raises_only_its_rejection(data: bytes) -> None:
    fuzz_targets.publishing_file(data)


@FAST
@given(st.text())
def test_every_echoed_value_is_well_formed(text: str) -> None:
    element = etree.fromstring(f"<e a={xmlsafe.quoteattr(text)}>{xmlsafe.escape(text)}</e>")
    assert element.get("a") == xmlsafe.clean_text(text)
