"""The dashboard at `/`: one server-rendered page of counts, holdings, changes, journal and controls."""

from __future__ import annotations

import time
from html import escape
from typing import Any, Final

from aiohttp import web

from gateway.emulator.host import GATEWAY_KEY, Gateway
from gateway.emulator.ill_admin import dashboard_section as ill_section

RECENT: Final = 20

STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; max-width: 80rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #eee; vertical-align: top; }
code { background: #f4f4f4; padding: 0.1rem 0.3rem; }
.counts span { display: inline-block; margin-right: 2rem; font-size: 1.2rem; }
.counts b { font-size: 1.6rem; }
form { display: inline-block; margin: 0.2rem 0.6rem 0.2rem 0; }
.fail { color: #a00; }
"""


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + "Z"


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    if not rows:
        return f'<table id="{table_id}"><tr>{head}</tr><tr><td colspan="{len(headers)}">none yet</td></tr></table>'
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'


def _change_fields(fields: list[dict[str, Any]]) -> str:
    return ", ".join(escape(str(f.get("tag", ""))) for f in fields)


def _form(action: str, label: str, hidden: dict[str, str] | None = None, extra: str = "") -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in (hidden or {}).items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{inputs}{extra}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


async def render(gateway: Gateway) -> str:
    """The whole page as HTML (no scripts: every action is a plain form post)."""
    catalog = gateway.catalog
    live, deleted = await catalog.record_counts()
    authorities, _deleted_authorities = await catalog.authorities.record_counts()
    lows = await catalog.low_counts()
    changes = await catalog.significant_changes(limit=RECENT)
    libraries = await catalog.libraries()
    harvest_runs = await catalog.harvest_runs(RECENT)
    settings = gateway.settings
    controls_open = not settings.shared
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Melinda gateway</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Melinda gateway</h1>",
        '<p class="counts">'
        f'<span>Records <b id="count-records">{live}</b></span>'
        f'<span>Deleted <b id="count-deleted">{deleted}</b></span>'
        f'<span>Authorities (fin11) <b id="count-authorities">{authorities}</b></span>'
        f'<span>Libraries <b id="count-libraries">{len(libraries)}</b></span></p>',
        "<h2>Interfaces</h2>",
        _table(
            ["Interface", "Connection"],
            [[escape(name), f"<code>{escape(url)}</code>"] for name, url in gateway.urls().items()],
            "interfaces",
        ),
        "<h2>LOWs per library</h2>",
        _table(
            ["LOW", "Records"],
            [[escape(code), str(count)] for code, count in sorted(lows.items())],
            "lows",
        ),
        "<h2>Harvests</h2>",
        _table(
            ["Harvest", "Library", "Source", "State", "Records", "Created", "Merged", "Rejected"],
            [
                [
                    f'<a href="/_admin/harvests/{int(h["id"])}">{int(h["id"])}</a>',
                    escape(str(h["library"])),
                    f"<code>{escape(str(h['url']))}</code>",
                    escape(str(h["state"])),
                    str(h["counts"]["seen"]),
                    str(h["counts"]["created"]),
                    str(h["counts"]["merged"]),
                    str(h["counts"]["rejected"]),
                ]
                for h in harvest_runs
            ],
            "harvests",
        ),
        "<h2>Latest significant changes</h2>",
        _table(
            ["Seq", "Record", "When", "User", "Library", "Fields"],
            [
                [
                    str(c["seq"]),
                    f'<code class="record">{escape(str(c["record"]))}</code>',
                    escape(str(c["at"])),
                    escape(str(c["user"])),
                    escape(str(c["library"])),
                    _change_fields(c["fields"]),
                ]
                for c in changes
            ],
            "changes",
        ),
        await ill_section(gateway),
    ]
    if controls_open:
        entries = gateway.journal.entries(limit=RECENT)
        entries.reverse()
        parts += [
            "<h2>Latest requests</h2>",
            _table(
                ["When", "Interface", "Client", "Operation", "Outcome", "ms"],
                [
                    [
                        _when(e.time),
                        escape(e.interface),
                        escape(e.client),
                        escape(e.operation),
                        f'<span class="{"" if e.outcome == "ok" else "fail"}">{escape(e.outcome)}</span>',
                        f"{e.duration_ms:.1f}",
                    ]
                    for e in entries
                ],
                "journal",
            ),
            '<p><a href="/_admin/journal">the whole journal (JSON)</a> · '
            '<a href="/_admin/changes">the change feed (JSON)</a> · '
            '<a href="/_admin/faults">active faults (JSON)</a> · '
            '<a href="/_admin/snapshots">snapshots (JSON)</a> · '
            '<a href="/_admin/harvests">harvests (JSON)</a></p>',
            "<h2>Controls</h2>",
            _form("/_admin/reset?next=/", "Empty the store"),
            _form("/_admin/reset?next=/&demo=1", "Reset to the demo data"),
            _form("/_admin/journal/clear?next=/", "Clear the journal"),
            _form("/_admin/faults/clear?next=/", "Clear faults"),
            _form(
                "/_admin/faults?next=/",
                "Inject fault",
                extra=(
                    '<select name="interface">'
                    + "".join(
                        f"<option>{i}</option>"
                        for i in ("sru", "xserver", "oai-pmh", "z3950", "sftp")
                    )
                    + '</select> <select name="kind"><option>error</option><option>latency</option>'
                    "<option>drop</option></select> "
                    '<label>operation <input name="operation" value="*" size="12"></label> '
                    '<label>next N requests <input name="count" value="1" size="3"></label> '
                    '<label>latency ms <input name="latency_ms" value="500" size="6"></label> '
                ),
            ),
            _form(
                "/_admin/snapshots/dashboard?next=/",
                "Take snapshot 'dashboard'",
            ),
            _form("/_admin/snapshots/dashboard/restore?next=/", "Restore snapshot 'dashboard'"),
            # the Merge program (no record page here: the two ids are typed in)
            "<h2>Merge duplicates</h2>",
            _form(
                "/_admin/merge?next=/",
                "Merge",
                extra=(
                    '<label>keep <input name="preferred" size="10" required></label> '
                    '<label>merge into it <input name="other" size="10" required></label> '
                    '<label>as library user <input name="user" size="8" required></label> '
                ),
            ),
        ]
    else:
        parts.append(
            "<p>This gateway is shared: the journal and the admin actions need the admin token "
            "(<code>Authorization: Bearer …</code> on <code>/_admin/</code>).</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


async def dashboard(request: web.Request) -> web.Response:
    html = await render(request.app[GATEWAY_KEY])
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def install(gateway: Gateway) -> None:
    gateway.http.router.add_get("/", dashboard)
