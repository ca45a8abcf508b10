"""The web console at `/`: search, records, libraries, traffic and controls as server-rendered pages.

Pages are Jinja2 templates (autoescaped: no record content can become markup) rendered by
aiohttp-jinja2; they read without JavaScript, and one small script makes the traffic table live.
Sections for features that not every gateway has (record matching and merge, ILL requests,
harvests, the authority base) appear when the gateway serves them: `features` looks at the
routes installed, so the console needs no change when such a feature is switched on or off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.emulator.console import actions, frame, optional, pages
from gateway.emulator.host import Gateway

HERE: Final = Path(__file__).resolve().parent
STATIC_PREFIX: Final = "/console/static"
STATIC_TYPES: Final = {".css": "text/css", ".js": "text/javascript"}


def _read_folder(folder: Path, suffixes: tuple[str, ...]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in suffixes}


# Read once, when the module is imported: no page ever waits on the disk for a template.
TEMPLATES: Final = {
    name: data.decode("utf-8")
    for name, data in _read_folder(HERE / "templates", (".html",)).items()
}
STATIC: Final = _read_folder(HERE / "static", tuple(STATIC_TYPES))


def install(gateway: Gateway) -> None:
    """The console's routes, templates and stylesheet on the gateway's HTTP application."""

    app = gateway.http
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.DictLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.filters["utc"] = frame.utc
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}"
    router = app.router
    router.add_get(STATIC_PREFIX + "/{name}", static_file)
    router.add_get("/", pages.home)
    router.add_get("/search", pages.search)
    router.add_get("/records/{id}", pages.record)
    router.add_post("/records/{id}/match", optional.match)
    router.add_post("/records/{id}/merge", optional.merge)
    router.add_get("/libraries", pages.libraries)
    router.add_get("/traffic", pages.traffic)
    router.add_get("/traffic/rows", pages.traffic_rows)
    router.add_get("/traffic/{number}", pages.traffic_entry)
    router.add_get("/controls", actions.controls)
    router.add_post("/controls/{action}", actions.act)
    router.add_get("/login", actions.login_form)
    router.add_post("/login", actions.login)
    router.add_post("/logout", actions.logout)


async def static_file(request: web.Request) -> web.Response:
    """The stylesheet and the traffic script, from memory."""
    name = request.match_info["name"]
    data = STATIC.get(name)
    if data is None:
        raise web.HTTPNotFound(text="no such file")
    return web.Response(
        body=data,
        content_type=STATIC_TYPES[Path(name).suffix],
        charset="utf-8",
        headers={"Cache-Control": "max-age=300"},
    )
