"""Helpers for the OAI-PMH tests: seeding the store and asking the running gateway."""

from __future__ import annotations

import base64
from collections.abc import Iterable

import aiohttp
import pymarc
from lxml import etree

from gateway.catalog import Catalog
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.records.aleph import mark_deleted

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"o": OAI, "m": "http://www.loc.gov/MARC21/slim", "dc": "http://purl.org/dc/elements/1.1/"}
PREFIX = "oai:melinda.kansalliskirjasto.fi/"


async def seed(
    catalog: Catalog, count: int, *, seed: int = 1, start_id: int = 1, deleted: Iterable[int] = ()
) -> list[int]:
    """Load `count` generated records (ids from start_id); the ids in `deleted` go in deleted."""
    gone = set(deleted)
    batch: list[pymarc.Record] = []
    for number, record in enumerate(
        generate_records(count, seed, start_id=start_id), start=start_id
    ):
        if number in gone:
            mark_deleted(record)
        batch.append(record)
    await catalog.load(batch)
    return list(range(start_id, start_id + count))


async def fetch(
    gateway: Gateway,
    params: dict[str, str] | list[tuple[str, str]],
    *,
    path: str = "/oai-pmh/bib",
    method: str = "GET",
    auth: tuple[str, str] | None = None,
) -> tuple[int, bytes]:
    url = gateway.http_url + path
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    async with aiohttp.ClientSession(headers=headers) as session:
        if method == "GET":
            async with session.get(url, params=params) as response:
                return response.status, await response.read()
        async with session.post(url, data=params) as response:
            return response.status, await response.read()


async def ask(
    gateway: Gateway, params: dict[str, str] | list[tuple[str, str]], **kw: object
) -> etree._Element:
    """The parsed OAI-PMH answer (HTTP 200 asserted)."""
    status, body = await fetch(gateway, params, **kw)  # type: ignore[arg-type]
    assert status == 200, body[:500]
    return etree.fromstring(body)


def error_code(root: etree._Element) -> str | None:
    codes = root.xpath("o:error/@code", namespaces=NS)
    return str(codes[0]) if codes else None


def identifiers(root: etree._Element) -> list[str]:
    return [str(text) for text in root.xpath("//o:header/o:identifier/text()", namespaces=NS)]


def token_of(root: etree._Element) -> etree._Element | None:
    found = root.xpath("//o:resumptionToken", namespaces=NS)
    return found[0] if found else None
