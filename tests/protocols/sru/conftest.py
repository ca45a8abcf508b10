"""Fixtures for the SRU tests: a gateway with generated records, and a client that parses replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pymarc
import pytest
from lxml import etree

from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.records import is_deleted
from tests.protocols.sru.structure import assert_well_formed_response

RECORD_COUNT = 40

SruGet = Callable[..., Coroutine[Any, Any, etree._Element]]


@pytest.fixture
async def records(gateway: Gateway) -> list[pymarc.Record]:
    """Generated records loaded into the gateway's store; returns the live (searchable) ones."""
    batch = list(generate_records(RECORD_COUNT, 7))
    await gateway.catalog.load(batch)
    return [r for r in batch if not is_deleted(r)]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch_sru(
    gateway: Gateway,
    session: aiohttp.ClientSession,
    path: str = "/sru/bib",
    *,
    method: str = "GET",
    **params: str | int,
) -> bytes:
    """One SRU request over the wire; always HTTP 200 with XML, whatever was asked."""
    values = {k: str(v) for k, v in params.items()}
    url = gateway.http_url + path
    if method == "POST":
        request = session.post(url, data=values)
    else:
        request = session.get(url, params=values)
    async with request as response:
        assert response.status == 200
        assert response.content_type == "text/xml"
        return await response.read()


@pytest.fixture
def sru(gateway: Gateway, http: aiohttp.ClientSession) -> SruGet:
    async def get(path: str = "/sru/bib", **params: str | int) -> etree._Element:
        body = await fetch_sru(gateway, http, path, **params)
        root = etree.fromstring(body)
        assert_well_formed_response(root)
        return root

    return get
