"""The running gateway: its catalog, settings, HTTP application, listeners, journal and faults
(built by `gateway.emulator.app`; protocols see it through the interfaces in `protocols.host`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import web

from gateway.catalog import Catalog
from gateway.emulator.faults import Faults
from gateway.emulator.journal import Journal
from gateway.emulator.settings import Settings
from protocols.host import BodyParameterReader, FaultRenderer, RunningServer, ServerStarter

log = logging.getLogger("melinda.gateway")

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")


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
    _runner: web.AppRunner | None = None
    bound_host: str = ""  # the address the HTTP socket got (the host setting resolved)

    def add_server(self, name: str, start: ServerStarter) -> None:
        """Register a non-HTTP listener (Z39.50, SFTP); it is started with the gateway."""
        self.starters[name] = start

    @property
    def http_url(self) -> str:
        return f"http://{url_host(self.bound_host or self.settings.host)}:{self.ports['http']}"

    def urls(self) -> dict[str, str]:
        """Connection strings of every running interface, naming the address actually bound."""
        host = url_host(self.bound_host or self.settings.host)
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
        """Listen on every port; if one cannot be had, close everything (the store too) and
        raise ListenError naming it."""
        try:
            self._runner = web.AppRunner(self.http, handle_signals=False, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.host, self.settings.http_port)
            try:
                await site.start()
            except OSError as exc:
                raise ListenError("http", self.settings.host, self.settings.http_port, exc) from exc
            self.ports["http"], self.bound_host = bound_address(site)
            for name, start in self.starters.items():
                try:
                    server = await start(self)
                except OSError as exc:
                    port = int(getattr(self.settings, f"{name}_port", 0))
                    raise ListenError(name, self.settings.host, port, exc) from exc
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


class ListenError(OSError):
    """A port the gateway could not listen on: which interface, which address, why."""

    def __init__(self, interface: str, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, f"{host}:{port} ({interface}): {cause.strerror or cause}")
        self.interface = interface
        self.host = host
        self.port = port
        self.cause = cause


def url_host(host: str) -> str:
    """A host to connect to: a wildcard address is reached on loopback."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def bound_address(site: web.TCPSite) -> tuple[int, str]:
    """(port, address) of the site's first socket: port 0 and host names resolved."""
    server = site._server  # aiohttp keeps the asyncio server here; the public name gives none
    assert isinstance(server, asyncio.base_events.Server)
    name = server.sockets[0].getsockname()
    return int(name[1]), str(name[0])
