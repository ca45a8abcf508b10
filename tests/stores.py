"""Both stores under test: SQLite files, and throwaway databases in a PostgreSQL cluster
(`MELINDA_GATEWAY_TEST_PG_URL`, which scripts/test and .ci/run start with scripts/pg-temp)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

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


# Schemas whose test ended, emptied and migrated, for the next test: emptying them costs about
# a fifth of making a schema, running every migration in it and dropping it.
EMPTIED: list[str] = []


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A store URL naming an empty schema in the test cluster (the URL's `search_path`, which
    asyncpg sends as a server setting): one emptied after an earlier test, else a new one.
    Afterwards it is emptied for the next test, or dropped when it cannot be."""
    import asyncpg

    url = cluster_url()
    # a new name every time, also for a schema used before: advisory lock keys (singleton
    # work) are made of it, and a process of the earlier test may not have let go yet
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        if EMPTIED:
            await admin.execute(f"ALTER SCHEMA {EMPTIED.pop()} RENAME TO {name}")
        else:
            await admin.execute(f"CREATE SCHEMA {name}")
    finally:
        await admin.close()
    try:
        yield f"{url}?search_path={name}"
    finally:
        admin = await asyncpg.connect(url)
        try:
            if await _emptied(admin, name):
                EMPTIED.append(name)
            else:
                await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await admin.close()


async def _emptied(admin: Any, name: str) -> bool:
    """Empty a schema the store's current migrations made, as they left it (one counters
    row, sequences at their start); False when it is not such a schema or is still in use."""
    import asyncpg

    from gateway.store.postgresql.schema import MIGRATIONS

    made = await admin.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{name}.schema_version")
    if not made:
        return False
    version = await admin.fetchval(f"SELECT max(version) FROM {name}.schema_version")
    if version != len(MIGRATIONS):
        return False
    tables = [
        r[0]
        for r in await admin.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1"
            " AND tablename <> 'schema_version'",
            name,
        )
    ]
    found = await admin.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = $1", name)
    sequences = [r[0] for r in found]
    try:
        async with admin.transaction():
            # a connection a killed process left behind may hold a lock: then drop instead
            await admin.execute("SET LOCAL lock_timeout = '2s'")
            await admin.execute(
                f"TRUNCATE {', '.join(f'{name}.{t}' for t in tables)} RESTART IDENTITY"
            )
            await admin.execute(f"INSERT INTO {name}.counters DEFAULT VALUES")
            for sequence in sequences:
                await admin.execute(f"SELECT setval('{name}.{sequence}', 1, false)")
    except asyncpg.PostgresError:
        return False
    return True


def drop_emptied() -> None:
    """Drop the schemas kept for later tests (at the end of the session)."""
    if not EMPTIED or not os.environ.get(PG_URL_VARIABLE):
        return
    import asyncio

    import asyncpg

    async def drop() -> None:
        admin = await asyncpg.connect(os.environ[PG_URL_VARIABLE])
        try:
            for name in EMPTIED:
                await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await admin.close()

    asyncio.run(drop())
    EMPTIED.clear()


@asynccontextmanager
async def store_url_for(kind: str, folder: Path) -> AsyncIterator[str]:
    """A store URL of that kind, new and empty."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite://{folder / 'melinda.sqlite'}"
        return
    async with fresh_database() as url:
        yield url
