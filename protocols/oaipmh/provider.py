"""One OAI-PMH endpoint over one view: verb dispatch, the catalog calls, streamed list responses."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import lru_cache

from aiohttp import web

from gateway.catalog import Authorities, Catalog
from gateway.errors import AuthenticationError, GatewayError
from gateway.model import StoredRecord, User, View
from gateway.oai_sets import LOW_SET_PREFIX, MELINDA_SETS, set_specs_tuple
from gateway.records.oai_forms import Ready, decode_set_specs
from gateway.records.xmlsafe import escape
from protocols.host import Settings
from protocols.oaipmh import responses
from protocols.oaipmh.arguments import (
    GET_RECORD,
    IDENTIFY,
    LIST_IDENTIFIERS,
    LIST_METADATA_FORMATS,
    LIST_RECORDS,
    LIST_SETS,
    OaiRequest,
    echo_arguments,
    format_datestamp,
    format_identifier,
    parse_identifier,
    parse_request,
)
from protocols.oaipmh.errors import (
    BAD_ARGUMENT,
    BAD_RESUMPTION_TOKEN,
    NO_METADATA_FORMATS,
    NO_RECORDS_MATCH,
    OaiError,
    to_diagnostic,
)
from protocols.oaipmh.metadata import (
    MARC21,
    MELINDA_MARC,
    METADATA_FORMATS,
    OAI_DC,
    authority_marc_form,
    dublin_core,
    marc_form,
)
from protocols.oaipmh.responses import set_spec_lines, stored_set_spec_lines
from protocols.oaipmh.tokens import ListState, TokenSigner

CONTENT_TYPE = "text/xml"
# records fetched and rendered at a time: a 1,000-record page is never held whole
FETCH_BATCH = 250
WRITE_CHUNK = 256 * 1024  # fewer writes (and chunks for the client to parse) than 64 KiB
_PIECES_AT_ONCE = 64  # of a list's pieces (`responses.record_pieces`: 9 a record) added at once
_NAMED_SETS = frozenset(s.spec for s in MELINDA_SETS)
_LOW_SET = re.compile(rf"{LOW_SET_PREFIX}[A-Za-z0-9_\-]+")

Verb = Callable[["OaiProvider", web.Request, OaiRequest], Awaitable[web.StreamResponse]]


class OaiProvider:
    """The provider behind `/oai-pmh/bib` (view fin01) or `/oai-pmh/fin01alma` (view fin01alma)."""

    def __init__(
        self,
        catalog: Catalog | Authorities,
        settings: Settings,
        view: View,
        signer: TokenSigner,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.view = view
        self.signer = signer

    # --- the wire ------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        pairs = list(request.query.items())
        if request.method == "POST":
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as exc:
                too_large = OaiError(
                    BAD_ARGUMENT, f"The request is too large: {exc.text}"
                )
                return self._error(request, pairs, too_large)
            pairs += [
                (name, value if isinstance(value, str) else "") for name, value in form.items()
            ]
        try:
            oai = parse_request(pairs)
            return await VERBS[oai.verb](self, request, oai)
        except OaiError as error:
            return self._error(request, pairs, error)
        except GatewayError as exc:
            diagnostic = to_diagnostic(exc)
            if diagnostic is None:
                raise
            return self._error(request, pairs, diagnostic)

    def _error(
        self, request: web.Request, pairs: list[tuple[str, str]], error: OaiError
    ) -> web.Response:
        # only badVerb/badArgument leave arguments unfit to echo; any other error had legal ones
        arguments = None if error.hides_arguments else echo_arguments(pairs)
        body = responses.error_document(_base_url(request), _now(), arguments, error)
        return _xml(body)

    def _document(self, request: web.Request, oai: OaiRequest, payload: bytes) -> web.Response:
        return _xml(
            responses.head(_base_url(request), _now(), oai.arguments) + payload + responses.CLOSE
        )

    # --- verbs ---------------------------------------------------------------------
    async def identify(self, request: web.Request, oai: OaiRequest) -> web.StreamResponse:
        earliest = await self.catalog.earliest_datestamp()
        payload = responses.identify(
            repository_name=self.settings.oai_repository_name,
            base_url=_base_url(request),
            admin_email=self.settings.oai_admin_email,
            earliest_datestamp=format_datestamp(
                earliest if earliest is not None else int(time.time())
            ),
        )
        return self._document(request, oai, payload)

    async def list_metadata_formats(
        self, request: web.Request, oai: OaiRequest
    ) -> web.StreamResponse:
        if oai.identifier is not None:
            stored = await self._record(oai.identifier)
            # a deleted record is a header only: nothing can be disseminated from it
            if stored.deleted:
                raise OaiError(NO_METADATA_FORMATS, f"{oai.identifier} is deleted")
        return self._document(
            request, oai, responses.list_metadata_formats(METADATA_FORMATS.values())
        )

    async def list_sets(self, request: web.Request, oai: OaiRequest) -> web.StreamResponse:
        if oai.resumption_token is not None:
            raise OaiError(
                BAD_RESUMPTION_TOKEN, "ListSets answers in one response; no token was issued"
            )
        return self._document(request, oai, responses.list_sets(await self.catalog.sets()))

    async def get_record(self, request: web.Request, oai: OaiRequest) -> web.StreamResponse:
        assert oai.identifier is not None and oai.metadata_prefix is not None
        stored = await self._record(oai.identifier)
        with_cat = await self._privileged(request, oai.metadata_prefix)
        body = await asyncio.to_thread(
            self._render_records, [stored], oai.metadata_prefix, with_cat
        )
        payload = b"".join((b"\t<GetRecord>\n", *body, b"\t</GetRecord>\n"))
        return self._document(request, oai, payload)

    async def list_records(self, request: web.Request, oai: OaiRequest) -> web.StreamResponse:
        return await self._list(request, oai, with_metadata=True)

    async def list_identifiers(self, request: web.Request, oai: OaiRequest) -> web.StreamResponse:
        return await self._list(request, oai, with_metadata=False)

    # --- lists ---------------------------------------------------------------------
    async def _list(
        self, request: web.Request, oai: OaiRequest, *, with_metadata: bool
    ) -> web.StreamResponse:
        state = await self._list_state(oai)
        with_cat = with_metadata and await self._privileged(request, state.metadata_prefix)
        page_size = max(1, self.settings.oai_page_size)
        batch, more = await self._fetch(state, state.after_seq, page_size)
        if not batch:
            if state.cursor == 0:
                raise OaiError(NO_RECORDS_MATCH, "No records match the request")
            more = False  # the rest left the list (deleted from a set) since the last page

        response = web.StreamResponse(headers={"Content-Type": f"{CONTENT_TYPE}; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        container = oai.verb.encode()
        out = _Chunks(response)
        out.add(responses.head(_base_url(request), _now(), oai.arguments))
        out.add(b"\t<" + container + b">\n")
        delivered = 0
        last_seq = state.after_seq
        pending: asyncio.Future[tuple[list[StoredRecord], bool]] | None = None
        try:
            while batch:
                delivered += len(batch)
                last_seq = batch[-1].seq
                if more and delivered < page_size:
                    # the store reads the next batch while this one is being rendered
                    wanted = page_size - delivered
                    pending = asyncio.ensure_future(self._fetch(state, last_seq, wanted))
                if with_metadata and all(r.marc21 is not None or r.deleted for r in batch):
                    # stored forms: assembling the page is a few string joins
                    await out.extend(self._render_records(batch, state.metadata_prefix, with_cat))
                elif with_metadata:
                    await out.extend(
                        await asyncio.to_thread(
                            self._render_records, batch, state.metadata_prefix, with_cat
                        )
                    )
                else:
                    await out.extend([self._render_headers(batch).encode()])
                if pending is None:
                    break
                batch, more = await pending
                pending = None
        finally:
            if pending is not None:
                pending.cancel()
        if more:
            following = replace(
                state,
                after_seq=last_seq,
                cursor=state.cursor + delivered,
                expires=int(time.time()) + self.settings.oai_token_ttl,
            )
            out.add(
                responses.resumption_token(
                    self.signer.issue(following),
                    cursor=state.cursor,
                    complete_list_size=state.complete_list_size,
                    expiration_date=format_datestamp(following.expires),
                )
            )
        elif state.cursor > 0:
            out.add(
                responses.resumption_token(
                    "",
                    cursor=state.cursor,
                    complete_list_size=state.complete_list_size,
                    expiration_date=None,
                )
            )
        out.add(b"\t</" + container + b">\n" + responses.CLOSE)
        await out.flush()
        await response.write_eof()
        return response

    async def _list_state(self, oai: OaiRequest) -> ListState:
        if oai.resumption_token is not None:
            return self.signer.check(oai.resumption_token, verb=oai.verb, view=self.view.value)
        assert oai.metadata_prefix is not None
        if oai.set_spec is not None and not await self._known_set(oai.set_spec):
            raise OaiError(BAD_ARGUMENT, f"No such set: {oai.set_spec}")
        total = await self.catalog.count_changes(
            since=oai.since, until=oai.until, set_spec=_set_spec(oai.set_spec)
        )
        return ListState(
            verb=oai.verb,
            view=self.view.value,
            metadata_prefix=oai.metadata_prefix,
            since=oai.since,
            until=oai.until,
            set_spec=_set_spec(oai.set_spec),
            after_seq=0,
            cursor=0,
            complete_list_size=total,
            expires=0,
        )

    async def _fetch(
        self, state: ListState, after_seq: int, wanted: int
    ) -> tuple[list[StoredRecord], bool]:
        """Up to `wanted` (at most a batch) records changed after `after_seq`; do more follow?"""
        limit = min(wanted, FETCH_BATCH)
        # one extra row tells whether the list goes on; only needed when this batch ends the page
        extra = 1 if wanted <= FETCH_BATCH else 0
        records = await self.catalog.changes(
            after_seq=after_seq,
            since=state.since,
            until=state.until,
            set_spec=state.set_spec,
            limit=limit + extra,
            view=self.view,
            ready=self._ready(state),
        )
        more = len(records) > limit if extra else len(records) == limit
        return records[:limit], more

    def _ready(self, state: ListState) -> Ready | None:
        """Which stored forms a list sends as they are: the bib view's set specs in every
        header, its marc21 form in a marc21 ListRecords."""
        if self.view is not View.FIN01:
            return None
        if state.verb == LIST_IDENTIFIERS:
            return "sets"
        return "marc21" if state.metadata_prefix == MARC21 else None

    async def _known_set(self, spec: str) -> bool:
        if spec in _NAMED_SETS or _LOW_SET.fullmatch(spec):
            return True
        return any(info.spec == spec for info in await self.catalog.sets())

    # --- rendering (runs in a worker thread for record bodies) ----------------------
    def _render_records(
        self, records: Sequence[StoredRecord], prefix: str, with_cat: bool
    ) -> list[bytes]:
        """The records' `<record>` elements, as pieces to join (`responses.record_pieces`)."""
        id_prefix = escape(self.settings.oai_identifier_prefix).encode()
        parts: list[bytes] = []
        for stored in records:
            metadata = None
            if not stored.deleted:
                if stored.marc21 is not None and prefix == MARC21:
                    metadata = stored.marc21
                elif prefix == OAI_DC:
                    metadata = dublin_core(stored.xml, stored.id)
                elif self.view.is_authority:
                    metadata = authority_marc_form(stored.xml, prefix, privileged=with_cat)
                else:
                    metadata = marc_form(stored.xml, stored.id, prefix, with_cat=with_cat)
            identifier = b"%s%09d" % (id_prefix, stored.id)
            specs = b"" if stored.deleted else _set_spec_lines(stored)
            parts += responses.record_pieces(
                identifier, _datestamp(stored.datestamp), metadata, specs
            )
        return parts

    def _render_headers(self, records: Sequence[StoredRecord]) -> str:
        id_prefix = self.settings.oai_identifier_prefix
        return "".join(
            responses.header(
                format_identifier(stored.id, id_prefix),
                format_datestamp(stored.datestamp),
                deleted=stored.deleted,
                indent="\t\t",
                # a deleted record has left every set (set harvests no longer list it)
                set_specs=() if stored.deleted else _set_specs(stored),
            )
            for stored in records
        )

    # --- helpers -------------------------------------------------------------------
    async def _record(self, identifier: str) -> StoredRecord:
        record_id = parse_identifier(identifier, self.settings.oai_identifier_prefix)
        return await self.catalog.get(record_id, self.view)

    async def _privileged(self, request: web.Request, prefix: str) -> bool:
        """Whether CAT goes out: melinda_marc to a harvester authenticated as privileged."""
        if prefix != MELINDA_MARC:
            return False
        header = request.headers.get("Authorization", "")
        if not header:
            return False
        user = await self._authenticate(header)
        return user.privileged

    async def _authenticate(self, header: str) -> User:
        """The harvester's user from HTTP Basic credentials (the catalog caches the check)."""
        scheme, _, encoded = header.partition(" ")
        try:
            if scheme.lower() != "basic":
                raise ValueError(scheme)
            name, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            if not colon:
                raise ValueError("no password")
            return await self.catalog.authenticate(name, password)
        except (ValueError, UnicodeDecodeError, binascii.Error, AuthenticationError) as exc:
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="Melinda OAI-PMH"'},
                text="Authentication failed",
            ) from exc


class _Chunks:
    """A list response's bytes on their way out in pieces of about WRITE_CHUNK: each record's
    bytes are copied once more into a piece, never into a buffer the size of a batch (growing
    and freeing those cost more than everything else a page does)."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, part: bytes) -> None:
        self.parts.append(part)
        self.size += len(part)

    async def extend(self, parts: Sequence[bytes]) -> None:
        # a few records' pieces at a time: a piece overshoots WRITE_CHUNK by a few records at most
        for start in range(0, len(parts), _PIECES_AT_ONCE):
            some = parts[start : start + _PIECES_AT_ONCE]
            self.parts += some
            self.size += sum(map(len, some))
            if self.size >= WRITE_CHUNK:
                await self.flush()

    async def flush(self) -> None:
        if self.parts:
            chunk = b"".join(self.parts)
            self.parts.clear()
            self.size = 0
            await self.response.write(chunk)


VERBS: dict[str, Verb] = {
    IDENTIFY: OaiProvider.identify,
    LIST_METADATA_FORMATS: OaiProvider.list_metadata_formats,
    LIST_SETS: OaiProvider.list_sets,
    GET_RECORD: OaiProvider.get_record,
    LIST_IDENTIFIERS: OaiProvider.list_identifiers,
    LIST_RECORDS: OaiProvider.list_records,
}


def _set_spec(spec: str | None) -> str | None:
    """LOW codes are upper case in records; `low:helka` means the same set as `low:HELKA`."""
    if spec is not None and spec.startswith(LOW_SET_PREFIX):
        return LOW_SET_PREFIX + spec[len(LOW_SET_PREFIX) :].upper()
    return spec


def _set_specs(stored: StoredRecord) -> tuple[str, ...]:
    """A live record's set specs: as stored with it, else read from its MARCXML."""
    if stored.oai_sets is not None:
        return decode_set_specs(stored.oai_sets)
    return set_specs_tuple(stored.xml)


def _set_spec_lines(stored: StoredRecord) -> bytes:
    """A live record's header setSpec lines: from its stored set specs, else its MARCXML."""
    if stored.oai_sets is not None:
        return stored_set_spec_lines(stored.oai_sets)
    return set_spec_lines(set_specs_tuple(stored.xml))


@lru_cache(maxsize=4096)
def _datestamp(epoch: int) -> bytes:
    return format_datestamp(epoch).encode()


def _base_url(request: web.Request) -> str:
    return str(request.url.with_query(None))


def _now() -> str:
    return format_datestamp(int(time.time()))


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")
