"""The ISO 18626 suite runs over both stores: each gateway a test starts gets its own store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.protocols.iso18626.support import stores_of_kind


@pytest.fixture(autouse=True)
async def ill_stores(store_kind: str) -> AsyncIterator[None]:
    async with stores_of_kind(store_kind):
        yield
