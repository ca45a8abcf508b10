"""SRU (hakurajapinta): searchRetrieve, scan and explain on `/sru/bib`, `/sru/fin01alma` and
Asteri's `/sru/aut-names`.

Each request is read (request.py), answered with one catalog call, and serialised
(response.py); every failure, expected or not, leaves as an SRU diagnostic with HTTP 200.
SRW, the SOAP binding YAZ's clients use by default, is read and wrapped by soap.py around
the same operations (a SOAP Fault, HTTP 500, only for an envelope that cannot be answered).

Deviates from Melinda (for the README's coverage table):
- no named result sets: every request searches afresh (no resultSetId), which also means
  paging sees records saved in between;
- numberOfRecords counts the retrievable set, at most 20,000, where Aleph's own count may
  be larger;
- maximumRecords above 1000 is served as 1000 (SRU lets a server return fewer);
- scan's responsePosition 0 is answered as 1; 2.0's recordPacking=unpacked is diagnostic 71;
- Dublin Core is the gateway's own small crosswalk, not Melinda's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from gateway.catalog import RESULT_SET_CAP, Authorities, Catalog, SortKey
from gateway.model import View
from gateway.query import Query
from protocols.host import GATEWAY_KEY, Gateway
from protocols.sru import faults as sru_faults
from protocols.sru import soap
from protocols.sru.cql import compile_query, parse_cql, parse_scan_clause, parse_sort_keys
from protocols.sru.diagnostics import Diagnostic, SruError, to_diagnostic
from protocols.sru.explain import explain_record
from protocols.sru.failures import CONTENT_TYPE, failure_response, request_parameters, scan_echo_of
from protocols.sru.records import convert_all
from protocols.sru.request import (
    Envelope,
    check_common,
    envelope,
    parse_explain,
    parse_scan,
    parse_search_retrieve,
)
from protocols.sru.response import (
    ResponseRecord,
    explain_response,
    scan_response,
    search_retrieve_response,
)

# Path segment -> view; Melinda's own SRU path for bibliographic records is `/bib`.
DATABASES: Final[dict[str, View]] = {
    "bib": View.FIN01,
    "fin01alma": View.FIN01ALMA,
    "aut-names": View.FIN11,  # Asteri's name authorities, as Melinda's SRU names them
}


@dataclass(frozen=True, slots=True)
class SruContext:
    catalog: Catalog | Authorities
    view: View
    database: str
    host: str
    port: int
    echo: bool = True  # echoed*Request: SRU 1.x only, not part of SRW


Operation = Callable[[SruContext, Mapping[str, str], Envelope], Awaitable[bytes]]


def install(gateway: Gateway) -> None:
    gateway.http.router.add_route("GET", "/sru/{database}", sru_endpoint)
    gateway.http.router.add_route("POST", "/sru/{database}", sru_endpoint)
    gateway.fault_renderers["sru"] = sru_faults.fault_response
    gateway.body_parameter_readers["sru"] = soap.parameters_of_body


async def sru_endpoint(request: web.Request) -> web.Response:
    if soap.is_soap_request(request):
        return await srw_endpoint(request)
    params: dict[str, str] = {}
    try:
        params = await request_parameters(request)
    except Exception as exc:  # an unreadable form is still answered in SRU's terms
        body = failure_response(Envelope("2.0", "explain"), params, to_diagnostic(exc))
    else:
        body = await answer(request, params)
    return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")


async def srw_endpoint(request: web.Request) -> web.Response:
    """SRW: the envelope read into SRU parameters, answered by the same operations in 1.x."""
    try:
        srw = await soap.read_request(request)
    except soap.SoapFault as fault:
        return soap.soap_fault_response(fault)
    refused = soap.refusal(srw)
    if refused is not None:
        env, diagnostic = refused
        body = failure_response(env, srw.params, diagnostic, echo=False)
    else:
        body = await answer(request, srw.params, echo=False)
    return soap.soap_response(body)


async def answer(request: web.Request, params: Mapping[str, str], *, echo: bool = True) -> bytes:
    """The response to SRU parameters, whichever binding brought them."""
    env = Envelope("2.0", "explain")
    try:
        env = envelope(params)
        database = request.match_info["database"]
        view = DATABASES.get(database)
        if view is None:
            raise SruError(235, database)
        check_common(params, env)
        context = SruContext(
            catalog=request.app[GATEWAY_KEY].catalog.for_view(view),
            view=view,
            database=f"sru/{database}",
            host=request.url.host or "127.0.0.1",
            port=request.url.port or 80,
            echo=echo,
        )
        return await OPERATIONS[env.operation](context, params, env)
    except Exception as exc:  # every failure, even a bug, must reach the client as a diagnostic
        return failure_response(env, params, to_diagnostic(exc), echo=echo)


async def search_retrieve(ctx: SruContext, params: Mapping[str, str], env: Envelope) -> bytes:
    req = parse_search_retrieve(params, env)
    query, sort = compiled_query(req.query, allow_sort=req.version != "1.1")
    if req.sort_keys and not sort:
        sort = tuple(parse_sort_keys(req.sort_keys))
    # Only the ids up to this page are needed; the catalog counts the rest (as `total`).
    window = min(RESULT_SET_CAP, req.start_record - 1 + req.maximum_records)
    # The page's records are read with the ids, in one reader call; none when none are shown.
    found, stored = await ctx.catalog.search_page(
        query,
        sort=sort,
        cap=max(window, 1),
        start=req.start_record,
        count=req.maximum_records if req.schema is not None else 0,
        view=ctx.view,
    )
    count = min(found.total, RESULT_SET_CAP)  # what can be retrieved: Aleph caps the set
    echo = [("version", req.version), *((n, v) for n, v in req.echo if n != "version")]
    if not ctx.echo:
        echo = []

    def answer(
        records: list[ResponseRecord] | None = None,
        next_record_position: int | None = None,
        diagnostics: list[Diagnostic] | None = None,
    ) -> bytes:
        return search_retrieve_response(
            req.version,
            number_of_records=count,
            records=records or (),
            next_record_position=next_record_position,
            string_escaping=req.string_escaping,
            echo=echo,
            diagnostics=diagnostics or (),
        )

    if req.schema is None:
        # Melinda runs the search first and reports its count with diagnostic 66
        return answer(diagnostics=[Diagnostic(66, req.schema_param)])
    if req.maximum_records == 0:
        return answer()
    start = req.start_record
    if start > 1 and start > count:
        return answer(diagnostics=[Diagnostic(61, str(start))])
    page = found.ids[start - 1 : start - 1 + req.maximum_records]
    position = {record_id: start + i for i, record_id in enumerate(page)}
    xml = [record.xml for record in stored]
    if req.schema.convert is not None:
        xml = await asyncio.to_thread(convert_all, req.schema, xml)
    records = [
        ResponseRecord(req.schema.identifier, data, position[record.id])
        for record, data in zip(stored, xml, strict=True)
    ]
    after = start - 1 + len(page)
    return answer(
        records=records,
        next_record_position=after + 1 if after < count else None,
    )


@functools.lru_cache(maxsize=2048)
def compiled_query(text: str, *, allow_sort: bool) -> tuple[Query, tuple[SortKey, ...]]:
    """A CQL query compiled once: clients repeat the same query to page through it."""
    query, sort = compile_query(parse_cql(text, allow_sort=allow_sort))
    return query, tuple(sort)


async def scan(ctx: SruContext, params: Mapping[str, str], env: Envelope) -> bytes:
    req = parse_scan(params, env)
    index, start = parse_scan_clause(req.scan_clause)
    # responsePosition 0 (the start term just before the list) reads as 1: the list starts there
    terms = await ctx.catalog.scan(
        index.name, start, count=req.maximum_terms, position=max(req.response_position, 1)
    )
    echo = scan_echo_of(params, env) if ctx.echo else []
    return scan_response(req.version, terms=terms, echo=echo)


async def explain(ctx: SruContext, params: Mapping[str, str], env: Envelope) -> bytes:
    req = parse_explain(params, env)
    record = explain_record(
        host=ctx.host, port=ctx.port, database=ctx.database, view=ctx.view, version=req.version
    )
    return explain_response(req.version, explain_xml=record, string_escaping=req.string_escaping)


OPERATIONS: Final[dict[str, Operation]] = {
    "searchRetrieve": search_retrieve,
    "scan": scan,
    "explain": explain,
}
