"""The record page's match and merge on a shared gateway: shown and taken only with the admin
token, made through the matching admin API over the gateway's loopback, refusals in the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from lxml import html

from gateway.emulator.app import create_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.e2e

TOKEN = "optional-token"


@pytest.fixture
async def featured(tmp_path: Path) -> AsyncIterator[tuple[Gateway, list[dict[str, object]]]]:
    """A shared gateway with an admin token and five records."""
    calls: list[dict[str, object]] = []
    settings = settings_for(tmp_path / "data", shared=True, admin_token=TOKEN)
    gateway = await create_gateway(settings)
    await gateway.start()
    try:
        await gateway.catalog.load(list(generate_records(5, 1)))
        yield gateway, calls
    finally:
        await gateway.stop()


async def page_of(response: aiohttp.ClientResponse) -> html.HtmlElement:
    return html.fromstring(await response.text())


async def test_match_and_merge_need_the_admin_token_on_a_shared_gateway(
    featured: tuple[Gateway, list[dict[str, object]]],
) -> None:
    gateway, _ = featured
    url = gateway.http_url + "/records/000000001"
    async with aiohttp.ClientSession() as http:  # not signed in: no actions shown or taken
        async with http.get(url) as response:
            assert (await page_of(response)).xpath('//*[@id="find-matches"]') == []
        async with http.post(url + "/match") as response:
            assert response.status == 404
        async with http.post(url + "/merge", data={"other": "2", "user": "X"}) as response:
            assert response.status == 404
        assert not (await gateway.catalog.get(2)).deleted
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with http.post(url + "/match") as response:
            assert response.status == 200
            page = await page_of(response)
        assert page.xpath('//*[@id="candidates" or @id="no-candidates"]')
        async with http.post(url + "/merge", data={"other": "2", "user": "NOSUCH"}) as response:
            assert response.status == 400  # no confirmation ticked
        form = {"other": "2", "user": "NOSUCH", "confirm": "yes"}
        async with http.post(url + "/merge", data=form) as response:
            assert response.status == 403  # the merge API's refusal, in the page
            said = (await page_of(response)).get_element_by_id("merge-outcome").text_content()
        assert "NOSUCH is not a library user" in said
