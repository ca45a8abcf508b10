"""A joining library's records harvested over the wire from a pyoai OAI-PMH server: one Melinda
record per title, a repeated run changing nothing, changes and deletions applied exactly."""

from __future__ import annotations

import copy

import aiohttp
import pymarc

from gateway import records
from gateway.emulator.host import Gateway
from tests.harvesting.helpers import (
    LIBRARY,
    SID_CODE,
    library_source,
    lows_of,
    matchable,
    melinda_with_library,
    new_titles,
    sids_of,
    store_contents,
    wait_for_harvest,
)


async def _harvest(session: aiohttp.ClientSession, gateway: Gateway, url: str) -> dict:  # type: ignore[type-arg]
    async with session.post(
        f"{gateway.http_url}/_admin/harvests", json={"url": url, "library": LIBRARY}
    ) as resp:
        assert resp.status == 202, await resp.text()
        started = await resp.json()
    return await wait_for_harvest(session, gateway.http_url, started["id"])


async def test_duplicates_merge_a_second_run_changes_nothing_changes_and_deletions_apply(
    gateway: Gateway,
) -> None:
    melinda = list(matchable(16))
    duplicates, fresh = melinda[:10], new_titles(8)
    await melinda_with_library(gateway.catalog, copy.deepcopy(melinda))
    source, server, copies = library_source(duplicates, fresh, page_size=4)
    try:
        async with aiohttp.ClientSession() as session:
            report = await _harvest(session, gateway, server.url)
            assert report["state"] == "done", report
            counts = report["counts"]
            assert (counts["seen"], counts["merged"], counts["created"]) == (18, 10, 8)
            assert counts["rejected"] == 0 and counts["pages"] == 5
            stored = await store_contents(gateway.catalog)
            live = {rid: xml for rid, xml in stored.items() if b'<controlfield tag="001">' in xml}
            assert len(live) == 16 + 8  # one Melinda record per title
            holders: dict[str, list[int]] = {}
            for rid, xml in live.items():
                for local_id, code in sids_of(xml):
                    if code == SID_CODE:
                        holders.setdefault(local_id, []).append(rid)
                        assert LIBRARY in lows_of(xml)
                assert b'tag="852"' not in xml and b'tag="990"' not in xml
            assert sorted(holders) == [f"L{n:07d}" for n in range(1, 19)]
            assert all(len(ids) == 1 for ids in holders.values())
            for local_id, melinda_id in copies.items():
                assert holders[local_id] == [melinda_id]  # merged into Melinda's own record
            created = records.parse_marcxml(live[holders["L0000011"][0]])
            assert created["884"]["a"] == "Vaski to Melinda MARC transformation"
            assert created["884"]["k"] == f"{LIBRARY}:L0000011"
            assert [c["a"] for c in created.get_fields("CAT")] == [f"IMP_{LIBRARY}"]
            merged = records.parse_marcxml(live[copies["L0000001"]])
            assert merged.get_fields("CAT")[-1]["a"] == f"IMP_{LIBRARY}"
            assert merged["245"].value() == melinda[0]["245"].value()  # Melinda's stays

            # A second run of the same harvest: nothing to apply, not a byte changed.
            again = await _harvest(session, gateway, server.url)
            assert again["state"] == "done" and again["id"] != report["id"]
            assert again["from"] == report["last_datestamp"]
            c = again["counts"]
            assert (c["created"], c["merged"], c["updated"], c["low_removed"]) == (0, 0, 0, 0)
            assert await store_contents(gateway.catalog) == stored

            # Changes and deletions at the source: exactly those applied.
            changed_created = records.parse_marcxml(
                source.records["oai:library.example:L0000012"].xml
            )
            changed_created["245"]["a"] = "Aivan uusi nimeke /"
            source.put("L0000012", changed_created)
            changed_merged = records.parse_marcxml(
                source.records["oai:library.example:L0000002"].xml
            )
            changed_merged.add_ordered_field(
                pymarc.Field(
                    tag="650",
                    indicators=[" ", "7"],  # type: ignore[arg-type]
                    subfields=[
                        pymarc.Subfield("a", "harvesterit"),
                        pymarc.Subfield("2", "yso/fin"),
                    ],
                )
            )
            source.put("L0000002", changed_merged)
            source.delete("L0000013")  # one the harvest created
            source.delete("L0000003")  # one merged into Melinda's record
            third = await _harvest(session, gateway, server.url)
            c = third["counts"]
            assert (c["updated"], c["low_removed"], c["created"], c["merged"]) == (2, 2, 0, 0)
            after = await store_contents(gateway.catalog)
            touched = {rid for rid in after if after[rid] != stored.get(rid)}
            expected = {
                holders["L0000012"][0],
                copies["L0000002"],
                holders["L0000013"][0],
                copies["L0000003"],
            }
            assert touched == expected
            title = records.parse_marcxml(after[holders["L0000012"][0]])["245"]["a"]
            assert title == "Aivan uusi nimeke /"
            assert b"harvesterit" in after[copies["L0000002"]]
            for rid in (holders["L0000013"][0], copies["L0000003"]):
                assert LIBRARY not in lows_of(after[rid])
                assert all(code != SID_CODE for _c, code in sids_of(after[rid]))
            # The merged one stays for the libraries that hold it.
            assert lows_of(after[copies["L0000003"]]) == lows_of(stored[copies["L0000003"]])[:-1]
    finally:
        server.close()
