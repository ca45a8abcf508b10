"""The X-server operations (find, present, find-doc, update-doc, user-auth), dispatched by a table.

Each handler reads its parameters, makes one catalog call and returns the body of the op's
reply; wire problems raise `RequestError`, catalog refusals raise the domain errors, and
`XServer.handle` turns both into `<error>` lines inside the op's own root element (HTTP 200,
as Aleph answers).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import pymarc
from aiohttp import hdrs, web
from lxml import etree

from gateway.catalog import Catalog
from gateway.errors import AuthenticationError, GatewayError, MalformedRecordError
from gateway.model import StoredRecord, User, View
from gateway.records import marcxml_to_oai_marc, parse_oai_marc, parse_oai_marc_exact, xmlsafe
from protocols.host import Settings, SharedState
from protocols.xserver import messages, replies
from protocols.xserver.ccl import parse_find_request
from protocols.xserver.params import (
    SESSION_COOKIE,
    OverlongRequestError,
    Params,
    RequestError,
    read_params,
    session_id_of,
)
from protocols.xserver.sessions import Session, SessionStore
from protocols.xserver.shared_sessions import SharedSessions

log = logging.getLogger("melinda.xserver")

MAX_PRESENT_ENTRIES: Final = 100  # entries one present may return
INLINE_RECORDS: Final = 5  # fewer records are converted on the loop (a thread hop costs more)
NEW_DOC_NUMBER: Final = 0  # doc_num 000000000 creates
DOC_ACTIONS: Final = ("UPDATE", "UPDATE-CHK", "INSERT", "DELETE")
_XML_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,39}$")
_SET_ENTRY: Final = re.compile(r"^\s*(\d{1,9})\s*(?:[-,]\s*(\d{1,9})\s*)?$")
_LEADING_DECLARATION: Final = re.compile(r"^\s*<\?xml[^>]*\?>")


class UpdateRefused(Exception):
    """An update-doc that saved nothing, with its Aleph lines already written."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("; ".join(self.lines))


@dataclass(slots=True)
class OpContext:
    """What a handler may use: the catalog, the settings, the caller's session and parameters."""

    catalog: Catalog
    settings: Settings
    sessions: SessionStore
    session: Session
    params: Params
    named_session: bool = False  # the client sent a session id (parameter or cookie)
    shared: SharedSessions | None = None  # several worker processes share sessions and sets


Handler = Callable[[OpContext], Awaitable[list[bytes]]]


def _view(ctx: OpContext) -> View:
    name = ctx.params.get("base", "library") or View.FIN01.value
    view = View.from_name(name)
    if view is None:
        raise RequestError(f"Base {name.strip().upper()} is not defined")
    return view


def _doc_number(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 9:
        raise RequestError(f"Doc number {text} is not valid: up to 9 digits are expected")
    return int(text)


def _oai_marc(stored: StoredRecord) -> bytes:
    return marcxml_to_oai_marc(stored.xml)  # the stored form renamed: no record is built


async def find(ctx: OpContext) -> list[bytes]:
    """A result set in this session. Deviates from Aleph: no `date_from`/`ignore_limits`."""
    view = _view(ctx)
    query = parse_find_request(
        ctx.params.require("request"),
        code=ctx.params.get("code"),
        adjacent=(ctx.params.get("adjacent") or "N").strip().upper() == "Y",
    )
    result = await ctx.catalog.for_view(view).search(query)
    if result.total == 0 or not result.ids:
        return replies.errors(["empty set"])
    number = await ctx.shared.next_set_number() if ctx.shared is not None else None
    stored = ctx.sessions.add_set(ctx.session, result.ids, result.total, view, number=number)
    return replies.find_result(stored.number, result.total, len(stored))


def _set_entries(value: str, size: int) -> range:
    match = _SET_ENTRY.match(value)
    if match is None:
        raise RequestError(f"set_entry {value.strip()} is not valid: expected e.g. 1-15")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last < first:
        raise RequestError(f"set_entry {value.strip()} is not valid: expected e.g. 1-15")
    if first > size:
        raise RequestError(f"There is no entry number {first} in set; the set has {size} entries")
    last = min(last, size)
    if last - first + 1 > MAX_PRESENT_ENTRIES:
        raise RequestError(f"At most {MAX_PRESENT_ENTRIES} entries can be presented at once")
    return range(first, last + 1)


async def present(ctx: OpContext) -> list[bytes]:
    """Entries of a set. Deviates from Aleph: `format` is ignored, records are always oai_marc."""
    number_text = ctx.params.require("set_number", "set_no").strip()
    if not number_text.isdigit() or len(number_text) > 9:
        raise RequestError(f"Set number {number_text} is not valid")
    stored = ctx.sessions.get_set(ctx.session, int(number_text), by_number=not ctx.named_session)
    if stored is None:
        raise RequestError(f"Set number {int(number_text):06d} does not exist in this session")
    entries = _set_entries(ctx.params.require("set_entry"), len(stored))
    wanted = [(entry, stored.ids[entry - 1]) for entry in entries]
    records = await ctx.catalog.for_view(stored.view).fetch(
        [record_id for _, record_id in wanted], stored.view
    )
    by_id = {record.id: record for record in records}
    present_now = [(entry, by_id[record_id]) for entry, record_id in wanted if record_id in by_id]

    def serialise() -> list[bytes]:
        return [replies.record(_oai_marc(rec), rec.id, entry) for entry, rec in present_now]

    if len(present_now) <= INLINE_RECORDS:
        return serialise()
    return await asyncio.to_thread(serialise)  # up to 100 records: keep the loop free


async def find_doc(ctx: OpContext) -> list[bytes]:
    """One record, deleted or not; the `<record>` also carries `<doc_number>` as present's does."""
    view = _view(ctx)
    record_id = _doc_number(ctx.params.require("doc_num", "doc_number"))
    stored = await ctx.catalog.for_view(view).get(record_id, view)
    return [replies.record(_oai_marc(stored), stored.id)]


async def user_auth(ctx: OpContext) -> list[bytes]:
    """The staff record of a valid login; the session remembers the user for later writes."""
    user_name = ctx.params.require("staff_user")
    password = ctx.params.require("staff_pass")
    user = await _authenticate(ctx, user_name, password)
    return replies.user_auth_ok(user)


async def _authenticate(ctx: OpContext, user_name: str, password: str) -> User:
    """The staff user, checked against the catalog unless this session already did so."""
    cached = ctx.sessions.cached_user(ctx.session, user_name, password)
    if cached is not None:
        return cached
    try:
        user = await ctx.catalog.authenticate(user_name, password)
    except AuthenticationError:
        ctx.sessions.forget_user(ctx.session)
        raise
    ctx.sessions.remember_user(ctx.session, user, user_name, password)
    return user


def parse_xml_full_req(xml_full_req: str) -> pymarc.Record:
    """The record of an update-doc: a `<find-doc>` (or bare `<oai_marc>`) document."""
    text = _LEADING_DECLARATION.sub("", xml_full_req, count=1)
    exact = parse_oai_marc_exact(text)  # find-doc's own form: no XML parser needed
    if exact is not None:
        return exact
    body = text.encode("utf-8")
    try:
        root = xmlsafe.parse(body)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise UpdateRefused(messages.malformed_request(f"line {line}:{column}: {exc.msg}")) from exc
    oai_marc = next(root.iter("{*}oai_marc"), None)  # the root itself, or inside <find-doc>
    if oai_marc is None:
        raise UpdateRefused(messages.malformed_request("no <oai_marc> record in it"))
    try:
        return parse_oai_marc(oai_marc)
    except MalformedRecordError as exc:
        raise UpdateRefused(messages.malformed_request(str(exc))) from exc


async def update_doc(ctx: OpContext) -> list[bytes]:
    """Create, replace or delete a record; every outcome is `<error>` lines (messages.py).

    No duplicate control, on purpose: the same record sent twice becomes two records.
    Deviates from Aleph: `<varfield>` attributes are accepted in any order.
    """
    action = ctx.params.require("doc_action").strip().upper()
    if action not in DOC_ACTIONS:
        raise RequestError(f"Doc action {action} is not supported: use {', '.join(DOC_ACTIONS)}")
    library = ctx.params.require("library")
    base = View.from_name(library)
    if base is None:
        raise RequestError(f"Library {library.strip().upper()} is not defined")
    doc_num = ctx.params.get("doc_num", "doc_number")
    if doc_num is None and action != "INSERT":
        raise RequestError("Missing input: doc_num")
    record_id = _doc_number(doc_num) if doc_num is not None else NEW_DOC_NUMBER
    user_name = ctx.params.require("user_name")
    password = ctx.params.require("user_password")
    xml_full_req = None
    if action != "DELETE":
        xml_full_req = ctx.params.require("xml_full_req")
        limit = ctx.settings.xserver_max_request_chars
        if len(xml_full_req) > limit:
            return replies.errors(messages.overlong_request(limit, len(xml_full_req)))
    try:
        user = await _authenticate(ctx, user_name, password)
    except AuthenticationError as exc:
        return replies.errors(messages.update_failure(exc, record_id or None))
    try:
        lines = await _write(ctx, base, action, record_id, xml_full_req, user)
    except UpdateRefused as refused:
        lines = refused.lines
    except GatewayError as exc:
        lines = messages.update_failure(exc, record_id or None)
        log.debug(
            "update-doc %s %09d by %s refused: %s", action, record_id, user.name, type(exc).__name__
        )
    return replies.errors(lines)


async def _write(
    ctx: OpContext, base: View, action: str, record_id: int, xml_full_req: str | None, user: User
) -> list[str]:
    catalog = ctx.catalog.for_view(base)  # FIN11 writes Asteri's authorities
    if action == "DELETE":
        if record_id == NEW_DOC_NUMBER:
            raise RequestError("Doc number 000000000 cannot be deleted")
        result = await catalog.delete(record_id, user=user)
        return messages.deleted(result.id)
    assert xml_full_req is not None
    record = parse_xml_full_req(xml_full_req)
    check = action == "UPDATE-CHK"
    if action == "INSERT" or record_id == NEW_DOC_NUMBER:
        result = await catalog.create(
            record, user=user, check_only=check, accept_warnings=not check
        )
    else:
        result = await catalog.update(
            record_id, record, user=user, check_only=check, accept_warnings=not check
        )
    return messages.saved(result.id, result.warnings)


OPERATIONS: Final[dict[str, Handler]] = {
    "find": find,
    "present": present,
    "find-doc": find_doc,
    "update-doc": update_doc,
    "user-auth": user_auth,
}


def _set_number_of(params: Params) -> int | None:
    text = (params.get("set_number", "set_no") or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def canonical_op(name: str) -> str:
    """Aleph's op names are written with hyphens; clients also send underscores."""
    return name.strip().lower().replace("_", "-")


class XServer:
    """The `/X` endpoint of one gateway: sessions plus the dispatch table."""

    def __init__(
        self, catalog: Catalog, settings: Settings, shared: SharedState | None = None
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.sessions = SessionStore(
            ttl=settings.xserver_session_ttl, secret=settings.secret.encode()
        )
        self.shared = None if shared is None else SharedSessions(self.sessions, shared)

    def _shared_copy_needed(self, op: str | None, params: Params, named: str | None) -> bool:
        """Whether the session must be read from the shared state before the op. Not when
        this worker holds it and the op neither changes it nor learns anything from another
        worker's copy: a find-doc (it uses only the session's id), an update-doc whose
        credentials this copy has verified already (the same user results either way)."""
        held = self.sessions.held(named)
        if held is None:
            return True
        if op == "find-doc":
            return False
        if op == "update-doc":
            user_name, password = params.get("user_name"), params.get("user_password")
            if user_name is None or password is None:
                return True
            return self.sessions.cached_user(held, user_name, password) is None
        return True

    async def handle(self, request: web.Request) -> web.Response:
        root = "x-server"
        session: Session | None = None
        try:
            params = await read_params(request, self.settings.xserver_max_request_chars)
            named = session_id_of(request, params)
            op_name = params.get("op")
            op = canonical_op(op_name) if op_name is not None else None
            if self.shared is not None and self._shared_copy_needed(op, params, named):
                await self.shared.restore(named, _set_number_of(params))
            session = self.sessions.session(named)
            if self.shared is not None:
                before = self.shared.state_of(session) if session.id == named else None
            if op_name is None or op is None:
                raise RequestError("Missing input: op")
            if _XML_NAME.match(op):
                root = op
            handler = OPERATIONS.get(op)
            if handler is None:
                raise RequestError(f"Operation {op_name.strip()} is not defined")
            ctx = OpContext(
                self.catalog,
                self.settings,
                self.sessions,
                session,
                params,
                named is not None,
                self.shared,
            )
            body = await handler(ctx)
            if self.shared is not None:
                await self.shared.save(session, before)
        except OverlongRequestError as exc:
            # the body was not read: the op comes from the query, else it is the one op
            # that carries large bodies
            root = canonical_op(request.query.get("op", "update-doc"))
            root = root if _XML_NAME.match(root) else "update-doc"
            body = replies.errors([str(exc)])
        except RequestError as exc:
            body = replies.errors([str(exc)])
        except GatewayError as exc:
            body = replies.errors([messages.read_failure(exc)])
        except Exception:  # a bug must still answer in Aleph's form, never with a traceback
            log.exception("X-server %s failed", root)
            body = replies.errors(["Internal error of the X-server; the request was not completed"])
        if session is None:
            session = self.sessions.session(request.cookies.get(SESSION_COOKIE))
        response = web.Response(
            body=replies.document(root, body, session.id),
            content_type="text/xml",
            charset="utf-8",
        )
        # what set_cookie(path="/X", httponly=True) writes, without building a SimpleCookie
        # per request (session ids are base32: nothing to quote)
        response.headers.add(hdrs.SET_COOKIE, f"{SESSION_COOKIE}={session.id}; HttpOnly; Path=/X")
        return response
