"""The console's sections for optional features appear only when the gateway serves their
admin API, and call it: here the API is a small stand-in registered before the gateway starts
(the features themselves are tested in their own suites), so the console's side is tested alone:
detection, the loopback call with the admin token, and what the page shows of each answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from lxml import html

from gateway.emulator.app import create_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.e2e

TOKEN = "optional-token"


@pytest.fixture
async def featured(tmp_path: Path) -> AsyncIterator[tuple[Gateway, list[dict[str, object]]]]:
    """A shared gateway whose admin API also has harvests (a stand-in); the calls it received
    are listed."""
    calls: list[dict[str, object]] = []

    async def harvests(request: web.Request) -> web.Response:
        calls.append({"path": request.path, "auth": request.headers.get("Authorization")})
        return web.json_response(
            {
                "harvests": [
                    {
                        "id": 7,
                        "library": "HELKA",
                        "status": "done",
                        "source": "<b>oai-pmh</b>",
                        "sets": ["low:HELKA"],
                    },
                ]
            }
        )

    settings = settings_for(tmp_path / "data", shared=True, admin_token=TOKEN)
    gateway = await create_gateway(settings)
    gateway.http.router.add_get("/_admin/harvests", harvests)
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


async def test_harvests_on_the_libraries_page(
    featured: tuple[Gateway, list[dict[str, object]]],
) -> None:
    gateway, calls = featured
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession(headers=auth) as http,
        http.get(gateway.http_url + "/libraries") as response,
    ):
        raw = await response.text()
    page = html.fromstring(raw)
    rows = [
        [td.text_content() for td in tr.xpath("td")]
        for tr in page.xpath('//table[@id="harvests"]//tr[td]')
    ]
    assert rows == [["7", "HELKA", "done", "<b>oai-pmh</b>"]]  # nested members left out
    assert "<b>oai" not in raw  # escaped
    assert calls[-1] == {"path": "/_admin/harvests", "auth": f"Bearer {TOKEN}"}


async def test_without_a_feature_there_is_no_section(gateway: Gateway) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.http_url + "/libraries") as response,
    ):
        assert (await page_of(response)).xpath('//table[@id="harvests"]') == []
