"""The OAI-PMH forms a record is saved with: made from its MARCXML, none for a deleted record."""

from __future__ import annotations

from gateway import records
from gateway.emulator.generator import generate_records
from gateway.oai_sets import set_specs_tuple
from gateway.records.marc_forms import marc_form
from gateway.records.oai_forms import (
    NO_FORMS,
    OaiForms,
    after_low_added,
    decode_set_specs,
    encode_set_specs,
    oai_forms,
)


def test_a_live_record_gets_its_set_specs_and_marc21_form() -> None:
    for record in generate_records(40, 9):
        xml = records.record_to_marcxml(record)
        record_id = records.melinda_id(record) or 0
        forms = oai_forms(xml, record_id, deleted=False)
        assert forms.marc21 == marc_form(xml, record_id, "marc21")
        assert forms.sets is not None
        assert decode_set_specs(forms.sets) == set_specs_tuple(xml)
        assert oai_forms(xml, record_id, deleted=True) == NO_FORMS


def test_set_specs_come_back_as_they_went_in() -> None:
    specs = ("fennica", "low:ÅBO", 'low:A"B\\C', "low:X Y")
    assert decode_set_specs(encode_set_specs(specs)) == specs
    assert decode_set_specs(encode_set_specs(())) == ()


def test_a_record_the_filter_cannot_read_keeps_no_marc21_form() -> None:
    forms = oai_forms(b"<record><datafield", 5, deleted=False)
    assert forms.marc21 is None  # sent as before: made (and failing) when harvested
    assert forms.sets == "[]"


def test_after_a_splice_without_stored_forms_they_are_made_anew() -> None:
    record = next(generate_records(1, 2))
    xml = records.record_to_marcxml(record)
    record_id = records.melinda_id(record) or 0
    assert after_low_added(NO_FORMS, xml, record_id, "ZZ") == oai_forms(
        xml, record_id, deleted=False
    )
    partial = OaiForms(None, b"<record/>")
    assert after_low_added(partial, xml, record_id, "ZZ") == oai_forms(
        xml, record_id, deleted=False
    )
