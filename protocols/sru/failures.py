"""What every SRU failure answers with: the request's parameters, and a response of the asked
operation's kind that carries only a diagnostic (errors and injected faults alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

from protocols.sru.diagnostics import Diagnostic, SruError
from protocols.sru.request import Envelope
from protocols.sru.response import explain_response, scan_response, search_retrieve_response

CONTENT_TYPE: Final = "text/xml"


async def request_parameters(request: web.Request) -> dict[str, str]:
    """GET query and form-encoded POST body; the first value of a repeated name counts."""
    params: dict[str, str] = {}
    sources = [request.query]
    if request.method == "POST":
        try:
            sources.insert(0, await request.post())  # type: ignore[arg-type]
        except web.HTTPRequestEntityTooLarge as exc:
            raise SruError(6, f"the request is too large: {exc.text}") from None
    for source in sources:
        for name, value in source.items():
            if isinstance(value, str):
                params.setdefault(name, value)
    return params


def failure_response(
    env: Envelope, params: Mapping[str, str], diagnostic: Diagnostic, *, echo: bool = True
) -> bytes:
    """A response of the asked operation's kind that carries only the diagnostic."""
    if env.operation == "scan":
        scan_echo = scan_echo_of(params, env) if echo else []
        return scan_response(env.version, echo=scan_echo, diagnostics=[diagnostic])
    if env.operation == "explain":
        # SRU's schema requires a record even here: an empty ZeeRex one
        return explain_response(env.version, explain_xml=b"", diagnostics=[diagnostic])
    query = [(n, params[n]) for n in ("query",) if params.get(n, "").strip()]
    return search_retrieve_response(
        env.version,
        number_of_records=0,
        echo=[("version", env.version), *query] if echo else [],
        diagnostics=[diagnostic],
    )


def scan_echo_of(params: Mapping[str, str], env: Envelope) -> list[tuple[str, str]]:
    if env.is_v2 or not params.get("scanClause", "").strip():
        return []
    names = ("version", "scanClause", "responsePosition", "maximumTerms")
    return [(n, params[n].strip()) for n in names if params.get(n, "").strip()]
