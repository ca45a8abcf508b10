"""An injected SRU fault: diagnostic 1 ("Permanent system error") in the asked operation's response."""

from __future__ import annotations

from aiohttp import web

from protocols.host import Fault
from protocols.sru import soap
from protocols.sru.diagnostics import Diagnostic
from protocols.sru.failures import CONTENT_TYPE, failure_response, request_parameters
from protocols.sru.request import Envelope, envelope

DEFAULT_DETAILS = "fault injected by the gateway's admin API"


async def fault_response(request: web.Request, operation: str, fault: Fault) -> web.Response:
    diagnostic = Diagnostic(1, fault.message or DEFAULT_DETAILS)
    if soap.is_soap_request(request):
        # SRW: the same diagnostic in the SOAP-wrapped 1.x response, or a Server fault
        # when the envelope names no SRW operation to answer in
        try:
            params = (await soap.read_request(request)).params
        except soap.SoapFault:
            return soap.soap_fault_response(soap.SoapFault("Server", diagnostic.details))
        env = envelope(params)
        if env.is_v2:
            env = Envelope(soap.DEFAULT_SRW_VERSION, env.operation)
        return soap.soap_response(failure_response(env, params, diagnostic, echo=False))
    params = await request_parameters(request)
    body = failure_response(envelope(params), params, diagnostic)
    return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")
