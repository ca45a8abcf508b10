"""Resumption over the wire: keyset pages, cursor and list size, the empty last token, changes mid-harvest."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from lxml import etree

from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from tests.conftest import test_settings as gateway_settings
from tests.protocols.oaipmh.support import NS, PREFIX, ask, error_code, identifiers, seed, token_of


async def harvest(gateway: Gateway, first: dict[str, str]) -> list[etree._Element]:
    """Every page of one list request, following tokens to the end."""
    pages = [await ask(gateway, first)]
    while (token := token_of(pages[-1])) is not None and token.text:
        pages.append(await ask(gateway, {"verb": first["verb"], "resumptionToken": token.text}))
    return pages


async def test_pages_carry_cursor_size_expiry_and_end_with_an_empty_token(tmp_path: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path / "data", oai_page_size=10)) as gateway:
        await seed(gateway.catalog, 25)
        pages = await harvest(gateway, {"verb": "ListIdentifiers", "metadataPrefix": "marc21"})
        assert [len(identifiers(page)) for page in pages] == [10, 10, 5]
        tokens = [token_of(page) for page in pages]
        assert [t.get("cursor") for t in tokens if t is not None] == ["0", "10", "20"]
        assert {t.get("completeListSize") for t in tokens if t is not None} == {"25"}
        assert all(t.get("expirationDate") for t in tokens[:2] if t is not None)
        last = tokens[-1]
        assert last is not None and not last.text and last.get("expirationDate") is None
        every = [i for page in pages for i in identifiers(page)]
        assert every == [f"{PREFIX}{n:09d}" for n in range(1, 26)]


async def test_a_single_page_list_has_no_token(tmp_path: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path / "data", oai_page_size=10)) as gateway:
        await seed(gateway.catalog, 10)
        root = await ask(gateway, {"verb": "ListRecords", "metadataPrefix": "oai_dc"})
        assert len(identifiers(root)) == 10
        assert token_of(root) is None


async def test_a_record_changed_during_a_harvest_comes_again_never_skipped(tmp_path: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path / "data", oai_page_size=10)) as gateway:
        await seed(gateway.catalog, 30)
        first = await ask(gateway, {"verb": "ListIdentifiers", "metadataPrefix": "marc21"})
        token = token_of(first)
        assert token is not None and token.text
        # one record already delivered and one still ahead change between pages
        assert await gateway.catalog.add_low(5, "UUSI")
        assert await gateway.catalog.add_low(25, "UUSI")
        delivered = identifiers(first)
        page = first
        while (token := token_of(page)) is not None and token.text:
            page = await ask(gateway, {"verb": "ListIdentifiers", "resumptionToken": token.text})
            delivered += identifiers(page)
        assert delivered[:10] == [f"{PREFIX}{n:09d}" for n in range(1, 11)]
        assert delivered[-2:] == [f"{PREFIX}000000005", f"{PREFIX}000000025"]
        assert delivered.count(f"{PREFIX}000000025") == 1
        assert set(delivered) == {f"{PREFIX}{n:09d}" for n in range(1, 31)}


async def test_a_set_harvest_leaves_deleted_records_out(gateway: Gateway) -> None:
    await seed(gateway.catalog, 40, deleted=range(1, 41, 2))
    everything = await ask(gateway, {"verb": "ListIdentifiers", "metadataPrefix": "marc21"})
    statuses = everything.xpath("//o:header/@status", namespaces=NS)
    assert statuses.count("deleted") >= 20
    monographs = await ask(
        gateway, {"verb": "ListIdentifiers", "metadataPrefix": "marc21", "set": "monographic"}
    )
    assert error_code(monographs) is None
    assert identifiers(monographs)
    assert not monographs.xpath("//o:header[@status='deleted']", namespaces=NS)
    assert all(int(i.rsplit("/", 1)[1]) % 2 == 0 for i in identifiers(monographs))


async def test_a_thousand_record_page_is_streamed(tmp_path: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path / "data", oai_page_size=1000)) as gateway:
        await seed(gateway.catalog, 1100)
        url = gateway.http_url + "/oai-pmh/bib"
        params = {"verb": "ListRecords", "metadataPrefix": "marc21"}
        async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"
            chunks = 0
            body = bytearray()
            async for chunk in response.content.iter_any():
                chunks += 1
                body += chunk
        assert chunks > 1
        root = etree.fromstring(bytes(body))
        assert len(identifiers(root)) == 1000
        token = token_of(root)
        assert token is not None and token.get("completeListSize") == "1100"
