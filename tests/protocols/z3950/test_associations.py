"""The Z39.50 listener over the wire with a bare origin: framing, sequencing, limits and failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from lxml import etree
from pymarc import Record

from gateway.catalog import Catalog
from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from gateway.records.aleph import mark_deleted
from protocols.z3950 import pdu as z
from protocols.z3950.ber import (
    CONTEXT,
    MAX_DEPTH,
    OBJECT_IDENTIFIER,
    UNIVERSAL,
    Element,
    ctx,
    ctx_boolean,
    ctx_integer,
    ctx_string,
    decode,
    sequence,
    tlv,
)
from tests.conftest import test_settings as settings_for
from tests.protocols.z3950.conftest import CATALOGUE, Origin, book_record, close_reason

SRU = "{http://docs.oasis-open.org/ns/search-ws/sruResponse}"


def indefinite(data: bytes) -> bytes:
    """The same PDU with every constructed element in indefinite-length form (as YAZ sends)."""
    return _indefinite(decode(data))


def _indefinite(element: Element) -> bytes:
    if not element.constructed:
        return tlv(element.cls, element.number, element.content)
    head = tlv(element.cls, element.number, b"", constructed=True)[:-1]
    return head + b"\x80" + b"".join(_indefinite(c) for c in element.children) + b"\x00\x00"


def kivi_search(result_set: str = "default", database: str = "fin01") -> bytes:
    return z.search_request(
        z.rpn_term_query(1003, "kivi"), result_set=result_set, database=database
    )


def result_count(response: Element) -> int:
    assert response.is_tag(CONTEXT, z.PduTag.SEARCH_RESPONSE)
    count = response.child(23)
    assert count is not None
    return count.integer()


def record_count(response: Element) -> int:
    returned = response.child(24)
    assert returned is not None
    return returned.integer()


def diagnostic_condition(response: Element) -> int:
    """The condition of a response's non-surrogate diagnostic."""
    diagnostic = response.child(130)
    assert diagnostic is not None, "no non-surrogate diagnostic"
    return diagnostic.children[1].integer()


def accepted(init_response: Element) -> bool:
    assert init_response.is_tag(CONTEXT, z.PduTag.INIT_RESPONSE)
    result = init_response.child(12)
    assert result is not None
    return result.boolean()


@pytest.fixture
async def origin(catalogue: Gateway) -> AsyncIterator[Origin]:
    connection = await Origin.connect(catalogue)
    try:
        yield connection
    finally:
        await connection.close()


async def test_indefinite_length_pdus_are_framed(catalogue: Gateway, origin: Origin) -> None:
    assert accepted(await origin.ask(indefinite(z.init_request())))
    response = await origin.ask(indefinite(kivi_search()))
    assert result_count(response) == 2
    present = await origin.ask(indefinite(z.present_request(1, 2)))
    assert record_count(present) == 2


async def test_pipelined_requests_are_answered_in_order(origin: Origin) -> None:
    await origin.send(z.init_request() + kivi_search() + z.present_request(1, 1))
    assert accepted(await origin.receive())
    assert result_count(await origin.receive()) == 2
    assert record_count(await origin.receive()) == 1


async def test_records_piggybacked_on_the_search_response(origin: Origin) -> None:
    await origin.init()
    query = z.rpn_term_query(1003, "kivi")
    response = await origin.ask(z.search_request(query, piggyback=5))
    assert result_count(response) == 2 and record_count(response) == 2
    assert b"000900001" in _record_data(response, 0)
    refused = await origin.ask(z.search_request(query, piggyback=5, syntax=(1, 2, 3)))
    assert result_count(refused) == 2 and record_count(refused) == 0
    assert diagnostic_condition(refused) == 239
    status = refused.child(27)
    assert status is not None and status.integer() == z.PresentStatus.FAILURE


class StoreReads:
    """Counts the store's record reads of a running gateway (the real ones still run)."""

    def __init__(self, gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        store = gateway.catalog.store
        for name in ("search", "search_page", "fetch"):
            real = getattr(store, name)
            monkeypatch.setattr(store, name, self._counted(name, real))

    def _counted(self, name: str, real: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await real(*args, **kwargs)

        return counted


def medium_set_search(query: bytes, *, small: int, large: int, medium: int) -> bytes:
    return ctx(
        z.PduTag.SEARCH_REQUEST,
        ctx_integer(13, small),
        ctx_integer(14, large),
        ctx_integer(15, medium),
        ctx_boolean(16, True),
        ctx_string(17, "default"),
        ctx(18, ctx_string(105, "fin01")),
        ctx(100, ctx_string(0, "F")),
        ctx(101, ctx_string(0, "F")),
        ctx(21, query),
    )


async def test_a_search_and_its_piggybacked_records_are_one_read(
    catalogue: Gateway, origin: Origin, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    reads = StoreReads(catalogue, monkeypatch)
    await origin.init()
    query = z.rpn_term_query(1003, "kivi")
    small = await origin.ask(z.search_request(query, piggyback=5))
    assert record_count(small) == 2 and b"000900001" in _record_data(small, 0)
    assert reads.calls == ["search_page"]
    # a medium set: more hits than the small set's bound, fewer than the large one's
    medium = await origin.ask(medium_set_search(query, small=1, large=10, medium=5))
    assert result_count(medium) == 2 and record_count(medium) == 2
    assert reads.calls == ["search_page", "search_page"]
    # no piggyback asked for: a small set's records come with the search, and the Present
    # takes them where the store can tell without a read that nothing changed since (SQLite)
    await origin.ask(kivi_search())
    present = await origin.ask(z.present_request(1, 2))
    assert record_count(present) == 2 and b"000900001" in _record_data(present, 0)
    again = await origin.ask(z.present_request(2, 1, syntax=z.XML_SYNTAX))
    assert record_count(again) == 1 and b"000900002" in _record_data(again, 0)
    reread = [] if store_kind == "sqlite" else ["fetch", "fetch"]
    assert reads.calls == ["search_page"] * 3 + reread
    # a large set's records are not read ahead
    await origin.ask(z.search_request(z.rpn_term_query(1003, "testaaja")))
    assert record_count(await origin.ask(z.present_request(1, 1))) == 1
    assert reads.calls == ["search_page"] * 3 + reread + ["search_page", "fetch"]


def melinda_id_search(melinda_id: int) -> bytes:
    return z.search_request(z.rpn_term_query(12, f"{melinda_id:09d}"))


def retitled(title: str) -> Record:
    """Tuntematon sotilas (900003) under another title (saved as a load saves it)."""
    record = book_record(CATALOGUE[2])
    assert record["001"].data == "000900003"
    record["245"]["a"] = title
    return record


async def test_a_record_changed_between_search_and_present_is_presented_as_changed(
    catalogue: Gateway, origin: Origin
) -> None:
    await origin.init()
    assert result_count(await origin.ask(melinda_id_search(900003))) == 1
    await catalogue.catalog.load([retitled("Tuntematon sotilas, uusi laitos.")])
    present = await origin.ask(z.present_request(1, 1))
    assert b"uusi laitos" in _record_data(present, 0)
    # and the next Present again as it is then
    await catalogue.catalog.load([retitled("Tuntematon sotilas, kolmas.")])
    present = await origin.ask(z.present_request(1, 1, syntax=z.XML_SYNTAX))
    assert b"kolmas" in _record_data(present, 0) and b"uusi laitos" not in _record_data(present, 0)


async def test_a_record_changed_by_another_process_after_the_search_is_presented_as_changed(
    catalogue: Gateway, origin: Origin, store_url: str
) -> None:
    """Another worker of `serve --workers` (or the CLI) writes through connections of its own."""
    await origin.init()
    assert result_count(await origin.ask(melinda_id_search(900003))) == 1
    elsewhere = await Catalog.open(store_url)
    try:
        await elsewhere.load([retitled("Tuntematon sotilas, toisaalla.")])
    finally:
        await elsewhere.close()
    present = await origin.ask(z.present_request(1, 1))
    assert b"toisaalla" in _record_data(present, 0)


async def test_a_record_deleted_between_search_and_present_is_presented_as_deleted(
    catalogue: Gateway, origin: Origin
) -> None:
    await origin.init()
    assert result_count(await origin.ask(kivi_search())) == 2
    deleted = book_record(CATALOGUE[0])
    mark_deleted(deleted)  # Aleph's deletion: STA DELETED and leader/05 `d`, the record stays
    await catalogue.catalog.load([deleted])
    present = await origin.ask(z.present_request(1, 2))
    assert record_count(present) == 2
    first = _record_data(present, 0)
    assert first[5:6] == b"d" and b"DELETED" in first
    assert _record_data(present, 1)[5:6] != b"d"


async def test_a_pdu_split_across_many_writes(origin: Origin) -> None:
    request = indefinite(z.init_request())
    for i in range(len(request)):
        await origin.send(request[i : i + 1])
    assert accepted(await origin.receive())


async def test_named_result_sets_live_per_association(catalogue: Gateway, origin: Origin) -> None:
    await origin.init()
    assert result_count(await origin.ask(kivi_search("kivi"))) == 2
    linna = z.search_request(z.rpn_term_query(1003, "linna"), result_set="linna")
    assert result_count(await origin.ask(linna)) == 2
    present = await origin.ask(z.present_request(1, 2, result_set="kivi", syntax=z.XML_SYNTAX))
    assert b"000900001" in _record_data(present, 0) and b"000900002" in _record_data(present, 1)
    # another association does not see them
    other = await Origin.connect(catalogue)
    await other.init()
    missing = await other.ask(z.present_request(1, 1, result_set="kivi"))
    assert diagnostic_condition(missing) == 30
    await other.close()
    # delete one set; the other stays
    deleted = await origin.ask(
        ctx(z.PduTag.DELETE_RESULT_SET_REQUEST, ctx_integer(32, 0), _sequence_of_names("kivi"))
    )
    assert deleted.is_tag(CONTEXT, z.PduTag.DELETE_RESULT_SET_RESPONSE)
    assert diagnostic_condition(await origin.ask(z.present_request(1, 1, result_set="kivi"))) == 30
    assert record_count(await origin.ask(z.present_request(1, 1, result_set="linna"))) == 1


def _sequence_of_names(*names: str) -> bytes:
    return sequence(*(ctx_string(31, name) for name in names))


def _record_data(present: Element, index: int) -> bytes:
    records = present.child(28)
    assert records is not None
    external = records.children[index].child(1)
    assert external is not None
    return external.only_child().only_child().children[-1].octets()


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(b"\x02\x01\x00", id="not-a-pdu"),
        pytest.param(ctx(z.PduTag.SEARCH_REQUEST, ctx_integer(13, 0)), id="search-missing-fields"),
        pytest.param(b"\xb6\x05\x8d\x09\x00\x00\x00", id="inner-length-overruns"),
        pytest.param(b"\xb6\x84\x7f\xff\xff\xff", id="gigabyte-length"),
        pytest.param(ctx(46, ctx_integer(3, 1)), id="extended-services"),
        pytest.param(b"\xb6\x80" + b"\xa0\x80" * (MAX_DEPTH + 1), id="nested-too-deep"),
    ],
)
async def test_a_malformed_pdu_closes_only_its_own_association(
    catalogue: Gateway, origin: Origin, malformed: bytes
) -> None:
    bystander = await Origin.connect(catalogue)
    await bystander.init()
    await origin.init()
    await origin.send(malformed)
    assert close_reason(await origin.receive()) == z.CloseReason.PROTOCOL_ERROR
    assert await origin.closed_by_target()
    assert result_count(await bystander.ask(kivi_search())) == 2
    await bystander.close()


async def test_requests_before_init_are_a_protocol_error(origin: Origin) -> None:
    await origin.send(kivi_search())
    assert close_reason(await origin.receive()) == z.CloseReason.PROTOCOL_ERROR


async def test_sort_is_refused_with_a_sort_response(origin: Origin) -> None:
    await origin.init()
    response = await origin.ask(ctx(z.PduTag.SORT_REQUEST, ctx(3, ctx_string(0, "default"))))
    assert response.is_tag(CONTEXT, z.PduTag.SORT_RESPONSE)
    status = response.child(3)
    assert status is not None and status.integer() == 2  # failure
    assert result_count(await origin.ask(kivi_search())) == 2


async def test_close_is_answered_with_close(origin: Origin) -> None:
    await origin.init()
    assert close_reason(await origin.ask(z.close_request())) == z.CloseReason.FINISHED
    assert await origin.closed_by_target()


async def test_login_with_id_pass(origin: Origin, catalogue: Gateway) -> None:
    assert accepted(await origin.init(user="KIVI", password="kivi-salasana"))
    refused = await Origin.connect(catalogue)
    response = await refused.init(user="KIVI", password="nope")
    assert not accepted(response)
    assert default_diagnostics(response) == [(1011, "KIVI")]
    assert await refused.closed_by_target()
    await refused.close()


def default_diagnostics(element: Element) -> list[tuple[int, str]]:
    """Every DefaultDiagFormat (bib-1 OID, condition, addinfo) nested anywhere in a PDU."""
    found = []
    kids = element.children
    if (
        len(kids) == 3
        and kids[0].is_tag(UNIVERSAL, OBJECT_IDENTIFIER)
        and kids[0].oid() == z.BIB1_DIAGNOSTIC_SET
    ):
        return [(kids[1].integer(), kids[2].string())]
    for child in kids:
        found.extend(default_diagnostics(child))
    return found


@asynccontextmanager
async def _gateway_with(tmp_path: Path, **settings: object) -> AsyncIterator[Gateway]:
    async with running_gateway(settings_for(tmp_path / "data", **settings)) as gateway:
        await gateway.catalog.load([book_record(book) for book in CATALOGUE[:3]])
        yield gateway


async def test_an_idle_association_is_closed(tmp_path: Path) -> None:
    async with _gateway_with(tmp_path, z3950_idle_timeout=1) as gateway:
        origin = await Origin.connect(gateway)
        await origin.init()
        started = asyncio.get_running_loop().time()
        assert close_reason(await origin.receive(timeout=5)) == z.CloseReason.LACK_OF_ACTIVITY
        assert asyncio.get_running_loop().time() - started >= 0.9
        await origin.close()


async def test_an_association_busy_for_longer_than_the_idle_timeout_stays(
    tmp_path: Path,
) -> None:
    """Each wait for a request has the idle timeout from its own start, not the first's."""
    async with _gateway_with(tmp_path, z3950_idle_timeout=1) as gateway:
        origin = await Origin.connect(gateway)
        await origin.init()
        loop = asyncio.get_running_loop()
        started = quiet = loop.time()
        while quiet - started < 2.5:
            await asyncio.sleep(0.3)
            assert result_count(await origin.ask(kivi_search())) == 2
            quiet = loop.time()
        assert close_reason(await origin.receive(timeout=5)) == z.CloseReason.LACK_OF_ACTIVITY
        assert 0.9 <= loop.time() - quiet <= 2.5
        await origin.close()


async def test_an_association_ends_at_its_lifetime_even_when_busy(tmp_path: Path) -> None:
    async with _gateway_with(tmp_path, z3950_max_lifetime=2, z3950_idle_timeout=60) as gateway:
        origin = await Origin.connect(gateway)
        await origin.init()
        reasons = []
        for _ in range(40):
            await origin.send(kivi_search())
            reply = await origin.receive(timeout=5)
            if reply.is_tag(CONTEXT, z.PduTag.CLOSE):
                reasons.append(close_reason(reply))
                break
            await asyncio.sleep(0.1)
        assert reasons == [z.CloseReason.RESOURCES]
        await origin.close()


async def test_the_association_cap(tmp_path: Path) -> None:
    async with _gateway_with(tmp_path, z3950_max_associations=1) as gateway:
        first = await Origin.connect(gateway)
        assert accepted(await first.init())
        second = await Origin.connect(gateway)
        refusal = await second.init()
        assert not accepted(refusal)
        assert default_diagnostics(refusal) == [(1018, "too many associations")]
        assert await second.closed_by_target()
        await second.close()
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{gateway.ports['z3950']}/fin01?operation=explain"
            async with http.get(url) as response:
                assert response.status == 503
        await first.ask(z.close_request())
        await first.close()
        await asyncio.sleep(0.1)
        third = await Origin.connect(gateway)
        assert accepted(await third.init())
        await third.close()


async def test_stopping_the_gateway_closes_associations_with_shutdown(tmp_path: Path) -> None:
    origin: Origin | None = None
    async with _gateway_with(tmp_path) as gateway:
        origin = await Origin.connect(gateway)
        await origin.init()
    assert origin is not None
    assert close_reason(await origin.receive()) == z.CloseReason.SHUTDOWN
    await origin.close()


async def test_sru_on_the_z3950_port(catalogue: Gateway) -> None:
    z_port = f"http://127.0.0.1:{catalogue.ports['z3950']}"
    query = "operation=searchRetrieve&version=2.0&query=dc.title%3Dseitsem%C3%A4n"
    async with aiohttp.ClientSession() as http:
        for path in ("/fin01", "/FIN01", "/sru/bib", "/fin01alma"):
            async with http.get(f"{z_port}{path}?{query}") as response:
                assert response.status == 200, path
                document = etree.fromstring(await response.read())
            assert document.findtext(f"{SRU}numberOfRecords") == "2", path
            staleness = b'tag="024" ind1="8"' in etree.tostring(document)
            assert staleness == (path == "/fin01alma"), path
        async with http.post(
            f"{z_port}/fin01",
            data={"operation": "searchRetrieve", "query": "dc.author=kivi", "version": "2.0"},
        ) as response:
            document = etree.fromstring(await response.read())
            assert document.findtext(f"{SRU}numberOfRecords") == "2"
        async with http.get(f"{z_port}/health") as response:
            assert (await response.json())["status"] == "ok"
