"""The record forms the OAI-PMH provider sends: marc21, melinda_marc and oai_dc."""

from __future__ import annotations

import pymarc
import pytest
from lxml import etree
from pymarc import Field, Subfield

from gateway.emulator.generator import generate_records
from gateway.records import iter_marcxml, record_to_marcxml
from gateway.records.marc_forms import _marc_form_canonical, _marc_form_tree
from protocols.oaipmh.metadata import (
    DC_NS,
    MARC_NS,
    dublin_core,
    marc_form,
)
from tests.conftest import shared_fixture

M = {"m": MARC_NS}


def melinda_record() -> pymarc.Record:
    rec = pymarc.Record()
    rec.leader = pymarc.Leader("00000cam a2200000 i 4500")
    rec.add_field(Field(tag="001", data="000123456"))
    rec.add_field(Field(tag="003", data="FI-FOO"))
    rec.add_field(Field(tag="003", data="FI-BAR"))
    rec.add_field(Field(tag="008", data="200101s2020    fi |||||||||||||||||fin||"))
    for value in ("(FIN01)000123456", "(OCoLC)99", "(FI-MELINDA)000123456", "FCC000123456"):
        rec.add_field(Field(tag="035", indicators=[" ", " "], subfields=[Subfield("a", value)]))
    rec.add_field(
        Field(
            tag="100",
            indicators=["1", " "],
            subfields=[Subfield("a", "Järvinen, Mikko"), Subfield("0", "(FIN11)000012345")],
        )
    )
    rec.add_field(
        Field(
            tag="245",
            indicators=["1", "0"],
            subfields=[
                Subfield("a", 'Otsikko "lainaus" & <muuta> /'),
                Subfield("9", "FENNI<KEEP>"),
            ],
        )
    )
    rec.add_field(Field(tag="500", indicators=[" ", " "], subfields=[Subfield("9", "HELKA<DROP>")]))
    rec.add_field(
        Field(tag="773", indicators=["0", " "], subfields=[Subfield("w", "(FIN01)000000042")])
    )
    rec.add_field(
        Field(
            tag="SID", indicators=[" ", " "], subfields=[Subfield("c", "1"), Subfield("b", "helka")]
        )
    )
    rec.add_field(Field(tag="CAT", indicators=[" ", " "], subfields=[Subfield("a", "LOAD")]))
    rec.add_field(Field(tag="LOW", indicators=[" ", " "], subfields=[Subfield("a", "HELKA")]))
    return rec


def tags(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    return [str(el.get("tag")) for el in root if el.get("tag") is not None]


def values(xml: bytes, tag: str, code: str) -> list[str]:
    root = etree.fromstring(xml)
    return [
        sub.text or ""
        for sub in root.xpath(f"m:datafield[@tag='{tag}']/m:subfield[@code='{code}']", namespaces=M)
    ]


def test_marc21_drops_aleph_fields_and_nines() -> None:
    out = marc_form(record_to_marcxml(melinda_record()), 123456, "marc21")
    assert tags(out) == ["001", "003", "008", "035", "035", "100", "245", "773"]
    assert b'code="9"' not in out
    assert values(out, "245", "a") == ['Otsikko "lainaus" & <muuta> /']


def test_003_and_own_035s_fold_into_melinda_form() -> None:
    out = marc_form(record_to_marcxml(melinda_record()), 123456, "marc21")
    root = etree.fromstring(out)
    assert root.xpath("m:controlfield[@tag='003']/text()", namespaces=M) == ["FI-MELINDA"]
    # the first own 035 stood before (OCoLC): the folded one takes its place
    assert values(out, "035", "a") == ["(FI-MELINDA)000123456", "(OCoLC)99"]


def test_aleph_prefixes_become_isil() -> None:
    out = marc_form(record_to_marcxml(melinda_record()), 123456, "marc21")
    assert values(out, "100", "0") == ["(FI-ASTERI-N)000012345"]
    assert values(out, "773", "w") == ["(FI-MELINDA)000000042"]


def test_melinda_marc_keeps_aleph_fields_but_cat_only_when_privileged() -> None:
    xml = record_to_marcxml(melinda_record())
    public = marc_form(xml, 123456, "melinda_marc")
    assert [t for t in tags(public) if not t.isdigit()] == ["SID", "LOW"]
    assert values(public, "245", "9") == ["FENNI<KEEP>"]
    privileged = marc_form(xml, 123456, "melinda_marc", with_cat=True)
    assert [t for t in tags(privileged) if not t.isdigit()] == ["SID", "CAT", "LOW"]


def test_record_without_own_035_gets_one_in_tag_order() -> None:
    rec = melinda_record()
    rec.remove_fields("035")
    out = marc_form(record_to_marcxml(rec), 123456, "marc21")
    assert tags(out)[:5] == ["001", "003", "008", "035", "100"]


def canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def unusual_records() -> list[pymarc.Record]:
    """Field orders the store does not produce but must still be filtered right."""
    late_035 = melinda_record()
    fields = late_035.fields
    late_035.fields = [f for f in fields if f.tag != "035"] + [f for f in fields if f.tag == "035"]
    no_own_035 = melinda_record()
    no_own_035.fields = [f for f in no_own_035.fields if f.tag != "035" or "(OCoLC)" in f.value()]
    no_001 = melinda_record()
    no_001.remove_fields("001")
    aleph_first = melinda_record()
    aleph = [f for f in aleph_first.fields if not f.tag.isdigit()]
    aleph_first.fields = aleph + [f for f in aleph_first.fields if f.tag.isdigit()]
    bare = melinda_record()
    bare.fields = [
        f for f in bare.fields if f.tag not in ("001", "003", "035") or "(OCoLC)" in f.value()
    ]
    nine_in_035 = melinda_record()
    nine_in_035.add_ordered_field(
        Field(
            tag="035", indicators=[" ", " "], subfields=[Subfield("a", "(X)1"), Subfield("9", "Y")]
        )
    )
    return [late_035, no_own_035, no_001, aleph_first, bare, nine_in_035]


def sample_records() -> list[bytes]:
    with shared_fixture("melinda-records.xml").open("rb") as fixture:
        with_fixture = [record_to_marcxml(r) for r in iter_marcxml(fixture)]
    generated = [record_to_marcxml(r) for r in generate_records(200, 3)]
    unusual = [record_to_marcxml(r) for r in unusual_records()]
    return [record_to_marcxml(melinda_record()), *unusual, *with_fixture, *generated]


@pytest.mark.parametrize(("standard", "with_cat"), [(True, False), (False, False), (False, True)])
def test_fast_path_equals_tree_path(standard: bool, with_cat: bool) -> None:
    for number, xml in enumerate(sample_records(), start=1):
        fast = _marc_form_canonical(xml, number, standard, with_cat)
        assert fast is not None
        assert canonical(fast) == canonical(_marc_form_tree(xml, number, standard, with_cat))


def test_other_xml_forms_take_the_tree_path() -> None:
    xml = (
        b'<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:leader>00000cam a2200000 i 4500'
        b'</marc:leader><marc:controlfield tag="001">000000005</marc:controlfield>'
        b'<marc:datafield tag="LOW" ind1=" " ind2=" "><marc:subfield code="a">X</marc:subfield>'
        b"</marc:datafield></marc:record>"
    )
    out = marc_form(xml, 5, "marc21")
    assert tags(out) == ["001", "003", "035"]


def test_dublin_core() -> None:
    out = dublin_core(record_to_marcxml(melinda_record()), 123456)
    root = etree.fromstring(out)
    dc = {"dc": DC_NS}
    assert root.xpath("dc:title/text()", namespaces=dc) == ['Otsikko "lainaus" & <muuta>']
    assert root.xpath("dc:creator/text()", namespaces=dc) == ["Järvinen, Mikko"]
    assert root.xpath("dc:date/text()", namespaces=dc) == ["2020"]
    assert root.xpath("dc:language/text()", namespaces=dc) == ["fin"]
    assert "(FI-MELINDA)000123456" in root.xpath("dc:identifier/text()", namespaces=dc)
