"""Cached logins across processes: another worker's commits do not cost a password check;
a password changed by another process is noticed at once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.catalog import Catalog
from gateway.catalog.base import REFRESH_INTERVAL
from gateway.errors import AuthenticationError
from tests.unit.test_catalog import book


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Catalog, Catalog]]:
    """Two catalogs over one store file, each with its own connections (two workers)."""
    path = str(tmp_path / "melinda.sqlite")
    first = await Catalog.open(path)
    second = await Catalog.open(path)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.fixture
def scrypt_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return runs


async def test_a_login_survives_another_workers_saves(
    two: tuple[Catalog, Catalog], scrypt_runs: list[int]
) -> None:
    worker_a, worker_b = two
    await worker_a.add_library("KIVI", password="kivi-salasana", lows=["KIVI"])
    await worker_a.authenticate("KIVI", "kivi-salasana")
    checks = len(scrypt_runs)
    for n in range(3):
        await worker_b.create(book(f"Toisen työn tallennus {n}."))
        await asyncio.sleep(REFRESH_INTERVAL * 1.5)  # worker A looks for other commits again
        user = await worker_a.authenticate("kivi", "kivi-salasana")
        assert user.library == "KIVI" and user.lows == frozenset({"KIVI"})
    assert len(scrypt_runs) == checks  # no password check again


async def test_a_password_or_lows_changed_by_another_process_are_noticed(
    two: tuple[Catalog, Catalog],
) -> None:
    worker_a, worker_b = two
    await worker_a.add_library("KIVI", password="vanha", lows=["KIVI"])
    await worker_a.authenticate("KIVI", "vanha")
    await worker_b.add_library("KIVI", password="uusi", lows=["KIVI", "KIVI2"])
    await asyncio.sleep(REFRESH_INTERVAL * 1.5)
    with pytest.raises(AuthenticationError):
        await worker_a.authenticate("KIVI", "vanha")
    user = await worker_a.authenticate("KIVI", "uusi")
    assert user.lows == frozenset({"KIVI", "KIVI2"})
