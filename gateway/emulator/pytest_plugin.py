"""A pytest plugin: the `melinda_gateway` fixture runs the whole gateway for a test suite.

The gateway runs on its own event loop in a background thread, so any test can use it: plain
(synchronous) tests driving a library system's client, and async tests on their own loop.
The server lives for `melinda_gateway_scope` (ini option; "session" by default) and is put
back to an empty store between tests by restoring a snapshot taken at start.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pymarc
import pytest

from gateway.catalog import LoadReport
from gateway.emulator.app import create_gateway
from gateway.emulator.faults import Fault
from gateway.emulator.host import Gateway
from gateway.emulator.journal import Entry
from gateway.emulator.settings import Settings
from gateway.model import Library

T = TypeVar("T")

SCOPE_OPTION = "melinda_gateway_scope"
BASELINE = "melinda-gateway-baseline"
CALL_TIMEOUT = 300.0  # seconds a helper may take (a large seed)


class MelindaGateway:
    """A running gateway and what a test needs from it: URLs, seeding, libraries, journal, faults.

    Every helper is synchronous and safe to call from any thread or event loop; it runs in
    the gateway's own loop.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="melinda-gateway", daemon=True
        )
        self._gateway: Gateway | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> MelindaGateway:
        self._thread.start()
        self._gateway = self.call(self._start())
        self.snapshot(BASELINE)
        return self

    async def _start(self) -> Gateway:
        gateway = await create_gateway(self.settings)
        await gateway.start()
        return gateway

    def stop(self) -> None:
        if self._gateway is not None:
            self.call(self._gateway.stop())
            self._gateway = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run a coroutine (e.g. `mg.call(mg.catalog.get(1))`) in the gateway's loop."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    def reset(self) -> None:
        """Back to the state at start (empty store, no libraries); journal and faults cleared."""
        self.restore(BASELINE)
        self.gateway.faults.clear()
        self.call(self._clear_journal())

    async def _clear_journal(self) -> None:
        self.gateway.journal.clear()

    # --- where things are ------------------------------------------------------------------
    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError("the gateway is not running")
        return self._gateway

    @property
    def catalog(self) -> Any:
        """The Catalog (its methods are coroutines: run them with `call`)."""
        return self.gateway.catalog

    @property
    def urls(self) -> dict[str, str]:
        return self.gateway.urls()

    @property
    def host(self) -> str:
        return "127.0.0.1" if self.settings.host in ("", "0.0.0.0") else self.settings.host

    @property
    def http_url(self) -> str:
        return self.gateway.http_url

    @property
    def sru_url(self) -> str:
        return self.urls["sru"]

    @property
    def xserver_url(self) -> str:
        return self.urls["xserver"]

    @property
    def oai_pmh_url(self) -> str:
        return self.urls["oai_pmh"]

    @property
    def z3950_port(self) -> int:
        return self.gateway.ports["z3950"]

    @property
    def z3950_url(self) -> str:
        """`host:port/fin01`, as yaz-client and ZOOM take it."""
        return self.urls["z3950"]

    @property
    def sftp_port(self) -> int:
        return self.gateway.ports["sftp"]

    @property
    def admin_url(self) -> str:
        return f"{self.http_url}/_admin"

    # --- state -----------------------------------------------------------------------------
    def seed(self, count: int, *, seed: int = 1) -> list[int]:
        """Load `count` generated Melinda records (the same seed gives the same records)."""
        return self.call(self._seed(count, seed))

    async def _seed(self, count: int, seed: int) -> list[int]:
        from gateway.emulator.generator import generate_records

        start = self.gateway.catalog.high_id + 1
        ids: list[int] = []
        for offset in range(0, count, 1000):
            size = min(1000, count - offset)
            batch = await asyncio.to_thread(
                _generated, generate_records, size, seed + offset, start + offset
            )
            await self.gateway.catalog.load(batch)
            ids.extend(range(start + offset, start + offset + size))
        return ids

    def load(self, records: bytes | str | Path | Iterable[pymarc.Record]) -> LoadReport:
        """Load records as given: MARCXML / ISO 2709 bytes, a file of them, or pymarc records."""
        return self.call(self._load(records))

    async def _load(self, records: bytes | str | Path | Iterable[pymarc.Record]) -> LoadReport:
        from gateway.records import read_records

        if isinstance(records, str | Path):
            records = await asyncio.to_thread(Path(records).read_bytes)
        if isinstance(records, bytes):
            import io

            results = await asyncio.to_thread(lambda: list(read_records(io.BytesIO(records))))
            bad = [f"{where}: {error}" for where, rec, error in results if rec is None]
            if bad:
                raise ValueError(f"unreadable records: {'; '.join(bad[:5])}")
            batch = [rec for _, rec, _ in results if rec is not None]
        else:
            batch = list(records)
        total = LoadReport()
        for start in range(0, len(batch), 1000):
            report = await self.gateway.catalog.load(batch[start : start + 1000])
            total.loaded += report.loaded
            total.updated += report.updated
        return total

    def add_library(
        self,
        code: str,
        *,
        password: str | None = None,
        lows: Sequence[str] = (),
        ssh_keys: Sequence[str] = (),
        level: int = 30,
        name: str = "",
        sid_code: str | None = None,
    ) -> Library:
        """A library, its staff user (user name = code) and OWN LOWs and SSH public keys."""
        return self.call(
            self.gateway.catalog.add_library(
                code,
                password=password,
                lows=lows,
                ssh_keys=ssh_keys,
                level=level,
                name=name,
                sid_code=sid_code,
            )
        )

    def snapshot(self, name: str) -> Path:
        path = self.settings.data_dir / "snapshots" / f"{name}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.call(self.gateway.catalog.snapshot(str(path)))
        return path

    def restore(self, name: str) -> None:
        path = self.settings.data_dir / "snapshots" / f"{name}.sqlite"
        if not path.is_file():
            raise FileNotFoundError(f"no snapshot named {name}")
        self.call(self.gateway.catalog.restore(str(path)))

    # --- observing and misbehaving -----------------------------------------------------------
    def requests(self, interface: str | None = None, operation: str | None = None) -> list[Entry]:
        """The journal: every request so far, oldest first (filter by interface/operation)."""
        return self.call(self._entries(interface, operation))

    async def _entries(self, interface: str | None, operation: str | None) -> list[Entry]:
        return self.gateway.journal.entries(interface=interface, operation=operation)

    def fault(self, interface: str, kind: str, **spec: Any) -> Fault:
        """Inject a fault: `mg.fault("sru", "error", count=1)`, `mg.fault("oai-pmh", "latency",
        latency_ms=500)`, `mg.fault("z3950", "drop", operation="search", probability=0.5)`."""
        return self.call(self._add_fault({"interface": interface, "kind": kind, **spec}))

    async def _add_fault(self, spec: Mapping[str, Any]) -> Fault:
        return self.gateway.faults.add(spec)

    def clear_faults(self) -> None:
        self.call(self._clear_faults())

    async def _clear_faults(self) -> None:
        self.gateway.faults.clear()


def _generated(
    generate: Callable[..., Iterable[pymarc.Record]], count: int, seed: int, start: int
) -> list[pymarc.Record]:
    return list(generate(count, seed, start_id=start))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SCOPE_OPTION,
        "scope of the melinda_gateway server: session (default), package, module, class or "
        "function; with a wider scope than function the store is reset between tests",
        default="session",
    )


def _server_scope(fixture_name: str, config: pytest.Config) -> Any:
    scope = str(config.getini(SCOPE_OPTION) or "session").strip()
    if scope not in ("session", "package", "module", "class", "function"):
        raise pytest.UsageError(f"{SCOPE_OPTION} = {scope}: not a pytest scope")
    return scope


@pytest.fixture(scope="session")
def melinda_gateway_settings() -> dict[str, Any]:
    """Settings overrides for the gateway (override this fixture in a conftest.py)."""
    return {}


@pytest.fixture(scope=_server_scope)
def melinda_gateway_server(melinda_gateway_settings: dict[str, Any]) -> Iterator[MelindaGateway]:
    """The running gateway for the configured scope (use `melinda_gateway` in tests)."""
    with tempfile.TemporaryDirectory(prefix="melinda-gateway-") as folder:
        base = Settings(
            host="127.0.0.1",
            http_port=0,
            z3950_port=0,
            sftp_port=0,
            data_dir=Path(folder) / "data",
            demo=False,
            secret="melinda-gateway-pytest",
        )
        handle = MelindaGateway(base.with_overrides(melinda_gateway_settings)).start()
        try:
            yield handle
        finally:
            handle.stop()


@pytest.fixture
def melinda_gateway(melinda_gateway_server: MelindaGateway) -> Iterator[MelindaGateway]:
    """The whole gateway on free ports with an empty temp store, fresh for every test."""
    melinda_gateway_server.reset()
    yield melinda_gateway_server
