"""Z39.50 clients see a LOW publication at once, from the stored ISO 2709 form the splice kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.emulator.host import Gateway
from gateway.model import View
from gateway.records.iso2709 import marcxml_to_iso2709, parse_iso2709
from tests.protocols.z3950.conftest import yaz_client, z_address, zoomsh

pytestmark = pytest.mark.e2e

MMS_ID = "99123456780506253"


async def stored_iso2709(gateway: Gateway, record_id: int) -> bytes | None:
    (stored,) = await gateway.catalog.store.fetch([record_id], View.FIN01, iso2709=True)
    return stored.iso2709


async def saved_once(gateway: Gateway, record_id: int) -> None:
    """A first publication by another library: the full save leaves the record in the shape
    (005, CAT, Aleph order) that later publications splice."""
    await gateway.catalog.add_library("VASKI", lows=["VASKI"])
    await gateway.catalog.publish_lows("VASKI", [(record_id, "991")], [], full=False)


async def test_a_published_low_is_fetched_over_z3950_from_the_stored_form(
    catalogue: Gateway, tmp_path: Path
) -> None:
    await saved_once(catalogue, 900002)
    result = await catalogue.catalog.publish_lows("KIVI", [(900002, MMS_ID)], [], full=False)
    assert result.added == [900002]
    stored = await catalogue.catalog.get(900002)
    iso = await stored_iso2709(catalogue, 900002)
    # kept by the publication (Present sends it as it is), and what a full save would store
    assert iso is not None and iso == marcxml_to_iso2709(stored.xml)

    usmarc = tmp_path / "record.mrc"
    output = await yaz_client(
        catalogue, f"find @attr 1=12 900002\nset_marcdump {usmarc}\nformat usmarc\nshow 1"
    )
    assert "Record type: USmarc" in output
    assert usmarc.read_bytes() == iso
    fields = parse_iso2709(iso).fields
    lows = [f.get_subfields("a") for f in fields if f.tag == "LOW"]
    assert lows == [["FENNI"], ["VASKI"], ["KIVI"]]
    assert [f.get_subfields("c", "b") for f in fields if f.tag == "SID"][-1] == [MMS_ID, "kivi"]

    shown = await zoomsh(
        f"connect {z_address(catalogue)}",
        "find @attr 1=12 900002",
        "set preferredRecordSyntax usmarc",
        "show 0 1",
    )
    assert "LOW    $a KIVI" in shown and f"SID    $c {MMS_ID} $b kivi" in shown


async def test_a_withdrawn_low_is_gone_over_z3950(catalogue: Gateway, tmp_path: Path) -> None:
    await saved_once(catalogue, 900003)
    await catalogue.catalog.publish_lows("KIVI", [(900003, MMS_ID)], [], full=False)
    result = await catalogue.catalog.publish_lows("KIVI", [], [900003], full=False)
    assert result.removed == [900003]
    stored = await catalogue.catalog.get(900003)
    iso = await stored_iso2709(catalogue, 900003)
    assert iso is not None and iso == marcxml_to_iso2709(stored.xml)
    usmarc = tmp_path / "record.mrc"
    await yaz_client(
        catalogue, f"find @attr 1=12 900003\nset_marcdump {usmarc}\nformat usmarc\nshow 1"
    )
    assert usmarc.read_bytes() == iso
    fields = parse_iso2709(iso).fields
    assert [f.get_subfields("a") for f in fields if f.tag == "LOW"] == [["FENNI"], ["VASKI"]]
    assert [f.get_subfields("b") for f in fields if f.tag == "SID"] == [["vaski"]]
