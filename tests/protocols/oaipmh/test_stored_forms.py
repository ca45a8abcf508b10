"""Each record's OAI-PMH forms (set specs, marc21) are stored with it: every way of saving keeps
them those its MARCXML gives, and a harvest sends the same bytes from them as it makes for a
record stored without them (rows saved before the forms were kept)."""

from __future__ import annotations

import copy
import re
import sqlite3

import aiohttp
import asyncpg
import pymarc

from gateway import records
from gateway.catalog import SYSTEM_USER, Catalog
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.loading import prepare_marcxml
from gateway.model import View
from gateway.oai_sets import set_specs_tuple
from gateway.records import record_to_marcxml
from gateway.records.marc_forms import marc_form
from gateway.records.oai_forms import decode_set_specs, oai_forms
from tests.harvesting.helpers import (
    LIBRARY,
    library_source,
    matchable,
    melinda_with_library,
    new_titles,
    wait_for_harvest,
)
from tests.protocols.oaipmh.support import fetch, seed


async def assert_forms_right(catalog: Catalog) -> int:
    """Every record's stored forms are the ones its MARCXML gives (none for a deleted one);
    returns how many live records were checked."""
    plain = await catalog.changes(limit=10_000)
    ready = await catalog.changes(limit=10_000, ready="marc21")
    headers = await catalog.changes(limit=10_000, ready="sets")
    assert [r.id for r in plain] == [r.id for r in ready] == [r.id for r in headers]
    live = 0
    for record, stored, header in zip(plain, ready, headers, strict=True):
        if record.deleted:
            assert (stored.oai_sets, stored.marc21) == (None, None), record.id
            continue
        live += 1
        assert stored.marc21 == marc_form(record.xml, record.id, "marc21"), record.id
        assert stored.oai_sets is not None, record.id
        assert decode_set_specs(stored.oai_sets) == set_specs_tuple(record.xml), record.id
        # a read of stored forms leaves the MARCXML behind
        assert stored.xml == b"" and header.xml == b"" and header.marc21 is None
        assert header.oai_sets == stored.oai_sets
    return live


def _edited(xml: bytes, title: str) -> pymarc.Record:
    record = records.parse_marcxml(xml)
    field = record.get_fields("245")[0]
    field.subfields = [pymarc.Subfield("a", title)]
    return record


async def test_every_way_of_saving_keeps_the_stored_forms_right(gateway: Gateway) -> None:
    catalog = gateway.catalog
    await seed(catalog, 20, seed=3, start_id=1000, deleted=[1003])  # a load of pymarc records
    prepared = []
    for record in generate_records(10, 4, start_id=2000):  # a load of prepared MARCXML
        ready = prepare_marcxml(record_to_marcxml(record))
        assert ready is not None
        prepared.append(ready)
    await catalog.load(prepared)
    created = await catalog.create(next(generate_records(1, 5, start_id=3000)), user=SYSTEM_USER)
    assert await assert_forms_right(catalog) == 30

    # a full save changes the form; a deletion takes the forms away
    before = (await catalog.changes(limit=10_000, ready="marc21"))[0]
    (stored,) = await catalog.fetch([1000], View.FIN01)
    await catalog.update(1000, _edited(stored.xml, "Uusi nimeke"), user=SYSTEM_USER)
    (gone,) = await catalog.fetch([1001], View.FIN01)
    for code in records.lows(records.parse_marcxml(gone.xml)):  # a deletion waits for no LOW
        assert await catalog.remove_low(1001, code, user=SYSTEM_USER)
    await catalog.delete(1001, user=SYSTEM_USER)
    # LOW additions: spliced (a plain LOW, with a SID), and one that changes a named set
    assert await catalog.add_low(1002, "ZZTEST", user=SYSTEM_USER)
    assert await catalog.add_low(1004, "ZZTEST", user=SYSTEM_USER, local_id="L1004")
    assert await catalog.add_low(1005, "MUSA", user=SYSTEM_USER)
    assert await catalog.remove_low(1004, "ZZTEST", user=SYSTEM_USER)
    # a merge: the kept record is saved, the other deleted
    await catalog.save_merge(2000, 2001, lambda kept, other: (kept, other), user=SYSTEM_USER)
    assert await assert_forms_right(catalog) == 28

    after = {r.id: r for r in await catalog.changes(limit=10_000, ready="marc21")}
    assert before.id == 1000 and before.marc21 is not None
    assert b"Uusi nimeke" in (after[1000].marc21 or b"")
    assert b"Uusi nimeke" not in before.marc21
    assert "low:ZZTEST" in decode_set_specs(after[1002].oai_sets or "[]")
    assert "musa" in decode_set_specs(after[1005].oai_sets or "[]")
    assert "low:ZZTEST" not in decode_set_specs(after[1004].oai_sets or "[]")
    assert after[1001].deleted and after[2001].deleted
    assert created.id in after


async def test_a_library_harvest_keeps_the_stored_forms_right(gateway: Gateway) -> None:
    melinda = list(matchable(8))
    await melinda_with_library(gateway.catalog, copy.deepcopy(melinda))
    _source, server, _copies = library_source(melinda[:5], new_titles(4), page_size=4)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{gateway.http_url}/_admin/harvests", json={"url": server.url, "library": LIBRARY}
            ) as resp:
                assert resp.status == 202, await resp.text()
                started = await resp.json()
            report = await wait_for_harvest(session, gateway.http_url, started["id"])
        assert report["state"] == "done", report
        assert report["counts"]["merged"] == 5 and report["counts"]["created"] == 4
    finally:
        server.close()
    assert await assert_forms_right(gateway.catalog) == 8 + 4


# the token (in the element and in the request echo) carries its expiry time
_VARYING = re.compile(
    rb"<responseDate>[^<]*</responseDate>|<resumptionToken[^>]*>[^<]*</resumptionToken>"
    rb'| resumptionToken="[^"]*"'
)


async def harvest_bytes(gateway: Gateway, first: dict[str, str]) -> list[bytes]:
    """Every page of a list request, less what changes from run to run (time, token)."""
    pages = []
    params = first
    while True:
        status, body = await fetch(gateway, params)
        assert status == 200
        pages.append(_VARYING.sub(b"", body))
        token = re.search(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>", body)
        if token is None:
            return pages
        params = {"verb": first["verb"], "resumptionToken": token.group(1).decode()}


async def forget_forms(store_url: str) -> None:
    """The forms gone from every record, as in a store saved before they were kept."""
    sql = "UPDATE records SET oai_sets = NULL, oai_marc21 = NULL"
    if store_url.startswith("sqlite://"):
        with sqlite3.connect(store_url.removeprefix("sqlite://")) as conn:
            conn.execute("UPDATE records SET oai_sets = NULL")  # its forms have a table of their own
            conn.execute("UPDATE record_forms SET oai_marc21 = NULL")
        return
    conn = await asyncpg.connect(store_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_stored_forms_and_forms_made_when_sent_give_the_same_bytes(
    gateway: Gateway, store_url: str
) -> None:
    catalog = gateway.catalog
    await seed(catalog, 150, seed=7, deleted=range(5, 150, 17))
    assert await catalog.add_low(3, "ZZTEST", user=SYSTEM_USER)  # a spliced one among them
    lows = sorted({code for r in await catalog.fetch([1, 2, 3]) for code in records.lows(
        records.parse_marcxml(r.xml))})  # fmt: skip
    requests = [
        {"verb": "ListRecords", "metadataPrefix": "marc21"},
        {"verb": "ListIdentifiers", "metadataPrefix": "marc21"},
        {"verb": "ListRecords", "metadataPrefix": "marc21", "set": f"low:{lows[0]}"},
        {"verb": "ListRecords", "metadataPrefix": "marc21", "set": "monographic"},
        {"verb": "ListRecords", "metadataPrefix": "melinda_marc"},
    ]
    stored = [await harvest_bytes(gateway, request) for request in requests]
    assert len(stored[0]) == 2  # 100 records a page
    assert stored[0][0].count(b"<setSpec>") > 100
    assert (await catalog.changes(limit=1, ready="marc21"))[0].marc21 is not None

    await forget_forms(store_url)
    assert (await catalog.changes(limit=1, ready="marc21"))[0].marc21 is None
    made = [await harvest_bytes(gateway, request) for request in requests]
    assert made == stored
    # the forms a save would store are those the harvest made
    first = (await catalog.fetch([1]))[0]
    assert marc_form(first.xml, 1, "marc21") in made[0][0]
    saved = oai_forms(first.xml, 1, deleted=False).marc21
    assert saved is not None and saved in made[0][0]
