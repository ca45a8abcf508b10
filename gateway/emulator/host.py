"""The running gateway: its catalog, settings, HTTP application, listeners, journal and faults
(built by `gateway.emulator.app`; protocols see it through the interfaces in `protocols.host`)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from dataclasses import dataclass, field

from aiohttp import web

from gateway.catalog import Catalog
from gateway.emulator.faults import Faults
from gateway.emulator.journal import Journal
from gateway.emulator.settings import Settings
from gateway.emulator.shared import SharedState
from gateway.emulator.worker_sync import WorkerSync
from protocols.host import BodyParameterReader, FaultRenderer, RunningServer, ServerStarter
from protocols.iso18626 import ILL_KEY

log = logging.getLogger("melinda.gateway")

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")

# Listeners only one worker process runs at a time: the SFTP inbox applies each publishing
# file once, in arrival order. The holder of SINGLETON_LOCK runs them.
SINGLETONS = frozenset({"sftp"})
SINGLETON_LOCK = "singletons.lock"
SINGLETON_POLL_SECONDS = 0.5
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
    shared: SharedState | None = None
    sync: WorkerSync | None = None  # the journal and faults kept in step with the other workers
    _runner: web.AppRunner | None = None
    bound_host: str = ""  # the address the HTTP socket got (the host setting resolved)
    _singleton_lock: int | None = None
    _singleton_task: asyncio.Task[None] | None = None

    def add_server(self, name: str, start: ServerStarter) -> None:
        """Register a non-HTTP listener (Z39.50, SFTP); it is started with the gateway."""
        self.starters[name] = start

    @property
    def http_url(self) -> str:
        return f"http://{url_host(self.bound_host or self.settings.host)}:{self.ports['http']}"

    def urls(self) -> dict[str, str]:
        """Connection strings of every running interface, naming the address actually bound."""
        out = interface_urls(self.bound_host or self.settings.host, self.ports)
        if ILL_KEY in self.http:
            out["iso18626"] = f"{self.http_url}/iso18626"
        return out

    def listening_socket(self, name: str) -> socket.socket | None:
        return self.sockets.get(name)

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
                if self.worker is not None and name in SINGLETONS:
                    singletons.append(name)
                    self.ports[name] = self.sockets[name].getsockname()[1]
                    continue
                try:
                    server = await start(self)
                except OSError as exc:
                    port = int(getattr(self.settings, f"{name}_port", 0))
                    raise ListenError(name, self.settings.host, port, exc) from exc
                self.servers[name] = server
                self.ports[name] = server.port
            if singletons:
                self._singleton_task = asyncio.create_task(
                    self._run_singletons(singletons), name="singletons"
                )
        except BaseException:
            await self.stop()
            raise

    async def _name_worker(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = str(self.worker)

    async def _run_singletons(self, names: list[str]) -> None:
        """Wait for the singleton lock (held until this process ends, freed by the kernel
        if it dies), then start the listeners only one worker may run."""
        path = self.settings.data_dir / SINGLETON_LOCK
        while self._singleton_lock is None:
            self._singleton_lock = await asyncio.to_thread(_try_lock, str(path))
            if self._singleton_lock is None:
                await asyncio.sleep(SINGLETON_POLL_SECONDS)
        log.info("worker %s runs %s", self.worker, ", ".join(names))
        for name in names:
            server = await self.starters[name](self)
            self.servers[name] = server

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, close the store."""
        if self._singleton_task is not None:
            self._singleton_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._singleton_task
            self._singleton_task = None
        for name, server in reversed(list(self.servers.items())):
            try:
                await server.close()
            except Exception:  # one listener failing to close must not keep the store open
                log.exception("closing %s failed", name)
        self.servers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.catalog.close()
        if self.sync is not None:
            await self.sync.stop()
        if self.shared is not None:
            await self.shared.close()
        if self._singleton_lock is not None:
            os.close(self._singleton_lock)  # frees the lock: another worker takes over
            self._singleton_lock = None


class ListenError(OSError):
    """A port the gateway could not listen on: which interface, which address, why."""

    def __init__(self, interface: str, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, f"{host}:{port} ({interface}): {cause.strerror or cause}")
        self.interface = interface
        self.host = host
        self.port = port
        self.cause = cause


def _try_lock(path: str) -> int | None:
    """An open descriptor holding an exclusive lock on `path`, or None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


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
    assert isinstance(server, asyncio.base_events.Server)
    name = server.sockets[0].getsockname()
    return int(name[1]), str(name[0])
