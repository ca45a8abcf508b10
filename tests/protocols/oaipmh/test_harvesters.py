"""Real harvesters against the running gateway: pyoai (strict, POST) and Sickle (GET), 5,000 records.

The oracle for each harvest is computed from the generated records themselves (their LOWs
and `oai_sets_of`), not read back through the protocol, so a set the store indexes wrongly
fails here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymarc
import pytest
import pytest_asyncio
from oaipmh.client import Client
from oaipmh.error import NoRecordsMatchError
from oaipmh.metadata import MetadataRegistry
from sickle import Sickle

from gateway.emulator.app import running_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.oai_sets import oai_sets_of
from gateway.records.aleph import is_deleted, lows, mark_deleted
from tests.conftest import test_settings as gateway_settings
from tests.protocols.oaipmh.support import PREFIX
from tests.stores import STORE_KINDS, store_url_for

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

RECORDS = 5_000
FIRST_LOAD = 3_000
DELETED_EVERY = 97


@dataclass
class Store:
    """The running gateway and what it holds, worked out from the generated records."""

    gateway: Gateway
    url: str
    all_ids: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    first_load: set[str] = field(default_factory=set)
    second_load: set[str] = field(default_factory=set)
    live_sets: dict[str, set[str]] = field(default_factory=dict)
    first_stamp: datetime = datetime.min
    second_stamp: datetime = datetime.min

    def members(self, spec: str) -> set[str]:
        return self.live_sets.get(spec, set())


def oai_id(number: int) -> str:
    return f"{PREFIX}{number:09d}"


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=STORE_KINDS)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Store]:
    data = tmp_path_factory.mktemp("oai-harvest") / "data"
    async with (
        store_url_for(request.param, data) as url,
        running_gateway(gateway_settings(data, store_url=url)) as gateway,
    ):
        harvest = Store(gateway, gateway.http_url + "/oai-pmh/bib")
        batch: list[pymarc.Record] = []
        for number, record in enumerate(generate_records(RECORDS, 11), start=1):
            identifier = oai_id(number)
            harvest.all_ids.add(identifier)
            (harvest.first_load if number <= FIRST_LOAD else harvest.second_load).add(identifier)
            if number % DELETED_EVERY == 0:
                mark_deleted(record)
            if is_deleted(record):  # the generator deletes some records of its own too
                harvest.deleted.add(identifier)
            else:
                specs = oai_sets_of(record) | {f"low:{code}" for code in lows(record)}
                for spec in specs:
                    harvest.live_sets.setdefault(spec, set()).add(identifier)
            batch.append(record)
            if number == FIRST_LOAD:
                await gateway.catalog.load(batch)
                batch = []
                # the second load lands in a later second, so from/until can tell them apart
                await asyncio.sleep(1.1)
        await gateway.catalog.load(batch)
        first = await gateway.catalog.get(FIRST_LOAD)
        second = await gateway.catalog.get(FIRST_LOAD + 1)
        assert first.datestamp < second.datestamp
        harvest.first_stamp = datetime.fromtimestamp(first.datestamp, UTC).replace(tzinfo=None)
        harvest.second_stamp = datetime.fromtimestamp(second.datestamp, UTC).replace(tzinfo=None)
        yield harvest


def pyoai(url: str) -> Any:
    registry = MetadataRegistry()
    registry.registerReader("marc21", lambda element: element)
    registry.registerReader("oai_dc", lambda element: element)
    return Client(url, registry)


def pyoai_records(url: str, **arguments: Any) -> list[tuple[str, bool]]:
    client = pyoai(url)
    try:
        return [
            (header.identifier(), header.isDeleted())
            for header, _metadata, _about in client.listRecords(
                metadataPrefix="marc21", **arguments
            )
        ]
    except NoRecordsMatchError:
        return []


def pyoai_identifiers(url: str, **arguments: Any) -> list[str]:
    client = pyoai(url)
    return [
        header.identifier()
        for header in client.listIdentifiers(metadataPrefix="marc21", **arguments)
    ]


def sickle_records(url: str, **arguments: str) -> list[tuple[str, bool, str]]:
    harvested = []
    for record in Sickle(url).ListRecords(metadataPrefix="marc21", **arguments):
        harvested.append((record.header.identifier, record.deleted, record.raw))
    return harvested


def sickle_identifiers(url: str, **arguments: str) -> list[str]:
    return [
        header.identifier
        for header in Sickle(url).ListIdentifiers(metadataPrefix="marc21", **arguments)
    ]


async def test_pyoai_harvests_every_record_by_post(store: Store) -> None:
    harvested = await asyncio.to_thread(pyoai_records, store.url)
    ids = [identifier for identifier, _deleted in harvested]
    assert len(ids) == len(set(ids)) == RECORDS
    assert set(ids) == store.all_ids
    deleted = {identifier for identifier, is_deleted in harvested if is_deleted}
    assert deleted == store.deleted
    assert {oai_id(n) for n in range(DELETED_EVERY, RECORDS + 1, DELETED_EVERY)} <= deleted


async def test_sickle_harvests_every_record_by_get(store: Store) -> None:
    harvested = await asyncio.to_thread(sickle_records, store.url)
    ids = [identifier for identifier, _deleted, _raw in harvested]
    assert len(ids) == len(set(ids)) == RECORDS
    assert set(ids) == store.all_ids
    live = [raw for _identifier, deleted, raw in harvested if not deleted]
    assert len(live) == RECORDS - len(store.deleted)
    assert all('tag="LOW"' not in raw and 'code="9"' not in raw for raw in live)


@pytest.mark.parametrize("spec", ["fennica", "monographic", "low:HELKA"])
async def test_pyoai_harvests_a_set(store: Store, spec: str) -> None:
    expected = store.members(spec)
    assert expected, f"the generated store has no {spec} records"
    ids = await asyncio.to_thread(pyoai_identifiers, store.url, set=spec)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


@pytest.mark.parametrize("spec", ["serial", "low:FIKKA"])
async def test_sickle_harvests_a_set(store: Store, spec: str) -> None:
    expected = store.members(spec)
    assert expected, f"the generated store has no {spec} records"
    harvested = await asyncio.to_thread(sickle_records, store.url, set=spec)
    assert not any(deleted for _identifier, deleted, _raw in harvested)
    assert {identifier for identifier, _deleted, _raw in harvested} == expected


async def test_pyoai_from_and_until(store: Store) -> None:
    later = await asyncio.to_thread(pyoai_records, store.url, from_=store.second_stamp)
    assert {identifier for identifier, _deleted in later} == store.second_load
    earlier = await asyncio.to_thread(pyoai_records, store.url, until=store.first_stamp)
    assert {identifier for identifier, _deleted in earlier} == store.first_load
    nothing = await asyncio.to_thread(
        pyoai_records, store.url, from_=store.second_stamp.replace(year=store.second_stamp.year + 1)
    )
    assert nothing == []


async def test_sickle_from_until_and_day_granularity(store: Store) -> None:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    later = await asyncio.to_thread(
        sickle_identifiers, store.url, **{"from": store.second_stamp.strftime(stamp)}
    )
    assert set(later) == store.second_load
    earlier = await asyncio.to_thread(
        sickle_identifiers, store.url, until=store.first_stamp.strftime(stamp)
    )
    assert set(earlier) == store.first_load
    day = store.first_stamp.strftime("%Y-%m-%d")
    whole_day = await asyncio.to_thread(
        sickle_identifiers,
        store.url,
        **{"from": day, "until": store.second_stamp.strftime("%Y-%m-%d")},
    )
    assert set(whole_day) == store.all_ids


async def test_sickle_harvests_a_library_set_within_dates(store: Store) -> None:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    harvested = await asyncio.to_thread(
        sickle_identifiers,
        store.url,
        set="low:HELKA",
        **{"from": store.second_stamp.strftime(stamp)},
    )
    assert set(harvested) == store.members("low:HELKA") & store.second_load


# --- setSpec in every header: what the OAI registry's validator checks ---------------------
def expected_specs(store: Store, identifier: str) -> set[str]:
    return {spec for spec, members in store.live_sets.items() if identifier in members}


def sickle_header_specs(url: str, verb: str, **arguments: str) -> dict[str, tuple[bool, set[str]]]:
    """identifier -> (deleted, the header's setSpecs), from ListRecords or ListIdentifiers."""
    sickle = Sickle(url)
    if verb == "ListRecords":
        items = sickle.ListRecords(metadataPrefix="marc21", **arguments)
        headers = [record.header for record in items]
    else:
        headers = list(sickle.ListIdentifiers(metadataPrefix="marc21", **arguments))
    return {h.identifier: (h.deleted, set(h.setSpecs)) for h in headers}


@pytest.mark.parametrize("view", ["bib", "fin01alma"])
@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
async def test_every_list_header_names_the_records_sets(store: Store, verb: str, view: str) -> None:
    url = store.gateway.http_url + f"/oai-pmh/{view}"
    headers = await asyncio.to_thread(sickle_header_specs, url, verb)
    assert set(headers) == store.all_ids
    for identifier, (deleted, specs) in headers.items():
        assert specs == (set() if deleted else expected_specs(store, identifier)), identifier
    assert any("fennica" in specs for _deleted, specs in headers.values())
    assert any(
        any(s.startswith("low:") for s in specs) for _deleted, specs in headers.values()
    )


def validator_round(url: str, spec: str) -> list[tuple[str, list[str]]]:
    """The registry validator's check: harvest a set, then GetRecord an item of it (pyoai)."""
    harvested = Sickle(url).ListIdentifiers(metadataPrefix="marc21", set=spec)
    first = next(iter(harvested))
    client = pyoai(url)
    header, _metadata, _about = client.getRecord(
        identifier=first.identifier, metadataPrefix="marc21"
    )
    dc_header, _m, _a = client.getRecord(identifier=first.identifier, metadataPrefix="oai_dc")
    return [(header.identifier(), header.setSpec()), (dc_header.identifier(), dc_header.setSpec())]


@pytest.mark.parametrize("view", ["bib", "fin01alma"])
@pytest.mark.parametrize("spec", ["fennica", "low:HELKA"])
async def test_get_record_of_a_set_member_names_the_set(store: Store, spec: str, view: str) -> None:
    url = store.gateway.http_url + f"/oai-pmh/{view}"
    for identifier, specs in await asyncio.to_thread(validator_round, url, spec):
        assert spec in specs
        assert set(specs) == expected_specs(store, identifier)
