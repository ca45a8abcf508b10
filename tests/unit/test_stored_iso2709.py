"""The fin01 view's ISO 2709 form is stored with the record, so Z39.50 Present sends it as
stored: made by every way a record is saved, and spliced with the MARCXML when LOW
publishing splices the record."""

from __future__ import annotations

from gateway.catalog import SYSTEM_USER
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.loading import prepare_marcxml
from gateway.model import View
from gateway.records import parse_record, record_to_iso2709, record_to_marcxml
from protocols.z3950 import pdu as z
from protocols.z3950.ber import decode
from protocols.z3950.retrieval import retrieve


def reference(xml: bytes) -> bytes:
    """ISO 2709 the long way: parse the stored MARCXML, write it out."""
    return record_to_iso2709(parse_record(xml))


async def test_every_way_of_saving_stores_the_iso2709_form(gateway: Gateway) -> None:
    catalog = gateway.catalog
    through_pymarc = list(generate_records(20, 3, start_id=1000))
    await catalog.load(through_pymarc)
    prepared = []
    for record in generate_records(20, 4, start_id=2000):
        ready = prepare_marcxml(record_to_marcxml(record))
        assert ready is not None
        prepared.append(ready)
    await catalog.load(prepared)
    created = await catalog.create(next(generate_records(1, 5, start_id=3000)), user=SYSTEM_USER)
    ids = [*range(1000, 1020), *range(2000, 2020), created.id]
    stored = await catalog.fetch(ids, View.FIN01, iso2709=True)
    assert len(stored) == len(ids)
    for record in stored:
        assert record.iso2709 is not None, record.id
        assert record.iso2709 == reference(record.xml), record.id
    # only when asked, and only for fin01
    assert all(r.iso2709 is None for r in await catalog.fetch(ids, View.FIN01))
    alma = await catalog.fetch(ids, View.FIN01ALMA, iso2709=True)
    assert all(r.iso2709 is None for r in alma)


async def test_a_spliced_record_is_presented_from_its_new_bytes(gateway: Gateway) -> None:
    catalog = gateway.catalog
    await catalog.load(list(generate_records(3, 6, start_id=500)))
    (before,) = await catalog.fetch([501], View.FIN01, iso2709=True)
    assert before.iso2709 is not None
    assert await catalog.add_low(501, "ZZTEST", user=SYSTEM_USER)
    (after,) = await catalog.fetch([501], View.FIN01, iso2709=True)
    # spliced with the MARCXML: the new form, the one a full save would store
    assert after.iso2709 is not None and after.iso2709 == reference(after.xml)
    found = await retrieve(
        catalog, [501], view=View.FIN01, database="fin01", start=1, count=1, element_set="F",
        syntax=z.USMARC_SYNTAX, preferred_message_size=1 << 20, exceptional_record_size=1 << 22,
    )  # fmt: skip
    (item,) = decode(found.records).children
    record = item.child(1)
    assert record is not None
    sent = record.only_child().only_child().children[-1].octets()
    assert sent == after.iso2709
    assert b"ZZTEST" in sent and b"ZZTEST" not in before.iso2709
