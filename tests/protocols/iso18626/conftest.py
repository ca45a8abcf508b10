"""The ISO 18626 suite runs over both stores: each gateway a test starts gets its own store.
Most tests face one lending gateway (`supplier`) with a raw HTTP requester (`peer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.emulator.host import Gateway
from tests.protocols.iso18626.support import RawPeer, ill_gateway, raw_peer, stores_of_kind, xsd


@pytest.fixture(autouse=True)
async def ill_stores(store_kind: str) -> AsyncIterator[None]:
    async with stores_of_kind(store_kind):
        yield


@pytest.fixture
async def supplier(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway that lends (HELKA holds the shared records), checked against the XSDs."""
    xsd()  # skips when the schemas are absent
    async with ill_gateway(tmp_path / "supplier") as gw:
        yield gw


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    """A hand-driven requester on the wire: answers OK to whatever the gateway sends it."""
    async with raw_peer() as p:
        yield p
