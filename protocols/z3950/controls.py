"""The gateway's journal and injected faults for Z39.50: one entry per request PDU.

An error fault is answered as Bib-1 diagnostic 1 (permanent system error) inside the
response PDU the request expects (Search, Present, Scan); an Init is refused with it; a
Close or any other PDU ends the association with Close(systemProblem). A drop fault
hangs up without answering.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from protocols.host import Fault, Gateway, Timer
from protocols.z3950 import pdu as z
from protocols.z3950.association import Association, Reply
from protocols.z3950.ber import CONTEXT, Element, universal_oid
from protocols.z3950.diagnostics import PERMANENT_SYSTEM_ERROR
from protocols.z3950.rpn import parse_query, pqf_text

INTERFACE: Final = "z3950"
DEFAULT_TEXT: Final = "fault injected by the gateway's admin API"
OPERATIONS: Final[dict[int, str]] = {
    z.PduTag.INIT_REQUEST: "init",
    z.PduTag.SEARCH_REQUEST: "search",
    z.PduTag.PRESENT_REQUEST: "present",
    z.PduTag.DELETE_RESULT_SET_REQUEST: "deleteResultSet",
    z.PduTag.SCAN_REQUEST: "scan",
    z.PduTag.SORT_REQUEST: "sort",
    z.PduTag.CLOSE: "close",
}
# A Bib-1 diagnostic in a reply: its set's OID, then the condition as a universal INTEGER.
_BIB1: Final = re.escape(universal_oid(z.BIB1_DIAGNOSTIC_SET))
_DIAGNOSTIC: Final = re.compile(_BIB1 + rb"\x02\x01(.)|" + _BIB1 + rb"\x02\x02(..)", re.S)


def operation_of(request: Element) -> str:
    if request.cls == CONTEXT and request.number in OPERATIONS:
        return OPERATIONS[request.number]
    return f"pdu-{request.number}"


def parameters_of(operation: str, request: Element) -> dict[str, Any]:
    """What the journal shows of a request; an unparsable PDU shows nothing (it is refused)."""
    try:
        if operation == "init":
            init = z.parse_init_request(request)
            return {
                "user": init.user or "",
                "password": init.password or "",
                "implementation": init.implementation,
            }
        if operation == "search":
            search = z.parse_search_request(request)
            return {
                "databases": ",".join(search.database_names),
                "resultSetName": search.result_set_name,
                "query": _query_text(search.query),
            }
        if operation == "present":
            present = z.parse_present_request(request)
            return {
                "resultSetId": present.result_set_id,
                "start": present.start_point,
                "count": present.count,
                "elementSet": present.element_set or "",
            }
        if operation == "scan":
            scan = z.parse_scan_request(request)
            return {"databases": ",".join(scan.database_names), "terms": scan.number_of_terms}
    except Exception:  # the association answers a malformed PDU itself
        return {}
    return {}


def _query_text(query: Element) -> str:
    """The type-1 query as the client sent it, in YAZ's prefix notation, or why not."""
    try:
        attribute_set, tree = parse_query(query)
        return pqf_text(attribute_set, tree)
    except Exception as exc:
        return f"(unparsable: {exc})"


def outcome_of(reply: Reply | None) -> str:
    if reply is None:
        return "fault: connection dropped"
    found = _DIAGNOSTIC.search(reply.pdu)
    if found is not None:
        raw = found.group(1) or found.group(2)
        return f"diagnostic {int.from_bytes(raw, 'big', signed=True)}"
    return "closed" if reply.close else "ok"


def fault_reply(operation: str, request: Element, fault: Fault) -> Reply:
    """Bib-1 diagnostic 1 in the response PDU the request asked for."""
    text = fault.message or DEFAULT_TEXT
    reference = request.child(2)
    reference_id = reference.octets() if reference is not None else None
    if operation == "search":
        return Reply(
            z.search_response(
                reference_id,
                result_count=0,
                returned=0,
                next_position=0,
                succeeded=False,
                records=z.non_surrogate_diagnostic(PERMANENT_SYSTEM_ERROR, text),
            )
        )
    if operation == "present":
        return Reply(
            z.present_response(
                reference_id,
                returned=0,
                next_position=0,
                status=z.PresentStatus.FAILURE,
                records=z.non_surrogate_diagnostic(PERMANENT_SYSTEM_ERROR, text),
            )
        )
    if operation == "scan":
        return Reply(
            z.scan_response(
                reference_id,
                status=z.SCAN_FAILURE,
                diagnostic=(PERMANENT_SYSTEM_ERROR, text),
            )
        )
    return Reply(z.close_pdu(z.CloseReason.SYSTEM_PROBLEM, text, reference_id), close=True)


async def answer(
    gateway: Gateway, association: Association, request: Element, client: str
) -> Reply | None:
    """`association.answer`, journaled and with faults applied; None: hang up (a drop fault)."""
    timer = Timer()
    operation = operation_of(request)

    def note(outcome: str, reply: Reply | None = None) -> None:
        # the association's own reading of the request, when it got that far: not twice
        journal = reply.journal if reply is not None else None
        gateway.journal.record(
            INTERFACE,
            operation,
            client=client,
            parameters=parameters_of(operation, request) if journal is None else journal,
            outcome=outcome,
            duration_ms=timer.ms,
            # the Init names the user; every later PDU of the association is theirs
            user=association.user.name if association.user else None,
        )

    fault = gateway.faults.match(INTERFACE, operation)
    if fault is not None and fault.kind == "drop":
        note("fault: connection dropped")
        return None
    if fault is not None and fault.kind == "error":
        reply = fault_reply(operation, request, fault)
        note(f"fault: {outcome_of(reply)}")
        return reply
    if fault is not None:
        await asyncio.sleep(fault.latency_ms / 1000)
    try:
        reply = await association.answer(request)
    except Exception as exc:
        note(f"protocol error: {exc}"[:300])
        raise
    outcome = outcome_of(reply)
    note(f"fault: latency {fault.latency_ms} ms; {outcome}" if fault else outcome, reply)
    return reply


def peer_of(transport: asyncio.BaseTransport | None) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return ""
