"""The running gateway: its catalog, settings, HTTP application, listeners, journal and faults
(built by `gateway.emulator.app`; protocols see it through the interfaces in `protocols.host`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from gateway.catalog import Catalog
from gateway.emulator.faults import Faults
from gateway.emulator.journal import Journal
from gateway.emulator.settings import Settings
from gateway.emulator.shared import SharedStore
from gateway.emulator.singletons import SingletonLock
from gateway.emulator.worker_sync import WorkerSync
from protocols.host import (
    BodyParameterReader,
    FaultRenderer,
    ListenerShare,
    RunningServer,
    ServerStarter,
)
from protocols.iso18626 import ILL_KEY

log = logging.getLogger("melinda.gateway")

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")

# Listeners only one process runs at a time: the SFTP inbox applies each publishing file once,
# in arrival order. The holder of the singleton lock (gateway.emulator.singletons) runs them,
# and the singleton jobs (the ILL outbox).
SINGLETONS = frozenset({"sftp"})
SINGLETON_POLL_SECONDS = 0.5
HOLD_CHECK_SECONDS = 2.0  # how often the holder makes sure it still holds the lock
WORKER_HEADER = "X-Melinda-Worker"


@dataclass
class Gateway:
    """The running process: one catalog, one HTTP application, any number of listeners."""

    settings: Settings
    catalog: Catalog
    http: web.Application
    starters: dict[str, ServerStarter] = field(default_factory=dict)
    servers: dict[str, RunningServer] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    # the emulator's own controls (gateway/emulator/admin.py): every interface journals and takes faults
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    fault_renderers: dict[str, FaultRenderer] = field(default_factory=dict)
    body_parameter_readers: dict[str, BodyParameterReader] = field(default_factory=dict)
    # one of `serve --workers N`: its number, the listening sockets it was handed, the state
    # the workers share (all None/empty in a single process)
    worker: int | None = None
    sockets: dict[str, socket.socket] = field(default_factory=dict)
    shares: dict[str, ListenerShare] = field(default_factory=dict)  # see listener_share
    shared: SharedStore | None = None
    sync: WorkerSync | None = None  # the journal and faults kept in step with the other workers
    # several processes serve the catalog (workers, or processes on one PostgreSQL database):
    # singleton work runs where this lock is held; None: this process runs it all
    singleton_lock: SingletonLock | None = None
    jobs: dict[str, tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]] = field(
        default_factory=dict
    )
    _runner: web.AppRunner | None = None
    bound_host: str = ""  # the address the HTTP socket got (the host setting resolved)
    _singleton_task: asyncio.Task[None] | None = None
    _jobs_running: list[str] = field(default_factory=list)

    def add_server(self, name: str, start: ServerStarter) -> None:
        """Register a non-HTTP listener (Z39.50, SFTP); it is started with the gateway."""
        self.starters[name] = start

    def add_singleton_job(
        self, name: str, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
    ) -> None:
        """Background work one process of several runs (the ILL outbox): started with the
        gateway, or once this process holds the singleton lock."""
        self.jobs[name] = (start, stop)

    @property
    def http_url(self) -> str:
        return f"http://{url_host(self.bound_host or self.settings.host)}:{self.ports['http']}"

    def urls(self) -> dict[str, str]:
        """Connection strings of every running interface, naming the address actually bound."""
        out = interface_urls(self.bound_host or self.settings.host, self.ports)
        if ILL_KEY in self.http:
            out["iso18626"] = f"{self.http_url}/iso18626"
        return out

    def listener_share(self, name: str) -> ListenerShare | None:
        return self.shares.get(name)

    def listening_socket(self, name: str) -> socket.socket | None:
        handed = self.sockets.get(name)
        if handed is None or name not in SINGLETONS:
            return handed
        # a copy: closing a singleton listener (its lock lost) leaves the handed socket to
        # start it again on once the lock is had again
        copy = handed.dup()
        copy.setblocking(False)
        return copy

    async def start(self) -> None:
        """Listen on every port; if one cannot be had, close everything (the store too) and
        raise ListenError naming it."""
        if self.worker is not None:
            self.http.on_response_prepare.append(self._name_worker)
        if self.sync is not None:
            self.sync.start()
        try:
            self._runner = web.AppRunner(self.http, handle_signals=False, access_log=None)
            await self._runner.setup()
            site: web.BaseSite
            if "http" in self.sockets:  # a worker: the supervisor bound it
                site = web.SockSite(self._runner, self.sockets["http"])
            else:
                site = web.TCPSite(self._runner, self.settings.host, self.settings.http_port)
            try:
                await site.start()
            except OSError as exc:
                raise ListenError("http", self.settings.host, self.settings.http_port, exc) from exc
            self.ports["http"], self.bound_host = bound_address(site)
            singletons: list[str] = []
            for name, start in self.starters.items():
                if self.singleton_lock is not None and name in SINGLETONS:
                    singletons.append(name)
                    if name in self.sockets:
                        self.ports[name] = self.sockets[name].getsockname()[1]
                    continue
                try:
                    server = await start(self)
                except OSError as exc:
                    port = int(getattr(self.settings, f"{name}_port", 0))
                    raise ListenError(name, self.settings.host, port, exc) from exc
                self.servers[name] = server
                self.ports[name] = server.port
            if self.singleton_lock is None:
                await self._start_jobs()
            elif singletons or self.jobs:
                # a first try now: a lone process serves everything once start() returns
                held = await self.singleton_lock.try_take()
                if held:
                    await self._start_singletons(singletons)
                self._singleton_task = asyncio.create_task(
                    self._run_singletons(singletons, started=held), name="singletons"
                )
        except BaseException:
            await self.stop()
            raise

    async def _name_worker(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = str(self.worker)

    async def _start_jobs(self) -> None:
        for name, (start, _) in self.jobs.items():
            await start()
            self._jobs_running.append(name)

    async def _stop_jobs(self) -> None:
        while self._jobs_running:
            name = self._jobs_running.pop()
            try:
                await self.jobs[name][1]()
            except Exception:
                log.exception("stopping %s failed", name)

    async def _start_singletons(self, names: list[str]) -> None:
        for name in names:
            try:
                server = await self.starters[name](self)
            except OSError as exc:
                port = int(getattr(self.settings, f"{name}_port", 0))
                raise ListenError(name, self.settings.host, port, exc) from exc
            self.servers[name] = server
            self.ports[name] = server.port
        # said once its listeners listen: a client that reads this line may connect at once
        log.info("%s runs %s", self._who(), ", ".join([*names, *self.jobs]) or "nothing more")
        await self._start_jobs()

    def _who(self) -> str:
        return "this process" if self.worker is None else f"worker {self.worker}"

    async def _stop_singletons(self, names: list[str]) -> None:
        await self._stop_jobs()
        for name in names:
            server = self.servers.pop(name, None)
            if server is not None:
                with contextlib.suppress(Exception):
                    await server.close()

    async def _run_singletons(self, names: list[str], *, started: bool) -> None:
        """Hold the singleton lock and run the singleton work while it is held; wait for it
        while another process holds it (a file lock is freed by the kernel, an advisory lock
        by the database, when its holder dies); give the work up if the lock is lost."""
        lock = self.singleton_lock
        assert lock is not None
        try:
            while True:
                if not started:
                    while not await _taken(lock):
                        await asyncio.sleep(SINGLETON_POLL_SECONDS)
                    try:
                        await self._start_singletons(names)
                    except OSError:
                        log.exception("starting the singleton work failed; trying again")
                        await self._stop_singletons(names)
                        await lock.release()
                        await asyncio.sleep(SINGLETON_POLL_SECONDS)
                        continue
                started = False
                while await lock.still_held():
                    await asyncio.sleep(HOLD_CHECK_SECONDS)
                log.warning("%s lost the singleton lock; stopping its work", self._who())
                await self._stop_singletons(names)
        finally:
            await self._stop_singletons(names)
            await lock.release()

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, close the store."""
        if self._singleton_task is not None:
            self._singleton_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._singleton_task
            self._singleton_task = None
        await self._stop_jobs()
        for name, server in reversed(list(self.servers.items())):
            try:
                await server.close()
            except Exception:  # one listener failing to close must not keep the store open
                log.exception("closing %s failed", name)
        self.servers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.sync is not None:  # first: on PostgreSQL it hands its last entries to the store
            await self.sync.stop()
        await self.catalog.close()
        if self.shared is not None:
            await self.shared.close()
        if self.singleton_lock is not None:
            await self.singleton_lock.release()  # another process takes over


async def _taken(lock: SingletonLock) -> bool:
    """`lock.try_take()`, a failure to ask (the database busy or restarting) a no."""
    try:
        return await lock.try_take()
    except Exception:
        log.exception("asking for the singleton lock failed; asking again")
        return False


class ListenError(OSError):
    """A port the gateway could not listen on: which interface, which address, why."""

    def __init__(self, interface: str, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, f"{host}:{port} ({interface}): {cause.strerror or cause}")
        self.interface = interface
        self.host = host
        self.port = port
        self.cause = cause


def interface_urls(bind_host: str, ports: dict[str, int]) -> dict[str, str]:
    """Connection strings of the interfaces listening on these ports."""
    host = url_host(bind_host)
    http_url = f"http://{host}:{ports['http']}"
    out = {
        "health": f"{http_url}/health",
        "sru": f"{http_url}/sru/bib",
        "sru_alma": f"{http_url}/sru/fin01alma",
        "xserver": f"{http_url}/X",
        "oai_pmh": f"{http_url}/oai-pmh/bib",
        "oai_pmh_alma": f"{http_url}/oai-pmh/fin01alma",
        "console": f"{http_url}/",
    }
    if "z3950" in ports:
        out["z3950"] = f"{host}:{ports['z3950']}/fin01"
        out["z3950_alma"] = f"{host}:{ports['z3950']}/fin01alma"
    if "sftp" in ports:
        out["sftp"] = f"sftp://CODE@{host}:{ports['sftp']}"
    return out


def url_host(host: str) -> str:
    """A host to connect to: a wildcard address is reached on loopback."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def bound_address(site: web.BaseSite) -> tuple[int, str]:
    """(port, address) of the site's first socket: port 0 and host names resolved."""
    server = site._server  # aiohttp keeps the asyncio server here; the public name gives none
    sockets = getattr(server, "sockets", None)  # asyncio's Server or uvloop's (no common base)
    assert sockets
    name = sockets[0].getsockname()
    return int(name[1]), str(name[0])
