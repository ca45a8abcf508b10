"""The console's libraries page after a real OpenSSH upload: LOW count, key, publishing reports."""

from __future__ import annotations

import aiohttp
from lxml import html

from tests.protocols.sftp.conftest import LIBRARY, PublishingLibrary
from tests.protocols.sftp.test_publishing import holdings


async def test_libraries_page_shows_lows_keys_and_publishing_reports(
    helka: PublishingLibrary,
) -> None:
    await helka.publish("helka_20261201.xml", [*holdings(1, 2, 3), *holdings(999)])
    await helka.publish("helka_20261202.xml", holdings(2, 3, withdrawn=True))
    async with (
        aiohttp.ClientSession() as http,
        http.get(helka.gateway.http_url + "/libraries") as response,
    ):
        assert response.status == 200
        page = html.fromstring(await response.text())
    section = page.get_element_by_id(f"library-{LIBRARY}")
    low = section.xpath(f'.//dd[@data-low="{LIBRARY}"]')[0].text_content().strip()
    assert low == "1 record"  # 1, 2, 3 added; 2 and 3 withdrawn
    keys = [k.text_content() for k in section.xpath('.//ul[@class="keys"]/li')]
    assert len(keys) == 1 and keys[0].startswith("ssh-ed25519 SHA256:")
    assert keys[0].endswith("(helka_key@alma)")
    rows = [
        [td.text_content().strip() for td in tr.xpath("td")]
        for tr in section.xpath('.//table[@class="reports"]//tr[td]')
    ]
    # newest first: file, processed, mode, status, added, removed, unchanged, rejected
    assert [r[0] for r in rows] == ["helka_20261202.xml", "helka_20261201.xml"]
    assert [r[2:] for r in rows] == [
        ["incremental", "applied", "0", "2", "0", "0"],
        ["incremental", "applied", "3", "0", "0", "1"],
    ]
