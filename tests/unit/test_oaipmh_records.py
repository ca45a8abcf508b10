"""A list's `<record>` pieces: the header's setSpec lines made from the stored set specs in one
pass give the bytes the specs give one by one, and the pieces join to the whole record."""

from __future__ import annotations

import json

import pytest

from gateway.records.oai_forms import encode_set_specs
from protocols.oaipmh.responses import (
    record_pieces,
    record_with_lines,
    set_spec_lines,
    stored_set_spec_lines,
)

SPECS = [
    (),
    ("monographic",),
    ("monographic", "low:HELKA", "low:KUOPI"),
    ("",),
    ("", ""),
    ("low:A&B", "low:C"),  # escaped in XML
    ("low:<X>",),
    ('low:"Q"', "low:R"),  # escaped in JSON
    ("low:A\\B",),
    ("low:ÅBO", "low:X"),  # not ASCII
    ("low:TAB\tX",),  # a control character JSON escapes
    ("low:A,B", 'low:","'),  # the JSON separator inside a spec
    ("low:DEL\x7f",),
]


@pytest.mark.parametrize("specs", SPECS)
def test_stored_set_spec_lines_equal_those_of_the_specs(specs: tuple[str, ...]) -> None:
    assert stored_set_spec_lines(encode_set_specs(specs)) == set_spec_lines(specs)


@pytest.mark.parametrize(
    "encoded", ['["a", "b"]', '[ "a","b" ]', '["a",\n"b"]', '["a" ,"b"]', '["\\u0041"]']
)
def test_stored_set_spec_lines_of_json_written_otherwise(encoded: str) -> None:
    """JSON spelt other than the compact form the store writes still gives the right lines."""
    assert stored_set_spec_lines(encoded) == set_spec_lines(tuple(json.loads(encoded)))


@pytest.mark.parametrize("metadata", [b"<record>m</record>", None])
def test_record_pieces_join_to_the_record(metadata: bytes | None) -> None:
    lines = set_spec_lines(("monographic", "low:HELKA"))
    identifier, datestamp = b"oai:melinda.kansalliskirjasto.fi/000000042", b"2026-12-02T12:00:00Z"
    whole = record_with_lines(identifier, datestamp, metadata, lines)
    assert b"".join(record_pieces(identifier, datestamp, metadata, lines)) == whole
    assert whole.startswith(b"\t\t<record>\n") and whole.endswith(b"</record>\n")
