"""Builds the whole gateway from Settings: the catalog, the HTTP site and every protocol listener."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import cast

from aiohttp import web

from gateway.catalog import Catalog
from gateway.emulator import admin, console, logs
from gateway.emulator.faults import Faults
from gateway.emulator.host import GATEWAY_KEY, Gateway
from gateway.emulator.journal import Journal
from gateway.emulator.settings import Settings
from gateway.emulator.shared import SharedState, SharedStore
from gateway.emulator.singletons import shares_database, singleton_lock
from gateway.emulator.worker_sync import WorkerSync
from gateway.store.postgresql import PostgresSharedState, PostgresStore, ReadOnlyDatabaseError
from protocols import host as protocol_host
from protocols.host import ListenerShare

MAX_HTTP_BODY_BYTES = 1024 * 1024
PROCESS_NUMBERS = "gateway processes"  # a shared counter: each process on a database its number

log = logging.getLogger("melinda.gateway")

# One line per protocol: each module has `install(gateway)` that adds routes or a listener.
PROTOCOLS: tuple[str, ...] = (
    "protocols.xserver",
    "protocols.oaipmh",
    "protocols.sru",
    "protocols.z3950",
    "protocols.sftp",
    "protocols.iso18626",
)


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


async def health(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    live, deleted = await gateway.catalog.record_counts()
    return web.json_response(
        {
            "status": "ok",
            "records": live,
            "deleted": deleted,
            "interfaces": gateway.urls(),
            "worker": gateway.worker,
            "pid": os.getpid(),
        }
    )


async def create_gateway(
    settings: Settings,
    *,
    protocols: tuple[str, ...] = PROTOCOLS,
    worker: int | None = None,
    sockets: dict[str, socket.socket] | None = None,
    shares: Mapping[str, ListenerShare] | None = None,
) -> Gateway:
    """Open the store and install every protocol; call `start()` to listen.

    `worker`: this process is that worker of `serve --workers N`, listening on the handed
    `sockets` and sharing the store and the workers' shared state with the others; `shares`:
    how it shares the accepting of those sockets that every worker accepts on.
    """
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    if not settings.secret:
        settings = dataclasses.replace(
            settings, secret=await asyncio.to_thread(_data_dir_secret, settings)
        )
    catalog = await Catalog.open(settings.store)
    # several processes serve this catalog: the workers of this one, or any number on one
    # PostgreSQL database (on any host), which then share the state in the database
    on_database = shares_database(catalog.store)
    several = worker is not None or on_database
    shared: SharedStore | None = None
    process = worker or 0  # numbers this process's fault ids apart from the others'
    if several:
        try:
            if on_database:
                shared = PostgresSharedState(cast(PostgresStore, catalog.store))
                try:
                    process = await shared.next_number(PROCESS_NUMBERS, wrap=2000) - 1
                except ReadOnlyDatabaseError:
                    # a read replica: this process serves reads and keeps its state to itself
                    log.warning("the database refuses writes (a replica?): no state shared")
                    shared, several = None, worker is not None
                    if several:
                        shared = await SharedState.open(settings.data_dir)
            else:
                shared = await SharedState.open(settings.data_dir)
        except BaseException:
            await catalog.close()
            raise
    # Every HTTP request of real use is a few KB (an update-doc at most ~160 KB); the admin seed
    # streams its body past this cap. A larger body is refused in each protocol's own terms.
    http = web.Application(client_max_size=MAX_HTTP_BODY_BYTES)
    journal = Journal(settings.journal_size, on_record=logs.access)
    # a worker's fault ids come from its own range: ids stay unique across the workers
    faults = Faults(first_id=1 + process * 1_000_000)
    gateway = Gateway(
        settings=settings,
        catalog=catalog,
        http=http,
        journal=journal,
        faults=faults,
        worker=worker,
        sockets=dict(sockets or {}),
        shares=dict(shares or {}),
        shared=shared,
        sync=None if shared is None else WorkerSync(shared, journal, faults, worker or 0),
        singleton_lock=singleton_lock(catalog.store, settings.data_dir) if several else None,
    )
    http[GATEWAY_KEY] = gateway
    http[protocol_host.GATEWAY_KEY] = gateway  # the same gateway, as protocols see it
    http.router.add_get("/health", health)
    _install_controls(gateway)
    _install_relinks(gateway)
    try:
        for name in protocols:
            module = importlib.import_module(name)
            module.install(gateway)
    except BaseException:
        await catalog.close()
        if shared is not None:
            await shared.close()
        raise
    return gateway


def _install_controls(gateway: Gateway) -> None:
    admin.install(gateway)
    console.install(gateway)


RELINK_RETRY_SECONDS = 10.0


def _install_relinks(gateway: Gateway) -> None:
    """Asteri's linking jobs that a stop or crash cut short are finished at start, by the
    process that runs the singleton work (one job run twice at once would only waste work)."""
    running: list[asyncio.Task[None]] = []

    async def finish() -> None:
        while True:
            try:
                done = await gateway.catalog.authorities.resume_relinks()
            except Exception:  # the store away for a moment: try again, the jobs wait
                log.exception("finishing Asteri's linking jobs failed; trying again")
                await asyncio.sleep(RELINK_RETRY_SECONDS)
                continue
            if done:
                log.info("finished %d Asteri linking job(s) left from before", done)
            return

    async def start() -> None:
        running.append(asyncio.create_task(finish(), name="asteri-relinks"))

    async def stop() -> None:
        while running:
            task = running.pop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    gateway.add_singleton_job("asteri-relinks", start, stop)


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
