"""Harvests on a running gateway: `POST /_admin/harvests` starts one in the background, `GET` shows progress and reports."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Final

from aiohttp import web

from gateway import harvesting
from gateway.emulator.host import GATEWAY_KEY, Gateway
from gateway.emulator.singletons import SingletonLock, singleton_lock
from gateway.errors import LibraryNotFoundError

log = logging.getLogger("melinda.harvesting")

PREFIX: Final = "/_admin/harvests"
RUNNING_KEY: web.AppKey[dict[int, harvesting.Harvester]] = web.AppKey("harvests")
_TASKS_KEY: web.AppKey[list[asyncio.Task[None]]] = web.AppKey("harvest tasks")
_FIELDS: Final = ("url", "library", "set", "from", "until", "metadata_prefix")
_PREFIXES: Final = ("marc21", "marcxml")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _spec(body: Any) -> harvesting.HarvestSpec:
    """The harvest a request asks for; ValueError says what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    for name in _FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValueError(f"{name} must be a string")
    url = (body.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("url: the source's OAI-PMH base URL (http or https)")
    library = (body.get("library") or "").strip().upper()
    if not library:
        raise ValueError("library: the joining library's code")
    prefix = (body.get("metadata_prefix") or "marc21").strip()
    if prefix not in _PREFIXES:
        raise ValueError(f"metadata_prefix: one of {', '.join(_PREFIXES)}")
    return harvesting.HarvestSpec(
        url=url,
        library=library,
        metadata_prefix=prefix,
        set=body.get("set") or None,
        from_=body.get("from") or None,
        until=body.get("until") or None,
    )


async def start(request: web.Request) -> web.Response:
    """Start (or resume) a harvest; 202 with its id and where to follow it."""
    gateway = request.app[GATEWAY_KEY]
    running = request.app[RUNNING_KEY]
    body = await request.read()
    try:
        spec = _spec(json.loads(body or b"null"))
    except ValueError as exc:  # json.JSONDecodeError is one
        return _error(
            400, f'expected {{"url": URL, "library": CODE, "set"?, "from"?, "until"?}}: {exc}'
        )
    for harvester in running.values():
        run = harvester.run
        if (run["library"], run["url"], run["metadata_prefix"], run["set"] or "") == spec.key():
            return _error(409, f"harvest {run['id']} of this source is running")
    lock = None
    if gateway.singleton_lock is not None:
        # several processes: one runs a source's harvest; when it dies, any may resume it
        lock = singleton_lock(gateway.catalog.store, gateway.settings.data_dir, _lock_name(spec))
        if not await lock.try_take():
            return _error(409, "a harvest of this source is running in another gateway process")
    try:
        run = await harvesting.prepare_run(gateway.catalog, spec)
    except BaseException as exc:
        if lock is not None:
            await lock.release()
        if isinstance(exc, LibraryNotFoundError):
            return _error(404, str(exc))
        raise
    harvester = harvesting.Harvester(gateway.catalog, run)
    running[run["id"]] = harvester
    task = asyncio.create_task(
        _run(gateway, running, harvester, lock), name=f"harvest {run['id']}"
    )
    tasks = request.app[_TASKS_KEY]
    tasks[:] = [t for t in tasks if not t.done()]
    tasks.append(task)
    return web.json_response(
        {"id": run["id"], "state": run["state"], "href": f"{PREFIX}/{run['id']}"}, status=202
    )


def _lock_name(spec: harvesting.HarvestSpec) -> str:
    """The singleton lock of one source's harvests (library, URL, format, set)."""
    return "harvest-" + hashlib.sha256(repr(spec.key()).encode()).hexdigest()[:16]


async def _run(
    gateway: Gateway,
    running: dict[int, harvesting.Harvester],
    harvester: harvesting.Harvester,
    lock: SingletonLock | None = None,
) -> None:
    run = harvester.run
    try:
        report = await harvester()
    except Exception as exc:  # a harvest's own failure is in its report; this is a bug's
        log.exception("harvest %s broke", run["id"])
        report = {**run, "state": "failed", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        running.pop(run["id"], None)
        if lock is not None:
            await lock.release()
    c = report["counts"]
    gateway.journal.record(
        "admin",
        "harvest",
        parameters={"id": run["id"], "library": run["library"], "url": run["url"]},
        outcome=(
            f"{report['state']}: {c['seen']} records, created {c['created']}, merged"
            f" {c['merged']}, updated {c['updated']}, LOW removed {c['low_removed']},"
            f" rejected {c['rejected']}"
        ),
        duration_ms=float(report.get("seconds") or 0) * 1000,
    )


def _shown(report: dict[str, Any], running: dict[int, harvesting.Harvester]) -> dict[str, Any]:
    shown = harvesting.report(report)
    shown["active"] = report["id"] in running
    return shown


async def listing(request: web.Request) -> web.Response:
    running = request.app[RUNNING_KEY]
    runs = await request.app[GATEWAY_KEY].catalog.harvest_runs()
    # A running harvest's latest progress is in memory between its page commits.
    shown = [_shown(running[r["id"]].run if r["id"] in running else r, running) for r in runs]
    return web.json_response({"harvests": shown})


def _harvest_id(request: web.Request) -> int | None:
    text = request.match_info["id"]
    return int(text) if text.isdigit() else None


async def one(request: web.Request) -> web.Response:
    running = request.app[RUNNING_KEY]
    harvest_id = _harvest_id(request)
    if harvest_id in running:
        return web.json_response(_shown(running[harvest_id].run, running))
    run = (
        None
        if harvest_id is None
        else await request.app[GATEWAY_KEY].catalog.harvest_run(harvest_id)
    )
    if run is None:
        return _error(404, f"no harvest {request.match_info['id']}")
    return web.json_response(_shown(run, running))


async def stop(request: web.Request) -> web.Response:
    """Stop a running harvest after the page in hand; it stays resumable."""
    running = request.app[RUNNING_KEY]
    harvest_id = _harvest_id(request)
    if harvest_id is None or harvest_id not in running:
        return _error(409, f"harvest {request.match_info['id']} is not running")
    running[harvest_id].stop()
    return web.json_response({"id": harvest_id, "stopping": True}, status=202)


async def _stop_all(app: web.Application) -> None:
    """On shutdown every running harvest stops after its page; the next start resumes it."""
    for harvester in app[RUNNING_KEY].values():
        harvester.stop()
    tasks = [t for t in app[_TASKS_KEY] if not t.done()]
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=30)
        for task in pending:  # stuck in a request: the run notes itself stopped as it ends
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)


def install(gateway: Gateway) -> None:
    app = gateway.http
    app[RUNNING_KEY] = {}
    app[_TASKS_KEY] = []
    app.on_shutdown.append(_stop_all)
    app.router.add_post(PREFIX, start)
    app.router.add_get(PREFIX, listing)
    app.router.add_get(f"{PREFIX}/{{id}}", one)
    app.router.add_post(f"{PREFIX}/{{id}}/stop", stop)
