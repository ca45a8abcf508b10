"""A full cataloguing session over the wire, as Alma drives Melinda's X-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.emulator.host import Gateway
from tests.protocols.xserver.helpers import OaiMarc, XClient, book, saved_id

HELKA_PASSWORD = "helka-salasana"
FENNI_PASSWORD = "fenni-salasana"
SEED_ISBN = "978-951-1-12345-6"


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[XClient]:
    async with aiohttp.ClientSession() as http:
        yield XClient(http, gateway.http_url)


async def seed_fenni_record(gateway: Gateway, client: XClient) -> int:
    """A national-bibliography record held by FENNI, with a field FENNI protects ($5)."""
    await gateway.catalog.add_library("FENNI", password=FENNI_PASSWORD, lows=["FENNI"])
    await gateway.catalog.add_library(
        "HELKA", password=HELKA_PASSWORD, lows=["HELKA"], sid_code="helka"
    )
    seed = book(
        "Seitsemän veljestä",
        isbn=SEED_ISBN,
        lows=("FENNI",),
        extra=[("500", " ", " ", [("a", "Fennican huomautus."), ("5", "FENNI")])],
    )
    reply = await client.update("000000000", seed, user="FENNI", password=FENNI_PASSWORD)
    return int(saved_id(reply))


def staleness(record: OaiMarc) -> list[tuple[str, str]]:
    """The fin01alma staleness 024 (`8_ $a id $d stamp`) of a record copy."""
    found = [subs for tag, i1, _, subs in record.fields if tag == "024" and i1 == "8"]
    assert found, record.fields
    return found[0]


def with_staleness_stamp(record: OaiMarc, stamp: str) -> OaiMarc:
    fields = []
    for tag, i1, i2, subs in record.fields:
        if tag == "024" and i1 == "8" and any(code == "d" for code, _ in subs):
            subs = [(code, stamp if code == "d" else value) for code, value in subs]
        fields.append((tag, i1, i2, subs))
    return OaiMarc(record.leader, list(record.controls), fields)


def low_codes(record: OaiMarc) -> list[str]:
    return [value for subs in record.tags("LOW") for code, value in subs if code == "a"]


async def test_full_cataloguing_session(gateway: Gateway, client: XClient) -> None:
    seed_id = await seed_fenni_record(gateway, client)
    seed_doc = f"{seed_id:09d}"
    auth = {"user": "HELKA", "password": HELKA_PASSWORD}

    # user-auth: the staff record with the user's library and cataloguing level
    reply = await client.get(
        op="user-auth", library="usr00", staff_user="helka", staff_pass=HELKA_PASSWORD
    )
    assert reply.status == 200 and reply.name == "user-auth" and not reply.errors
    assert reply.text("reply") == "ok"
    assert reply.text("z66/z66-user-library") == "HELKA"
    assert reply.text("z66/z66-user-cat-level") == "30"
    assert len(reply.session_id) == 50

    # find by ISBN (hyphens as the cataloguer typed them) in the Alma view
    reply = await client.get(op="find", base="fin01alma", request=f"IBN={SEED_ISBN}")
    assert not reply.errors, reply.errors
    assert len(reply.text("set_number")) == 6
    assert reply.text("no_records") == "000000001"
    assert reply.text("no_entries") == "000000001"

    # present the set
    reply = await client.get(op="present", set_number=reply.text("set_number"), set_entry="1-15")
    assert not reply.errors, reply.errors
    ((element, presented),) = reply.records()
    assert element.findtext("record_header/set_entry") == "000000001"
    assert element.findtext("doc_number") == seed_doc
    assert presented.tags("020") == [[("a", SEED_ISBN)]]

    # find-doc in the Alma view: the copy carries the staleness 024
    copy = await client.find_doc(seed_doc, base="fin01alma")
    assert ("a", seed_doc) in staleness(copy)

    # create a record (doc number 000000000), then the very same record again: two records
    new = book("Nummisuutarit", isbn="978-951-1-99999-9", lows=("HELKA",))
    first = saved_id(await client.update("000000000", new, **auth))
    second = saved_id(await client.update("000000000", new, **auth))
    assert first != second
    assert int(first) > seed_id and int(second) > seed_id

    # an update built from an older copy (024 $d before the record's last update) is refused
    current = await client.find_doc(first, base="fin01alma")
    stale = with_staleness_stamp(current, "20000101000000").with_field(
        "500", " ", " ", [("a", "Vanhasta kopiosta.")]
    )
    reply = await client.update(first, stale, **auth)
    assert reply.errors and reply.errors[-1].startswith("[0200]"), reply.errors
    assert "500" not in {tag for tag, *_ in (await client.find_doc(first)).fields}

    # adding another library's LOW is refused (own authorization)
    reply = await client.update(
        first, current.with_field("LOW", " ", " ", [("a", "FENNI")]), **auth
    )
    assert reply.errors[-1].startswith("[0300]"), reply.errors
    assert low_codes(await client.find_doc(first)) == ["HELKA"]

    # HELKA edits FENNI's record, omitting the field FENNI protects with $5: it is kept
    copy = await client.find_doc(seed_doc, base="fin01alma")
    edited = copy.without("500").with_field("LOW", " ", " ", [("a", "HELKA")])
    saved_id(await client.update(seed_doc, edited, **auth))
    stored = await client.find_doc(seed_doc)
    assert [("a", "Fennican huomautus."), ("5", "FENNI")] in stored.tags("500")
    assert sorted(low_codes(stored)) == ["FENNI", "HELKA"]
    assert not [f for f in stored.fields if f[0] == "024"]  # the Alma staleness 024 is dropped
    cats = [dict(subs) for subs in stored.tags("CAT")]
    assert cats[-1]["a"] == "HELKA"

    # delete while a LOW remains is refused
    reply = await client.update(first, None, action="DELETE", **auth)
    assert reply.errors[-1].startswith("[0302]"), reply.errors

    # remove the own LOW (a native fin01 copy: Alma-form copies keep LOWs by omission), delete
    current = await client.find_doc(first, base="fin01")
    saved_id(await client.update(first, current.without("LOW"), **auth))
    assert low_codes(await client.find_doc(first)) == []
    reply = await client.update(first, None, action="DELETE", **auth)
    assert reply.errors == [f"[0019] Document: {first} was deleted successfully."]

    # find-doc still reads it, marked deleted
    gone = await client.find_doc(first)
    assert gone.leader[5] == "d"
    assert [("a", "DELETED")] in gone.tags("STA")
    # and it has left the search indexes
    reply = await client.get(op="find", request=f"SYS={first}")
    assert reply.errors == ["empty set"]
