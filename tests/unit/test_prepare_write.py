"""The store's write preparation serialises each field once; the bytes must equal the codecs'."""

from __future__ import annotations

from gateway import indexing, records, rules
from gateway.catalog import prepare_write
from gateway.catalog.saving import EntryShares
from gateway.emulator.generator import generate_records
from gateway.loading import iso2709_or_none
from gateway.oai_sets import oai_sets_of
from tests.conftest import shared_fixture


def _check(record_list: list) -> None:  # type: ignore[type-arg]
    for i, record in enumerate(record_list, start=1):
        write = prepare_write(record, i, 1_700_000_000, 1_700_000_005)
        assert write.xml == records.record_to_marcxml(record)
        view = rules.fin01alma_view(
            record, record_id=i, updated=1_700_000_005, deleted=write.deleted
        )
        assert write.alma_xml == records.record_to_marcxml(view)
        assert write.iso2709 == iso2709_or_none(write.xml)
        if not write.deleted:
            assert write.entry == indexing.index_entry(record, record_id=i, sets=oai_sets_of)
            # the shares of the fields one record has are reused for the next
            shares = EntryShares()
            assert shares.entry(record, i) == write.entry
            if i > 1:
                assert shares.entry(record_list[i - 2], i) == indexing.index_entry(
                    record_list[i - 2], record_id=i, sets=oai_sets_of
                )


def test_prepared_views_equal_the_codec_on_generated_records() -> None:
    _check(list(generate_records(300, 11)))


def test_prepared_views_equal_the_codec_on_real_records() -> None:
    with shared_fixture("melinda-records.xml").open("rb") as fh:
        _check(list(records.iter_marcxml(fh)))
