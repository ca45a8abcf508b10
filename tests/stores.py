"""Both stores under test: SQLite files, and throwaway databases in a PostgreSQL cluster
(`MELINDA_GATEWAY_TEST_PG_URL`, which scripts/test and .ci/run start with scripts/pg-temp)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

PG_URL_VARIABLE = "MELINDA_GATEWAY_TEST_PG_URL"
PG_DIR_VARIABLE = "MELINDA_GATEWAY_TEST_PG_DIR"
STORE_KINDS = ("sqlite", "postgresql")

# The protocol end-to-end suites (ISO 18626 too) and the catalog tests (Asteri's too) run
# over both stores; nothing more (each doubles its time).
BOTH_STORES = (
    "tests/protocols/sru/",
    "tests/protocols/xserver/",
    "tests/protocols/oaipmh/",
    "tests/protocols/z3950/",
    "tests/protocols/sftp/",
    "tests/protocols/iso18626/",
    "tests/unit/test_catalog.py",
    "tests/unit/test_catalog_asteri.py",
    "tests/e2e/test_asteri.py",
)


def cluster_url() -> str:
    """The test cluster's URL; a failure in CI without one, a skip elsewhere."""
    url = os.environ.get(PG_URL_VARIABLE, "")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_URL_VARIABLE} is not set; .ci/run starts PostgreSQL with scripts/pg-temp")
    pytest.skip(
        f"no PostgreSQL: {PG_URL_VARIABLE} is not set (scripts/test starts a cluster when"
        " the postgresql binaries are installed)"
    )


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A store URL naming a new, empty schema in the test cluster (the URL's `search_path`,
    which asyncpg sends as a server setting); dropped afterwards. A schema is made and
    dropped in milliseconds where a database takes a checkpoint."""
    import asyncpg

    url = cluster_url()
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
    finally:
        await admin.close()
    try:
        yield f"{url}?search_path={name}"
    finally:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await admin.close()


@asynccontextmanager
async def store_url_for(kind: str, folder: Path) -> AsyncIterator[str]:
    """A store URL of that kind, new and empty."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite://{folder / 'melinda.sqlite'}"
        return
    async with fresh_database() as url:
        yield url
