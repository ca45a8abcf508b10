"""The console's reading pages: home and search, a record, libraries, traffic and one request."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiohttp import web

from gateway.emulator import ill_admin
from gateway.emulator.console import chart, marc
from gateway.emulator.console.frame import admin_ok, base_context, gateway_of, render, when
from gateway.emulator.host import Gateway, url_host
from gateway.emulator.journal import INTERFACES, Entry, Journal
from gateway.errors import QueryError, RecordNotFoundError
from gateway.model import View
from gateway.query import Query
from protocols.sru.cql import compile_query, parse_cql

PAGE_SIZE: Final = 20
RECENT_CHANGES: Final = 10
TRAFFIC_ROWS: Final = 100
REPORTS_SHOWN: Final = 10
HARVESTS_SHOWN: Final = 20


def _not_found(request: web.Request, current: str, title: str, message: str) -> web.Response:
    """The console's 404 page, under the section `current`."""
    return render(
        request,
        "error.html",
        base_context(request, current, title=title, message=message),
        status=404,
    )


# --- home and search ---------------------------------------------------------------------
def compile_search(text: str) -> Query:
    """A CQL query, or plain words (anything CQL cannot parse) searched in every index."""
    try:
        parsed = parse_cql(text)
    except QueryError:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        parsed = parse_cql(f'cql.serverChoice all "{escaped}"')
    query, _sort = compile_query(parsed)
    return query


async def home(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    catalog = gateway.catalog
    live, deleted = await catalog.record_counts()
    authorities, _deleted_authorities = await catalog.authorities.record_counts()
    libraries = await catalog.libraries()
    changes = await catalog.significant_changes(limit=RECENT_CHANGES)
    return render(
        request,
        "home.html",
        base_context(
            request,
            "search",
            records=live,
            deleted=deleted,
            authorities=authorities,
            library_count=len(libraries),
            changes=changes,
            interfaces=gateway.urls(),
            query="",
        ),
    )


async def search(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    text = request.query.get("q", "").strip()
    if not text:
        raise web.HTTPSeeOther("/")
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    error = ""
    summaries: list[marc.Summary] = []
    total = 0
    try:
        query = compile_search(text)
        found, stored = await gateway.catalog.search_page(
            query, start=(page - 1) * PAGE_SIZE + 1, count=PAGE_SIZE
        )
        total = len(found)
        summaries = [marc.summary(s.melinda_id, s.record(), deleted=s.deleted) for s in stored]
        hits = found.total
    except QueryError as exc:
        error = str(exc) or type(exc).__name__
        hits = 0
    pages = max(1, -(-total // PAGE_SIZE))

    def page_link(n: int) -> str:
        return "/search?" + urlencode({"q": text, "page": n})

    return render(
        request,
        "search.html",
        base_context(
            request,
            "search",
            query=text,
            error=error,
            results=summaries,
            hits=hits,
            capped=total < hits,
            page=page,
            pages=pages,
            first=(page - 1) * PAGE_SIZE + 1,
            previous_link=page_link(page - 1) if page > 1 else "",
            next_link=page_link(page + 1) if page < pages else "",
        ),
        status=400 if error else 200,
    )


# --- a record ----------------------------------------------------------------------------
def record_links(gateway: Gateway, melinda_id: str) -> dict[str, str]:
    """The same record over each interface, as a client would ask for it."""
    http = gateway.http_url
    prefix = gateway.settings.oai_identifier_prefix
    links = {
        "SRU (fin01)": f"{http}/sru/bib?query={quote(f'rec.id={melinda_id}')}",
        "SRU (fin01alma)": f"{http}/sru/fin01alma?query={quote(f'rec.id={melinda_id}')}",
        "OAI-PMH GetRecord": f"{http}/oai-pmh/bib?"
        + urlencode(
            {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": prefix + melinda_id}
        ),
        "X-server find-doc": f"{http}/X?"
        + urlencode({"op": "find-doc", "doc_num": melinda_id, "base": "fin01"}),
    }
    return links


def z3950_command(gateway: Gateway, melinda_id: str) -> str:
    if "z3950" not in gateway.ports:
        return ""
    host = url_host(gateway.settings.host)
    return (
        f"yaz-client {host}:{gateway.ports['z3950']}/fin01\n"
        f"Z> find @attr 1=12 {melinda_id}\nZ> show 1"
    )


async def record(request: web.Request) -> web.Response:
    return await record_page(request)


async def record_page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    """The record page; `extra` carries what an action on the record answered."""
    gateway = gateway_of(request)
    text = request.match_info["id"].strip()
    if not text.isdigit() or len(text) > 9:
        return _not_found(
            request,
            "search",
            "Not a Melinda ID",
            f"{text!r} is not a Melinda ID (up to 9 digits).",
        )
    record_id = int(text)
    try:
        fin01 = await gateway.catalog.get(record_id, View.FIN01)
        alma = await gateway.catalog.get(record_id, View.FIN01ALMA)
    except RecordNotFoundError:
        return _not_found(
            request,
            "search",
            "No such record",
            f"There is no record {record_id:09d}.",
        )
    native, alma_record = fin01.record(), alma.record()
    left, right = marc.line_format(native), marc.line_format(alma_record)
    changes = await gateway.catalog.significant_changes(limit=100, record_id=record_id)
    return render(
        request,
        "record.html",
        base_context(
            request,
            "search",
            stored=fin01,
            summary=marc.summary(fin01.melinda_id, native, deleted=fin01.deleted),
            lines=left,
            rows=marc.side_by_side(left, right),
            sids=marc.sid_pairs(native),
            cats=marc.cat_history(native),
            changes=changes,
            links=record_links(gateway, fin01.melinda_id),
            z3950=z3950_command(gateway, fin01.melinda_id),
            updated=when(fin01.datestamp),
            **{"matching": None, "merge_message": "", "merge_error": "", **extra},
        ),
        status=status,
    )


# --- libraries ---------------------------------------------------------------------------
def key_summary(key: str) -> str:
    """An OpenSSH public key as its type, SHA256 fingerprint and comment."""
    parts = key.split()
    if len(parts) < 2:
        return key[:40]
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return key[:40]
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    comment = " ".join(parts[2:])
    return f"{parts[0]} SHA256:{digest}" + (f" ({comment})" if comment else "")


def _read_reports(reports: Path, limit: int) -> list[dict[str, Any]]:
    """The newest publishing reports of one library (JSON form), newest first."""
    if not reports.is_dir():
        return []
    found = sorted(reports.glob("*.report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    out = []
    for path in found[:limit]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


async def libraries(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    catalog = gateway.catalog
    found = await catalog.libraries()
    counts = await catalog.low_counts()
    sftp_root = gateway.settings.data_dir / "sftp"
    rows = []
    for library in found:
        reports = await asyncio.to_thread(
            _read_reports, sftp_root / library.code / "reports", REPORTS_SHOWN
        )
        rows.append(
            {
                "library": library,
                "low_counts": [(code, counts.get(code.upper(), 0)) for code in library.lows],
                "ssh_keys": [key_summary(k) for k in library.ssh_keys],
                "publishing": reports,
            }
        )
    harvests = await catalog.harvest_runs(HARVESTS_SHOWN)
    loans = await ill_admin.latest_requests(gateway) if admin_ok(request) else None
    listed = {code.upper() for library in found for code in library.lows}
    others = sorted((code, n) for code, n in counts.items() if code.upper() not in listed)
    return render(
        request,
        "libraries.html",
        base_context(
            request,
            "libraries",
            rows=rows,
            others=others,
            harvests=harvests,
            loans=loans,
        ),
    )


# --- traffic -----------------------------------------------------------------------------
def user_of(entry: Entry) -> str:
    """The user or library a request names (the journal finds it in the request)."""
    return entry.user


def failed(entry: Entry) -> bool:
    return entry.outcome != "ok"


def traffic_filters(query: Mapping[str, str]) -> dict[str, str]:
    wanted = {
        name: query.get(name, "").strip() for name in ("interface", "operation", "user", "outcome")
    }
    if wanted["interface"] not in INTERFACES:
        wanted["interface"] = ""
    if wanted["outcome"] not in ("ok", "failed"):
        wanted["outcome"] = ""
    return wanted


async def whole_journal(gateway: Gateway) -> Journal:
    """This process's journal, or with several workers every worker's."""
    return gateway.journal if gateway.sync is None else await gateway.sync.whole_journal()


def filtered_entries(journal: Journal, wanted: Mapping[str, str], after: int = 0) -> list[Entry]:
    """Matching journal entries, newest first, at most TRAFFIC_ROWS."""
    operation = wanted["operation"].lower()
    user = wanted["user"].upper()
    out: list[Entry] = []
    for entry in reversed(journal.entries(interface=wanted["interface"] or None)):
        if entry.number <= after:
            break
        if operation and operation not in entry.operation.lower():
            continue
        if user and user_of(entry) != user:
            continue
        if wanted["outcome"] and failed(entry) != (wanted["outcome"] == "failed"):
            continue
        out.append(entry)
        if len(out) >= TRAFFIC_ROWS:
            break
    return out


def _refused(request: web.Request, current: str) -> web.Response:
    gateway = gateway_of(request)
    return render(
        request,
        "signin_needed.html",
        base_context(request, current, token_set=bool(gateway.settings.admin_token)),
        status=401 if gateway.settings.admin_token else 403,
    )


async def traffic(request: web.Request) -> web.Response:
    if not admin_ok(request):
        return _refused(request, "traffic")
    gateway = gateway_of(request)
    journal = await whole_journal(gateway)
    wanted = traffic_filters(request.query)
    entries = filtered_entries(journal, wanted)
    everything = journal.entries()
    latency = chart.latency_table(everything)
    return render(
        request,
        "traffic.html",
        base_context(
            request,
            "traffic",
            entries=entries,
            user_of=user_of,
            failed=failed,
            wanted=wanted,
            interfaces=INTERFACES,
            journal_size=len(everything),
            journal_capacity=journal.size,
            latest=everything[-1].number if everything else 0,
            requests_svg=chart.requests_chart(everything, time.time()),
            latency_svg=chart.latency_chart(latency),
            latency=latency,
            filter_query=urlencode({k: v for k, v in wanted.items() if v}),
        ),
    )


async def traffic_rows(request: web.Request) -> web.Response:
    """The rows newer than `after` (the live table's poll); 204 when there are none."""
    if not admin_ok(request):
        return web.Response(status=401)
    gateway = gateway_of(request)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        after = 0
    journal = await whole_journal(gateway)
    entries = filtered_entries(journal, traffic_filters(request.query), after=after)
    newest = journal.entries(limit=1)
    response = render(
        request,
        "traffic_rows.html",
        base_context(request, "traffic", entries=entries, user_of=user_of, failed=failed),
    )
    response.headers["X-Journal-Latest"] = str(newest[0].number if newest else after)
    return response


async def traffic_entry(request: web.Request) -> web.Response:
    if not admin_ok(request):
        return _refused(request, "traffic")
    gateway = gateway_of(request)
    text = request.match_info["number"]
    number = int(text) if text.isdigit() else -1
    journal = await whole_journal(gateway)
    entry = next((e for e in reversed(journal.entries()) if e.number == number), None)
    if entry is None:
        return _not_found(
            request,
            "traffic",
            "No such request",
            f"The journal holds no request {text} (it keeps the last {gateway.journal.size:,}).",
        )
    return render(
        request,
        "entry.html",
        base_context(request, "traffic", entry=entry, user=user_of(entry), failed=failed(entry)),
    )
