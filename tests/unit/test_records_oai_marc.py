"""The X-server's oai_marc form: the real find-doc reply, wrappers, attribute order, bad input."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.errors import MalformedRecordError
from gateway.records import parse_oai_marc, record_to_oai_marc
from tests.conftest import shared_fixture


def fixture_bytes() -> bytes:
    with open(shared_fixture("xserver", "find-doc-oai_marc-authority.xml"), "rb") as handle:
        return handle.read()


def test_reads_the_real_find_doc_reply() -> None:
    record = parse_oai_marc(fixture_bytes())
    assert str(record.leader) == "     cz  a2200229n  4500"
    assert record["001"].data == "000108333"
    assert record["008"].data.startswith("011001|n|az|||aab|           |")
    assert record["100"].indicators == ("1", " ")
    assert record["100"]["a"] == "Aakkula, Immo"
    assert [f.tag for f in record.fields][-5:] == ["SID", "CAT", "CAT", "CAT", "035"]
    assert record.get_fields("372")[0].get_subfields("a") == [
        "sopimus- ja immateriaalioikeus",
        "kauppatieteet",
        "musiikki",
    ]


def test_writing_gives_back_the_x_server_form() -> None:
    original = fixture_bytes()
    written = record_to_oai_marc(parse_oai_marc(original))
    # The reply is exactly our element after its XML declaration.
    assert original.split(b"\n", 1)[1].strip() == written


@pytest.mark.parametrize(
    "wrap",
    [
        lambda x: b"<find-doc><record><metadata>" + x + b"</metadata></record></find-doc>",
        lambda x: b'<?xml version="1.0"?>\n<present><record>' + x + b"</record></present>",
    ],
)
def test_reads_inside_x_server_envelopes(wrap) -> None:  # type: ignore[no-untyped-def]
    inner = record_to_oai_marc(parse_oai_marc(fixture_bytes()))
    assert parse_oai_marc(wrap(inner))["001"].data == "000108333"


def test_accepts_attributes_in_any_order_and_parsed_elements() -> None:
    xml = (
        b'<oai_marc><fixfield id="LDR">^^^^^nam^a2200000^i^4500</fixfield>'
        b'<varfield i2="0" i1="1" id="245"><subfield label="a">T</subfield></varfield>'
        b"</oai_marc>"
    )
    record = parse_oai_marc(etree.fromstring(xml))
    assert record["245"].indicators == ("1", "0")
    assert str(record.leader) == "     nam a2200000 i 4500"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<find-doc><error>Document: 000000001 does not exist</error></find-doc>", "does not"),
        (b"<oai_marc><fixfield>x</fixfield></oai_marc>", "without an id"),
        (b"<oai_marc><varfield id='245'><subfield>x</subfield></varfield></oai_marc>", "245"),
        (b"<oai_marc><fixfield id='LDR'>short</fixfield></oai_marc>", "leader"),
        (b"<oai_marc><bogus/></oai_marc>", "bogus"),
        (b"<oai_marc>", "not well-formed"),
    ],
)
def test_malformed(xml: bytes, message: str) -> None:
    with pytest.raises(MalformedRecordError, match=message):
        parse_oai_marc(xml)
