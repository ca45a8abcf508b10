"""The emulator's own controls over HTTP: the journal/fault middleware and the `/_admin/` JSON API."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import json
import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, cast

import pymarc
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.typedefs import Middleware

from gateway.emulator import harvests
from gateway.emulator.faults import Fault, FaultSpecError
from gateway.emulator.host import GATEWAY_KEY, Gateway
from gateway.emulator.ill_admin import install as install_ill_admin
from gateway.emulator.journal import INTERFACES
from protocols import forms
from protocols.host import BodyParameterReader, Timer

log = logging.getLogger("melinda.admin")

ADMIN_PREFIX: Final = "/_admin"
# The console's sign-in (shared mode): SameSite=Strict, so no other site's form can use it.
ADMIN_COOKIE: Final = "melinda_admin"
SEED_BATCH: Final = 1000
MAX_SEED_COUNT: Final = 1_000_000
# A record body is spooled to disk and read in batches, so only disk bounds it; JSON is tiny.
MAX_SEED_BODY_BYTES: Final = 4 << 30
MAX_SEED_JSON_BYTES: Final = 64 * 1024
SEED_CHUNK: Final = 1 << 20
MAX_REJECTED_LISTED: Final = 1000  # a body of a million bad records answers with the first ones
# Bodies up to this size are read by the middleware to learn the operation (X-server and SRU
# POST their parameters); larger ones are left to the protocol, which has its own limits.
MAX_PEEK_BYTES: Final = 1024 * 1024
_SNAPSHOT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "")
_XML_TYPES: Final = ("text/xml", "application/xml", "application/soap+xml")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- the journal and fault middleware -------------------------------------------------------
def interface_of(path: str) -> str | None:
    """Which protocol serves this path (None: the console, health and unknown paths)."""
    if path.startswith("/sru/"):
        return "sru"
    if path == "/X" or path.startswith("/X/"):
        return "xserver"
    if path.startswith("/oai-pmh/"):
        return "oai-pmh"
    if path.startswith(ADMIN_PREFIX + "/") or path == ADMIN_PREFIX:
        return "admin"
    return None


def operation_of(interface: str, method: str, path: str, params: Mapping[str, str]) -> str:
    """The request's operation in its protocol's words (SRU operation, OAI verb, X op)."""
    if interface == "sru":
        given = params.get("operation", "").strip()
        if given:
            return given
        if "query" in params:
            return "searchRetrieve"  # SRU 2.0 lets the operation be implied by its parameters
        if "scanClause" in params:
            return "scan"
        return "explain"
    if interface == "xserver":
        return params.get("op", "").strip().lower().replace("_", "-") or "(none)"
    if interface == "oai-pmh":
        return params.get("verb", "").strip() or "(none)"
    return f"{method} {path[len(ADMIN_PREFIX) :] or '/'}"


async def _request_parameters(
    request: web.Request, body_reader: BodyParameterReader | None = None
) -> dict[str, str]:
    """Query and form parameters, read without taking the body away from the protocol."""
    params: dict[str, str] = {}
    try:
        pairs = list(request.query.items())
    except UnicodeDecodeError:
        pairs = []
    xml_body = body_reader is not None and request.content_type in _XML_TYPES
    json_body = request.content_type == "application/json"  # the admin API's own requests
    if (
        request.method == "POST"
        and (request.content_type in _FORM_TYPES or xml_body or json_body)
        and request.body_exists
    ):
        length = request.content_length
        if length is not None and length <= MAX_PEEK_BYTES:
            body = await request.read()
            # The X-server reads the raw stream itself: give it the same bytes again.
            # (a limit above the body's size: feeding it must not pause the real connection)
            limit = max(2**16, len(body) + 1)
            replay = StreamReader(request.protocol, limit, loop=asyncio.get_running_loop())
            replay.feed_data(body)
            replay.feed_eof()
            request._payload = replay
            if xml_body and body_reader is not None:
                pairs = list(body_reader(body).items()) + pairs
            elif json_body:
                pairs = json_parameters(body) + pairs
            else:
                charset = request.charset or "utf-8"
                with contextlib.suppress(
                    LookupError
                ):  # an unknown charset: the protocol answers it
                    pairs = forms.read_form(request, body, charset) + pairs
    for name, value in pairs:
        params.setdefault(name, value)
    if request.method == "POST" and request.body_exists and not params:
        # a body the journal cannot show as parameters (a MARCXML seed): its kind and size
        size = request.content_length
        params["body"] = (
            f"{request.content_type or 'unknown type'}, {size if size is not None else '?'} bytes"
        )
    return params


def json_parameters(body: bytes) -> list[tuple[str, str]]:
    """A JSON object's members as parameters (values other than text as JSON)."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [
        (str(name), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in data.items()
    ]


def client_of(request: web.Request) -> str:
    """ip:port of the caller; SRU relayed from the Z39.50 port names its origin in X-Forwarded-For."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not (isinstance(peer, tuple) and len(peer) >= 2):
        return request.remote or ""
    host = str(peer[0])
    forwarded = request.headers.get("X-Forwarded-For", "").strip()
    if forwarded and host in ("127.0.0.1", "::1"):  # only our own relay is believed
        return f"{forwarded} (via the Z39.50 port)"
    return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"


_SRU_DIAGNOSTIC: Final = re.compile(rb"info:srw/diagnostic/1/(\d+)")
_XSERVER_ERROR: Final = re.compile(rb"<error>([^<]{0,300})</error>")
_OAI_ERROR: Final = re.compile(rb'<error code="([A-Za-z]+)"')


def outcome_of(interface: str, response: web.StreamResponse) -> str:
    """The outcome to journal: "ok", or the error the client got, in its protocol's terms."""
    if response.status >= 400:
        return f"HTTP {response.status}"
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or len(body) > 4 * MAX_PEEK_BYTES:
        return "ok"
    if interface == "sru":
        found = _SRU_DIAGNOSTIC.search(body)
        return f"diagnostic {found.group(1).decode()}" if found else "ok"
    if interface == "xserver":
        found = _XSERVER_ERROR.search(body)
        if found is None:
            return "ok"
        text = found.group(1).decode("utf-8", "replace")
        # update-doc reports success in an <error> element too, as Aleph does
        return "ok" if "successfully" in text else f"error: {text}"
    if interface == "oai-pmh":
        found = _OAI_ERROR.search(body)
        return found.group(1).decode() if found else "ok"
    return "ok"


def response_excerpt(response: web.StreamResponse | None) -> str:
    """The start of an answer's body as text, for the journal ("" when streamed or absent)."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return ""
    head = response.body[:4000]  # the journal keeps 2,000 characters of it
    try:
        return head.decode(response.charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know: the bytes as UTF-8
        return head.decode("utf-8", "replace")


async def fault_response(
    gateway: Gateway, interface: str, request: web.Request, operation: str, fault: Fault
) -> web.StreamResponse:
    """The protocol's own error form, from the renderer it registered at install."""
    renderer = gateway.fault_renderers.get(interface)
    if renderer is not None:
        return await renderer(request, operation, fault)
    return web.Response(status=503, text=fault.message or "fault injected")


def journal_middleware(gateway: Gateway) -> Middleware:
    """One middleware for every HTTP protocol: journal each request, apply injected faults."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        interface = interface_of(request.path)
        if interface is None or (interface == "admin" and request.method == "GET"):
            return await handler(request)
        timer = Timer()
        params = await _request_parameters(request, gateway.body_parameter_readers.get(interface))
        operation = operation_of(interface, request.method, request.path, params)
        client = client_of(request)

        def note(outcome: str, response: web.StreamResponse | None = None) -> None:
            gateway.journal.record(
                interface,
                operation,
                client=client,
                parameters=params,
                outcome=outcome,
                duration_ms=timer.ms,
                response=response_excerpt(response),
            )

        fault = None if interface == "admin" else gateway.faults.match(interface, operation)
        if fault is not None:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
            elif fault.kind == "drop":
                note("fault: connection dropped")
                if request.transport is not None:
                    request.transport.close()
                return web.Response()  # aiohttp drops it: the connection is already gone
            else:
                response = await fault_response(gateway, interface, request, operation, fault)
                note(f"fault: {outcome_of(interface, response)}", response)
                return response
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            note(f"HTTP {exc.status}")
            raise
        except BaseException as exc:
            note(f"failed: {type(exc).__name__}")
            raise
        outcome = outcome_of(interface, response)
        note(f"fault: latency {fault.latency_ms} ms; {outcome}" if fault else outcome, response)
        return response

    return middleware


# --- the admin API -------------------------------------------------------------------------
def _gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY_KEY]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def admin_cookie_value(gateway: Gateway) -> str:
    """What the console's sign-in cookie holds: a keyed digest of the admin token, never the
    token (a new token or data-dir secret signs every browser out)."""
    settings = gateway.settings
    key = (settings.secret or "").encode()
    return hmac.new(key, (settings.admin_token or "").encode(), "sha256").hexdigest()


def has_admin_cookie(gateway: Gateway, request: web.Request) -> bool:
    """The browser signed in on the console with the admin token (shared mode)."""
    if not gateway.settings.admin_token:
        return False
    given = request.cookies.get(ADMIN_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), admin_cookie_value(gateway).encode())


def admin_allowed(gateway: Gateway, request: web.Request) -> web.Response | None:
    """None when the caller may use the admin API; otherwise the refusal to send."""
    settings = gateway.settings
    if not settings.shared:
        return None
    if not settings.admin_token:
        return _error(403, "the admin API is disabled on a shared gateway without admin_token")
    given = request.headers.get("Authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {settings.admin_token}".encode()):
        return None
    if has_admin_cookie(gateway, request):
        return None
    return web.json_response(
        {"error": "admin API requires Authorization: Bearer <admin_token>"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="melinda-gateway admin"'},
    )


@web.middleware
async def admin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Token check for `/_admin/`; a form post with `next=/` is sent back to the console."""
    if not request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    refusal = admin_allowed(_gateway(request), request)
    if refusal is not None:
        return refusal
    response = await handler(request)
    back = request.query.get("next")
    if back == "/" and request.method == "POST" and response.status < 400:
        raise web.HTTPSeeOther("/")  # a plain HTML form's way back
    return response


def snapshots_dir(gateway: Gateway) -> Path:
    return gateway.settings.data_dir / "snapshots"


class ControlError(Exception):
    """An emulator control refused, with the HTTP status the admin API answers it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def snapshot_path(gateway: Gateway, name: str) -> Path:
    """Where snapshot `name` lives; ControlError 400 for a name that is not one."""
    if not _SNAPSHOT_NAME.match(name):
        raise ControlError(400, "snapshot names are letters, digits, _ . - (max 64)")
    return snapshots_dir(gateway) / f"{name}.sqlite"


# --- the controls, for the admin API's handlers and the console's forms --------------------
async def reset_store(gateway: Gateway, *, demo: bool = False) -> dict[str, Any]:
    """Empty the store (and the publishing log); `demo` loads the demo data again."""
    await gateway.catalog.reset()
    loaded = 0
    if demo:
        from gateway.emulator.demo import load_demo

        settings = gateway.settings
        keys = Path(settings.demo_keys_dir) if settings.demo_keys_dir else None
        loaded = await load_demo(
            gateway.catalog, count=settings.demo_count, seed=settings.demo_seed, keys_dir=keys
        )
    live, deleted = await gateway.catalog.record_counts()
    return {"reset": True, "loaded": loaded, "records": live, "deleted": deleted}


async def seed_generated(gateway: Gateway, count: int, seed_value: int) -> tuple[int, int]:
    """Generate and load `count` records in batches; (loaded, updated)."""
    if not 0 < count <= MAX_SEED_COUNT:
        raise ControlError(400, f"count must be between 1 and {MAX_SEED_COUNT}")
    catalog = gateway.catalog
    loaded = updated = 0
    start = catalog.high_id + 1
    for offset in range(0, count, SEED_BATCH):
        size = min(SEED_BATCH, count - offset)
        batch = await asyncio.to_thread(_generated, size, seed_value + offset, start + offset)
        report = await catalog.load(batch)
        loaded, updated = loaded + report.loaded, updated + report.updated
    return loaded, updated


async def take_snapshot_named(gateway: Gateway, name: str) -> dict[str, Any]:
    """Copy the store to snapshot `name` (replacing one of that name)."""
    path = snapshot_path(gateway, name)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    await asyncio.to_thread(partial.unlink, missing_ok=True)
    timer = Timer()
    await gateway.catalog.snapshot(str(partial))
    await asyncio.to_thread(partial.replace, path)  # a snapshot appears whole or not at all
    size = (await asyncio.to_thread(path.stat)).st_size
    return {"snapshot": path.stem, "bytes": size, "duration_ms": round(timer.ms, 1)}


async def restore_snapshot_named(gateway: Gateway, name: str) -> dict[str, Any]:
    """Make the store snapshot `name` again; ControlError 404 when there is none."""
    if gateway.worker is not None:
        # a restore puts a new file in place: the other workers would go on with the old one
        raise ControlError(409, "restoring a snapshot needs a gateway of one process (no --workers)")
    path = snapshot_path(gateway, name)
    if not await asyncio.to_thread(path.is_file):
        raise ControlError(404, f"no snapshot named {path.stem}")
    timer = Timer()
    await gateway.catalog.restore(str(path))
    live, deleted = await gateway.catalog.record_counts()
    return {
        "restored": path.stem,
        "records": live,
        "deleted": deleted,
        "duration_ms": round(timer.ms, 1),
    }


async def delete_snapshot_named(gateway: Gateway, name: str) -> dict[str, Any]:
    path = snapshot_path(gateway, name)
    if not await asyncio.to_thread(path.is_file):
        raise ControlError(404, f"no snapshot named {path.stem}")
    await asyncio.to_thread(path.unlink)
    return {"deleted": path.stem}


async def snapshot_list(gateway: Gateway) -> list[dict[str, Any]]:
    """Every snapshot by name: its size and when it was taken."""
    return await asyncio.to_thread(_list_snapshots, snapshots_dir(gateway))


def _control_error(exc: ControlError) -> web.Response:
    return _error(exc.status, str(exc))


async def reset(request: web.Request) -> web.Response:
    demo = request.query.get("demo", "") in ("1", "true", "yes")
    return web.json_response(await reset_store(_gateway(request), demo=demo))


def _generated(count: int, seed: int, start_id: int) -> list[pymarc.Record]:
    from gateway.emulator.generator import generate_records

    return list(generate_records(count, seed, start_id=start_id))


def _read_body_records(body: bytes) -> tuple[list[pymarc.Record], list[dict[str, str]]]:
    from gateway.records import read_records

    found: list[pymarc.Record] = []
    rejected: list[dict[str, str]] = []
    for position, record, error in read_records(io.BytesIO(body)):
        if record is None or error is not None:
            rejected.append({"position": position, "reason": str(error)})
        else:
            found.append(record)
    return found, rejected


def _next_seed_batch(
    reading: Iterator[tuple[str, pymarc.Record | None, Exception | None]],
) -> tuple[list[pymarc.Record], list[dict[str, str]], bool]:
    """Up to SEED_BATCH records of a body being read, the problems met, and whether it ended."""
    found: list[pymarc.Record] = []
    rejected: list[dict[str, str]] = []
    for position, record, error in reading:
        if record is None or error is not None:
            rejected.append({"position": position, "reason": str(error)})
        else:
            found.append(record)
            if len(found) == SEED_BATCH:
                return found, rejected, False
    return found, rejected, True


def _looks_like_json(request: web.Request, body: bytes) -> bool:
    """JSON by its type, or by its first character: `curl -d '{…}'` sends it as a form."""
    return request.content_type == "application/json" or body.lstrip()[:1] in (b"{", b"[")


async def _spool_body(request: web.Request, head: bytes, spool: IO[bytes]) -> int:
    """Copy the request body to `spool` a chunk at a time; its size, or -1 past the limit."""
    size = 0
    chunk = head
    while chunk:
        size += len(chunk)
        if size > MAX_SEED_BODY_BYTES:
            return -1
        await asyncio.to_thread(spool.write, chunk)
        chunk = await request.content.read(SEED_CHUNK)
    await asyncio.to_thread(spool.seek, 0)
    return size


async def seed(request: web.Request) -> web.Response:
    """Generated records (`{"count": N, "seed": S}`) or the MARCXML / ISO 2709 body, in batches.

    A record body is streamed to a temporary file and read from it a batch at a time, so its
    size costs disk, not memory.
    """
    gateway = _gateway(request)
    catalog = gateway.catalog
    loaded = updated = 0
    rejected: list[dict[str, str]] = []
    head = await request.content.read(SEED_CHUNK)
    if _looks_like_json(request, head):
        body = bytearray(head)
        while chunk := await request.content.read(SEED_CHUNK):
            body += chunk
            if len(body) > MAX_SEED_JSON_BYTES:
                return _error(413, f"a JSON seed request has at most {MAX_SEED_JSON_BYTES} bytes")
        try:
            spec = json.loads(body)
            count = int(spec.get("count", 0))
            seed_value = int(spec.get("seed", 1))
        except (ValueError, TypeError, AttributeError) as exc:
            return _error(400, f'expected JSON {{"count": N, "seed": S}}: {exc}')
        try:
            loaded, updated = await seed_generated(gateway, count, seed_value)
        except ControlError as exc:
            return _control_error(exc)
    else:
        from gateway.records import read_records

        spool = cast(
            IO[bytes],
            await asyncio.to_thread(tempfile.TemporaryFile, "w+b", dir=gateway.settings.data_dir),
        )
        try:
            size = await _spool_body(request, head, spool)
            if size < 0:
                return _error(413, f"a seed body has at most {MAX_SEED_BODY_BYTES} bytes")
            reading = read_records(spool)
            ended = False
            while not ended:
                batch, problems, ended = await asyncio.to_thread(_next_seed_batch, reading)
                rejected.extend(problems[: MAX_REJECTED_LISTED - len(rejected)])
                if batch:
                    report = await catalog.load(batch)
                    loaded, updated = loaded + report.loaded, updated + report.updated
        finally:
            await asyncio.to_thread(spool.close)
        if not loaded + updated:
            if rejected:
                return web.json_response(
                    {"loaded": 0, "updated": 0, "rejected": rejected}, status=400
                )
            # a body of anything else than records is an error, not "loaded 0"
            return _error(
                400,
                "no records in the body: send MARCXML or ISO 2709 records, or JSON {count, seed}",
            )
    live, deleted = await catalog.record_counts()
    return web.json_response(
        {
            "loaded": loaded,
            "updated": updated,
            "rejected": rejected,
            "records": live,
            "deleted": deleted,
        }
    )


async def take_snapshot(request: web.Request) -> web.Response:
    try:
        taken = await take_snapshot_named(_gateway(request), request.match_info["name"])
    except ControlError as exc:
        return _control_error(exc)
    return web.json_response(taken)


async def restore_snapshot(request: web.Request) -> web.Response:
    try:
        restored = await restore_snapshot_named(_gateway(request), request.match_info["name"])
    except ControlError as exc:
        return _control_error(exc)
    return web.json_response(restored)


def _list_snapshots(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.sqlite")):
        stat = path.stat()
        out.append(
            {
                "name": path.stem,
                "bytes": stat.st_size,
                "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime)),
            }
        )
    return out


async def list_snapshots(request: web.Request) -> web.Response:
    return web.json_response({"snapshots": await snapshot_list(_gateway(request))})


async def delete_snapshot(request: web.Request) -> web.Response:
    try:
        deleted = await delete_snapshot_named(_gateway(request), request.match_info["name"])
    except ControlError as exc:
        return _control_error(exc)
    return web.json_response(deleted)


def _time_param(value: str | None, name: str) -> float | None:
    """Epoch seconds or an ISO 8601 UTC time (`2026-01-31T12:00:00Z`)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name}: epoch seconds or ISO 8601 expected"}),
            content_type="application/json",
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


async def get_journal(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    # with several workers: every worker's entries
    journal = gateway.journal if gateway.sync is None else await gateway.sync.whole_journal()
    query = request.query
    interfaces = [i for i in query.getall("interface", []) if i]
    unknown = [i for i in interfaces if i not in INTERFACES]
    if unknown:
        return _error(400, f"unknown interface {unknown[0]}: one of {', '.join(INTERFACES)}")
    try:
        limit = int(query["limit"]) if "limit" in query else None
    except ValueError:
        return _error(400, "limit must be a number")
    entries = journal.entries(
        interface=interfaces or None,
        since=_time_param(query.get("since"), "since"),
        until=_time_param(query.get("until"), "until"),
        operation=query.get("operation") or None,
        limit=limit,
    )
    return web.json_response(
        {"size": journal.size, "count": len(entries), "entries": [e.as_json() for e in entries]}
    )


async def clear_journal(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    if gateway.sync is not None:
        await gateway.sync.clear_journal()
    gateway.journal.clear()
    return web.json_response({"cleared": True})


async def add_fault(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    faults = gateway.faults
    if gateway.sync is not None:
        await gateway.sync.pull_faults()  # add to the rules as every worker has them now
    try:
        body = await request.read()
        spec = json.loads(body) if _looks_like_json(request, body) else dict(await request.post())
        specs = spec if isinstance(spec, list) else [spec]
        added = [faults.add(s).as_json() for s in specs]
    except (ValueError, TypeError, AttributeError) as exc:
        status = 400
        message = str(exc) if isinstance(exc, FaultSpecError) else f"expected a JSON object: {exc}"
        return _error(status, message)
    if gateway.sync is not None:
        await gateway.sync.publish_faults()
    return web.json_response({"added": added, "faults": [f.as_json() for f in faults.rules()]})


async def list_faults(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    if gateway.sync is not None:
        await gateway.sync.pull_faults()
    return web.json_response({"faults": [f.as_json() for f in gateway.faults.rules()]})


async def clear_faults(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    faults = gateway.faults
    if gateway.sync is not None:
        await gateway.sync.pull_faults()
    fault_id = request.query.get("id")
    if fault_id:
        if not fault_id.isdigit() or not faults.remove(int(fault_id)):
            return _error(404, f"no fault {fault_id}")
    else:
        faults.clear()
    if gateway.sync is not None:
        await gateway.sync.publish_faults()
    return web.json_response({"faults": [f.as_json() for f in faults.rules()]})


async def changes(request: web.Request) -> web.Response:
    """The significant-change feed, newest first; page back with `after_seq`."""
    try:
        after = int(request.query.get("after_seq", "0"))
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
    except ValueError:
        return _error(400, "after_seq and limit must be numbers")
    found = await _gateway(request).catalog.significant_changes(after_seq=after, limit=limit)
    return web.json_response({"changes": found})


async def match(request: web.Request) -> web.Response:
    """Melinda's record matching for each record of the MARCXML / ISO 2709 body: its
    candidates with probability and strategy. A record that is a stored one (001 with 003
    FI-MELINDA) is not its own candidate."""
    from gateway import matching

    body = await request.read()
    if not body.strip():
        return _error(400, "send one or more records as MARCXML or ISO 2709")
    found, rejected = await asyncio.to_thread(_read_body_records, body)
    if not found:
        return web.json_response({"records": [], "rejected": rejected}, status=400)
    catalog = _gateway(request).catalog
    results = []
    for position, record in enumerate(found, 1):
        own = matching.stored_id_of(record)
        candidates = await matching.find_candidates(catalog, record, exclude={own} if own else ())
        results.append(
            {
                "position": position,
                "matches": [c.as_json() for c in candidates if c.match],
                "candidates": [c.as_json() for c in candidates],
            }
        )
    return web.json_response({"records": results, "rejected": rejected})


def _record_id(value: object, name: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"{name} must be a Melinda ID (digits), not {text!r}")
    return int(text)


async def merge(request: web.Request) -> web.Response:
    """The Merge program: `{"preferred": ID, "other": ID, "user": CODE}` (JSON or a form);
    `password` too, when given, is checked. Refusals are 409 and name their rule."""
    from gateway import matching
    from gateway.errors import AuthenticationError, LibraryNotFoundError, RecordNotFoundError

    body = await request.read()
    try:
        spec = json.loads(body) if _looks_like_json(request, body) else dict(await request.post())
        if not isinstance(spec, dict):
            raise ValueError("expected a JSON object")
        preferred = _record_id(spec.get("preferred"), "preferred")
        other = _record_id(spec.get("other"), "other")
        user = str(spec.get("user") or "").strip()
        if not user:
            raise ValueError("user: the library user code the merge is made as")
    except ValueError as exc:
        return _error(400, f'expected {{"preferred": ID, "other": ID, "user": CODE}}: {exc}')
    catalog = _gateway(request).catalog
    try:
        if spec.get("password"):
            await catalog.authenticate(user, str(spec["password"]))
        result = await matching.merge(catalog, preferred, other, user)
    except matching.MergeRefusedError as exc:
        return web.json_response({"error": str(exc), "rule": exc.rule}, status=409)
    except RecordNotFoundError as exc:
        return _error(404, str(exc))
    except LibraryNotFoundError:
        return _error(403, f"{user} is not a library user: a merge is made as one")
    except AuthenticationError as exc:
        return _error(401, str(exc))
    return web.json_response(result.as_json())


def install(gateway: Gateway) -> None:
    """The admin API's routes and the two middlewares on the gateway's HTTP application."""
    app = gateway.http
    app.middlewares.append(admin_guard)
    app.middlewares.append(journal_middleware(gateway))
    router = app.router
    router.add_post(f"{ADMIN_PREFIX}/reset", reset)
    router.add_post(f"{ADMIN_PREFIX}/seed", seed)
    router.add_get(f"{ADMIN_PREFIX}/snapshots", list_snapshots)
    router.add_post(f"{ADMIN_PREFIX}/snapshots/{{name}}", take_snapshot)
    router.add_delete(f"{ADMIN_PREFIX}/snapshots/{{name}}", delete_snapshot)
    router.add_post(f"{ADMIN_PREFIX}/snapshots/{{name}}/restore", restore_snapshot)
    router.add_get(f"{ADMIN_PREFIX}/journal", get_journal)
    router.add_delete(f"{ADMIN_PREFIX}/journal", clear_journal)
    router.add_post(f"{ADMIN_PREFIX}/journal/clear", clear_journal)  # HTML forms cannot DELETE
    router.add_get(f"{ADMIN_PREFIX}/faults", list_faults)
    router.add_post(f"{ADMIN_PREFIX}/faults", add_fault)
    router.add_delete(f"{ADMIN_PREFIX}/faults", clear_faults)
    router.add_post(f"{ADMIN_PREFIX}/faults/clear", clear_faults)
    router.add_get(f"{ADMIN_PREFIX}/changes", changes)
    router.add_post(f"{ADMIN_PREFIX}/match", match)
    router.add_post(f"{ADMIN_PREFIX}/merge", merge)
    harvests.install(gateway)
    install_ill_admin(gateway)
