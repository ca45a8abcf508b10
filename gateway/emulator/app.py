"""Builds the whole gateway from Settings: the catalog, the HTTP site and every protocol listener."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from gateway.catalog import Catalog
from gateway.faults import BodyParameterReader, FaultRenderer, Faults
from gateway.journal import Journal
from gateway.settings import Settings

log = logging.getLogger("melinda.gateway")

# One line per protocol: each module has `install(gateway)` that adds routes or a listener.
PROTOCOLS: tuple[str, ...] = (
    "protocols.xserver",
    "protocols.oaipmh",
    "protocols.sru",
    "protocols.z3950",
    "protocols.sftp",
)

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")


class RunningServer(Protocol):
    """A started listener: the port it bound, and how to stop it."""

    @property
    def port(self) -> int: ...

    async def close(self) -> None: ...


ServerStarter = Callable[["Gateway"], Awaitable[RunningServer]]


@dataclass
class Gateway:
    """The running process: one catalog, one HTTP application, any number of listeners."""

    settings: Settings
    catalog: Catalog
    http: web.Application
    starters: dict[str, ServerStarter] = field(default_factory=dict)
    servers: dict[str, RunningServer] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    # the emulator's own controls (gateway/admin.py): every interface journals and takes faults
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    fault_renderers: dict[str, FaultRenderer] = field(default_factory=dict)
    body_parameter_readers: dict[str, BodyParameterReader] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def add_server(self, name: str, start: ServerStarter) -> None:
        """Register a non-HTTP listener (Z39.50, SFTP); it is started with the gateway."""
        self.starters[name] = start

    @property
    def http_url(self) -> str:
        return f"http://{_url_host(self.settings.host)}:{self.ports['http']}"

    def urls(self) -> dict[str, str]:
        """Connection strings of every running interface."""
        host = _url_host(self.settings.host)
        out = {
            "health": f"{self.http_url}/health",
            "sru": f"{self.http_url}/sru/bib",
            "sru_alma": f"{self.http_url}/sru/fin01alma",
            "xserver": f"{self.http_url}/X",
            "oai_pmh": f"{self.http_url}/oai-pmh/bib",
            "oai_pmh_alma": f"{self.http_url}/oai-pmh/fin01alma",
            "dashboard": f"{self.http_url}/",
        }
        if "z3950" in self.ports:
            out["z3950"] = f"{host}:{self.ports['z3950']}/fin01"
            out["z3950_alma"] = f"{host}:{self.ports['z3950']}/fin01alma"
        if "sftp" in self.ports:
            out["sftp"] = f"sftp://CODE@{host}:{self.ports['sftp']}"
        return out

    async def start(self) -> None:
        self._runner = web.AppRunner(self.http, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.http_port)
        await site.start()
        self.ports["http"] = _bound_port(site)
        try:
            for name, start in self.starters.items():
                server = await start(self)
                self.servers[name] = server
                self.ports[name] = server.port
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, close the store."""
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


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _data_dir_secret(settings: Settings) -> str:
    """The signing key of tokens and sessions: made once per data dir, so a restart keeps it."""
    path = settings.data_dir / "secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp keeps the asyncio server here; the public name gives none
    assert isinstance(server, asyncio.base_events.Server)
    return int(server.sockets[0].getsockname()[1])


async def health(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    live, deleted = await gateway.catalog.record_counts()
    return web.json_response(
        {
            "status": "ok",
            "records": live,
            "deleted": deleted,
            "interfaces": gateway.urls(),
        }
    )


async def create_gateway(settings: Settings, *, protocols: tuple[str, ...] = PROTOCOLS) -> Gateway:
    """Open the store and install every protocol; call `start()` to listen."""
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    if not settings.secret:
        settings = dataclasses.replace(
            settings, secret=await asyncio.to_thread(_data_dir_secret, settings)
        )
    catalog = await Catalog.open(str(settings.store_path))
    http = web.Application(client_max_size=64 * 1024 * 1024)
    gateway = Gateway(
        settings=settings, catalog=catalog, http=http, journal=Journal(settings.journal_size)
    )
    http[GATEWAY_KEY] = gateway
    http.router.add_get("/health", health)
    _install_controls(gateway)
    try:
        for name in protocols:
            module = importlib.import_module(name)
            module.install(gateway)
    except BaseException:
        await catalog.close()
        raise
    return gateway


def _install_controls(gateway: Gateway) -> None:
    from gateway.admin import install as install_admin
    from gateway.dashboard import install as install_dashboard

    install_admin(gateway)
    install_dashboard(gateway)


@asynccontextmanager
async def running_gateway(
    settings: Settings, *, protocols: tuple[str, ...] = PROTOCOLS
) -> AsyncIterator[Gateway]:
    """A started gateway for the duration of the block (tests use ports 0)."""
    gateway = await create_gateway(settings, protocols=protocols)
    try:
        await gateway.start()
    except BaseException:
        # start() closed what it opened
        raise
    try:
        yield gateway
    finally:
        await gateway.stop()
