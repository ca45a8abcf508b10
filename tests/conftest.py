"""Shared fixtures: a real gateway in-process on free ports, the ../shared fixtures, blockbuster."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.emulator.app import PROTOCOLS, running_gateway
from gateway.emulator.host import Gateway
from gateway.emulator.settings import Settings
from tests.stores import BOTH_STORES, STORE_KINDS, drop_emptied, store_url_for

# Import every protocol now, before blockbuster watches: some imports run subprocesses
# (asyncssh probes the system's libraries), which is start-up cost, not event-loop blocking.
for _name in PROTOCOLS:
    importlib.import_module(_name)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


def shared_fixture(*parts: str) -> Path:
    """A file under ../shared/fixtures, or skip the test saying why."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/fixtures is absent ({'/'.join(parts)} not found)")
    return path


def shared_schema(name: str) -> Path:
    path = SHARED / "schemas" / name
    if not path.exists():
        pytest.skip(f"../shared/schemas is absent ({name} not found)")
    return path


def require_tool(name: str) -> str:
    """A third-party client the e2e tests drive; missing in CI is a failure, locally a skip."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed; .ci/run installs it")
    pytest.skip(f"{name} is not installed (apt-get install yaz / openssh-client)")


def openssh_sftp_command(key: Path, port: int, user: str) -> list[str]:
    """OpenSSH's sftp in batch mode (commands on stdin), for our key only, trusting any host key."""
    options = [
        "IdentitiesOnly=yes",
        "IdentityAgent=none",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
        "ConnectTimeout=20",
    ]
    command = [require_tool("sftp"), "-F", "/dev/null", "-b", "-", "-i", str(key), "-P", str(port)]
    for option in options:
        command += ["-o", option]
    return [*command, f"{user}@127.0.0.1"]


def test_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for an in-process gateway: free ports, a temp store, no demo data."""
    base = Settings(
        host="127.0.0.1",
        http_port=0,
        z3950_port=0,
        sftp_port=0,
        data_dir=data_dir,
        demo=False,
        secret="test-secret",
    )
    return base.with_overrides(overrides)


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_emptied()  # the PostgreSQL schemas kept for reuse


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The suites in BOTH_STORES run once per store: every test there that uses a store."""
    uses_store = {"gateway", "store_url", "catalog", "store_kind"} & set(metafunc.fixturenames)
    where = Path(str(metafunc.definition.path)).relative_to(ROOT).as_posix()
    if uses_store and any(where.startswith(prefix) for prefix in BOTH_STORES):
        metafunc.parametrize("store_kind", STORE_KINDS, indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """'sqlite' unless the test runs over both stores (pytest_generate_tests)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def store_url(store_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty store of the kind under test (a PostgreSQL database is dropped afterwards)."""
    async with store_url_for(store_kind, tmp_path / "data") as url:
        yield url


@pytest.fixture
async def gateway(tmp_path: Path, store_url: str) -> AsyncIterator[Gateway]:
    """The whole gateway, started in-process on free ports with an empty temp store."""
    async with running_gateway(test_settings(tmp_path / "data", store_url=store_url)) as gw:
        yield gw


@pytest.fixture(autouse=True)
def _no_blocking_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any async test in which something blocks the event loop (aiohttp's habit)."""
    if not request.node.get_closest_marker("asyncio") and not _is_coroutine_test(request):
        yield
        return
    from blockbuster import blockbuster_ctx

    # Only calls made from our packages count: test code may block (it runs real clients).
    with blockbuster_ctx(scanned_modules=["gateway", "protocols"]) as buster:
        # The one place SQLite may run on the loop: a quick read (gateway/store/sqlite/quick.py),
        # within its budget and only while no other read or write of the store is in flight.
        for name in QUICK_READ_CALLS:
            buster.functions[name].can_block_in("gateway/store/sqlite/quick.py", "read")
        yield


QUICK_READ_CALLS = (
    "sqlite3.Connection.execute",
    "sqlite3.Cursor.execute",
    "sqlite3.Cursor.fetchone",
    "sqlite3.Cursor.fetchmany",
    "sqlite3.Cursor.fetchall",
)


def _is_coroutine_test(request: pytest.FixtureRequest) -> bool:
    import inspect

    func = getattr(request.node, "function", None)
    return func is not None and inspect.iscoroutinefunction(func)
