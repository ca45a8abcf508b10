"""ISO 18626 XML to the domain's message values and back, every message checked on the way."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from lxml import etree

from gateway.ill import (
    VERSIONS,
    Action,
    Confirmation,
    ErrorType,
    Header,
    IllError,
    IllRequest,
    Kind,
    Message,
    Reason,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    now_text,
    split_symbol,
)
from protocols.iso18626.schema import NS, Schema, parse_xml, q, schema_error

VERSION: Final = "1.2"
CONFIRMATIONS: Final = {
    Kind.REQUEST: "requestConfirmation",
    Kind.SUPPLYING: "supplyingAgencyMessageConfirmation",
    Kind.REQUESTING: "requestingAgencyMessageConfirmation",
}
_KINDS: Final = {kind.value: kind for kind in Kind}
_COSTS: Final = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z]{3})\s*$")


class MessageRefused(Exception):
    """An incoming message that is answered ERROR: what could be read of it is kept for the
    confirmation's header."""

    def __init__(self, error: IllError, kind: Kind, header: Header | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.kind = kind
        self.header = header


class InvalidOwnMessage(Exception):
    """A message we made breaks the schema: a fault of ours, never sent."""


# --- reading ---------------------------------------------------------------------------------
def _text(element: etree._Element | None, *path: str) -> str:
    if element is None:
        return ""
    found = element.find("/".join(q(p) for p in path)) if path else element
    return (found.text or "").strip() if found is not None else ""


def _agency(element: etree._Element | None, name: str) -> str:
    if element is None:
        return ""
    kind, value = _text(element, name, "agencyIdType"), _text(element, name, "agencyIdValue")
    return f"{kind}:{value}" if kind else value


def _header(element: etree._Element | None) -> Header | None:
    if element is None:
        return None
    return Header(
        supplying=_agency(element, "supplyingAgencyId"),
        requesting=_agency(element, "requestingAgencyId"),
        requesting_request_id=_text(element, "requestingAgencyRequestId"),
        timestamp=_text(element, "timestamp"),
        supplying_request_id=_text(element, "supplyingAgencyRequestId"),
        multiple_item_request_id=_text(element, "multipleItemRequestId"),
    )


def _costs(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return f"{_text(element, 'monetaryValue')} {_text(element, 'currencyCode')}".strip()


def _request(body: etree._Element, header: Header) -> IllRequest:
    bib = body.find(q("bibliographicInfo"))
    if bib is None:
        raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "request without bibliographicInfo")
    isbn = issn = ""
    for item in bib.findall(q("bibliographicItemId")):
        code = _text(item, "bibliographicItemIdentifierCode").upper()
        if code == "ISBN" and not isbn:
            isbn = _text(item, "bibliographicItemIdentifier")
        elif code == "ISSN" and not issn:
            issn = _text(item, "bibliographicItemIdentifier")
    service = body.find(q("serviceInfo"))
    service_type = _text(service, "serviceType")
    requester = body.find(q("requestingAgencyInfo"))
    url = ""
    if requester is not None:
        for data in requester.iter(q("electronicAddressData")):
            if (data.text or "").strip().startswith(("http://", "https://")):
                url = (data.text or "").strip()
                break
    return IllRequest(
        header,
        supplier_unique_record_id=_text(bib, "supplierUniqueRecordId"),
        title=_text(bib, "title"),
        author=_text(bib, "author"),
        isbn=isbn,
        issn=issn,
        service_type=ServiceType(service_type) if service_type else None,
        request_type=_text(service, "requestType"),
        previous_request_id=_text(service, "requestingAgencyPreviousRequestId"),
        note=_text(service, "note"),
        requester_url=url,
        requester_name=_text(requester, "name"),
    )


def _supplying(body: etree._Element, header: Header) -> SupplyingAgencyMessage:
    info = body.find(q("messageInfo"))
    status_info = body.find(q("statusInfo"))
    delivery = body.find(q("deliveryInfo"))
    status = _text(status_info, "status")
    return SupplyingAgencyMessage(
        header,
        reason=Reason(_text(info, "reasonForMessage")),
        status=Status(status) if status else None,
        last_change=_text(status_info, "lastChange"),
        answer_yes_no=_text(info, "answerYesNo"),
        note=_text(info, "note"),
        reason_unfilled=_text(info, "reasonUnfilled"),
        reason_retry=_text(info, "reasonRetry"),
        offered_costs=_costs(info.find(q("offeredCosts")) if info is not None else None),
        due_date=_text(status_info, "dueDate"),
        date_sent=_text(delivery, "dateSent"),
        item_id=_text(delivery, "itemId"),
        sent_via=_text(delivery, "sentVia"),
        loan_condition=_text(delivery, "loanCondition"),
        delivered_format=_text(delivery, "deliveredFormat"),
        delivery_costs=_costs(delivery.find(q("deliveryCosts")) if delivery is not None else None),
    )


def _body_of(root: etree._Element) -> tuple[Kind, etree._Element | None]:
    """Which message the document holds (a request, if it cannot be told)."""
    for child in root:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            return _KINDS.get(name, Kind.REQUEST), child
    return Kind.REQUEST, None


def _version(root: etree._Element) -> str:
    return root.get(q("version")) or root.get("version") or ""


def read_message(body: bytes, schema: Schema | None) -> Message:
    """The message of an incoming document. Raises MessageRefused."""
    kind, header = Kind.REQUEST, None
    try:
        root = parse_xml(body)
        kind, element = _body_of(root)
        header = _header(element.find(q("header")) if element is not None else None)
        if root.tag != q("ISO18626Message"):
            raise IllError(
                ErrorType.BADLY_FORMED_MESSAGE, f"the root must be ISO18626Message in {NS}"
            )
        version = _version(root)
        if version not in VERSIONS:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"version {version!r}: one of {', '.join(VERSIONS)}",
            )
        if element is None or etree.QName(element).localname not in _KINDS:
            raise IllError(
                ErrorType.UNRECOGNISED_DATA_ELEMENT,
                "expected request, supplyingAgencyMessage or requestingAgencyMessage",
            )
        refused = schema_error(schema, root)
        if refused is not None:
            raise refused
        if header is None:
            raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "the message has no header")
        if kind is Kind.REQUEST:
            return _request(element, header)
        if kind is Kind.SUPPLYING:
            return _supplying(element, header)
        return RequestingAgencyMessage(
            header, action=Action(_text(element, "action")), note=_text(element, "note")
        )
    except IllError as exc:
        raise MessageRefused(exc, kind, header) from exc
    except ValueError as exc:  # a code outside its list, when no schema said so first
        error = IllError(ErrorType.UNRECOGNISED_DATA_VALUE, str(exc))
        raise MessageRefused(error, kind, header) from exc


def read_confirmation(body: bytes, schema: Schema | None) -> Confirmation:
    """A peer's answer to our message. Raises IllError if it is none."""
    root = parse_xml(body)
    refused = schema_error(schema, root)
    if refused is not None:
        raise refused
    for kind, name in CONFIRMATIONS.items():
        element = root.find(q(name))
        if element is None:
            continue
        status = _text(element, "confirmationHeader", "messageStatus")
        if status not in ("OK", "ERROR"):
            raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "confirmation without messageStatus")
        error_type = _text(element, "errorData", "errorType")
        return Confirmation(
            kind=kind,
            header=None,
            ok=status == "OK",
            error_type=ErrorType(error_type) if error_type else None,
            error_value=_text(element, "errorData", "errorValue"),
        )
    raise IllError(ErrorType.BADLY_FORMED_MESSAGE, "the answer is no ISO 18626 confirmation")


# --- writing ---------------------------------------------------------------------------------
def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, q(name))
    if text is not None:
        element.text = text
    return element


def _add_if(parent: etree._Element, name: str, text: str) -> None:
    if text:
        _add(parent, name, text)


def _add_agency(parent: etree._Element, name: str, symbol: str) -> None:
    kind, value = split_symbol(symbol)
    agency = _add(parent, name)
    _add(agency, "agencyIdType", kind)
    _add(agency, "agencyIdValue", value)


def _add_costs(parent: etree._Element, name: str, costs: str) -> None:
    found = _COSTS.match(costs)
    if found is None:
        return
    try:
        value = Decimal(found.group(1))
    except InvalidOperation:
        return
    element = _add(parent, name)
    _add(element, "currencyCode", found.group(2).upper())
    _add(element, "monetaryValue", f"{value:.2f}")


def _date_time(text: str) -> str:
    """`text` if it is an xs:dateTime, else now (a confirmation must carry a valid one)."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now_text()
    return text if "T" in text else now_text()


def _document() -> etree._Element:
    root = etree.Element(q("ISO18626Message"), nsmap={"ill": NS})
    root.set(q("version"), VERSION)
    return root


def _add_header(parent: etree._Element, header: Header) -> None:
    element = _add(parent, "header")
    _add_agency(element, "supplyingAgencyId", header.supplying)
    _add_agency(element, "requestingAgencyId", header.requesting)
    _add(element, "multipleItemRequestId", header.multiple_item_request_id)
    _add(element, "timestamp", _date_time(header.timestamp))
    _add(element, "requestingAgencyRequestId", header.requesting_request_id)
    _add_if(element, "supplyingAgencyRequestId", header.supplying_request_id)


def _write_request(root: etree._Element, request: IllRequest) -> None:
    body = _add(root, "request")
    _add_header(body, request.header)
    bib = _add(body, "bibliographicInfo")
    _add_if(bib, "supplierUniqueRecordId", request.supplier_unique_record_id)
    _add_if(bib, "title", request.title)
    _add_if(bib, "author", request.author)
    for code, value in (("ISBN", request.isbn), ("ISSN", request.issn)):
        if value:
            item = _add(bib, "bibliographicItemId")
            _add(item, "bibliographicItemIdentifier", value)
            _add(item, "bibliographicItemIdentifierCode", code)
    if request.service_type is not None:
        service = _add(body, "serviceInfo")
        _add_if(service, "requestType", request.request_type)
        _add_if(service, "requestingAgencyPreviousRequestId", request.previous_request_id)
        _add(service, "serviceType", str(request.service_type))
        _add_if(service, "note", request.note)
    if request.requester_url or request.requester_name:
        info = _add(body, "requestingAgencyInfo")
        _add_if(info, "name", request.requester_name)
        if request.requester_url:
            address = _add(_add(info, "address"), "electronicAddress")
            _add(address, "electronicAddressType", "URL")
            _add(address, "electronicAddressData", request.requester_url)


def _write_supplying(root: etree._Element, message: SupplyingAgencyMessage) -> None:
    body = _add(root, "supplyingAgencyMessage")
    _add_header(body, message.header)
    info = _add(body, "messageInfo")
    _add(info, "reasonForMessage", str(message.reason))
    _add_if(info, "answerYesNo", message.answer_yes_no)
    _add_if(info, "note", message.note)
    _add_if(info, "reasonUnfilled", message.reason_unfilled)
    _add_if(info, "reasonRetry", message.reason_retry)
    _add_costs(info, "offeredCosts", message.offered_costs)
    status = _add(body, "statusInfo")
    _add(status, "status", str(message.status) if message.status is not None else "")
    _add_if(status, "dueDate", message.due_date)
    _add(status, "lastChange", _date_time(message.last_change))
    if message.date_sent:
        delivery = _add(body, "deliveryInfo")
        _add(delivery, "dateSent", message.date_sent)
        _add_if(delivery, "itemId", message.item_id)
        _add_if(delivery, "sentVia", message.sent_via)
        _add_if(delivery, "loanCondition", message.loan_condition)
        _add_if(delivery, "deliveredFormat", message.delivered_format)
        _add_costs(delivery, "deliveryCosts", message.delivery_costs)


def _serialised(root: etree._Element, schema: Schema | None) -> bytes:
    refused = schema_error(schema, root)
    if refused is not None:
        raise InvalidOwnMessage(refused.value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def write_message(message: Message, schema: Schema | None) -> bytes:
    root = _document()
    if isinstance(message, IllRequest):
        _write_request(root, message)
    elif isinstance(message, SupplyingAgencyMessage):
        _write_supplying(root, message)
    else:
        body = _add(root, "requestingAgencyMessage")
        _add_header(body, message.header)
        _add(body, "action", str(message.action))
        _add_if(body, "note", message.note)
    return _serialised(root, schema)


def write_confirmation(confirmation: Confirmation, schema: Schema | None) -> bytes:
    root = _document()
    body = _add(root, CONFIRMATIONS[confirmation.kind])
    header = _add(body, "confirmationHeader")
    echoed = confirmation.header
    if echoed is not None and echoed.supplying.strip(":"):
        _add_agency(header, "supplyingAgencyId", echoed.supplying)
    if echoed is not None and echoed.requesting.strip(":"):
        _add_agency(header, "requestingAgencyId", echoed.requesting)
    _add(header, "timestamp", confirmation.timestamp)
    if echoed is not None and echoed.requesting_request_id:
        _add(header, "requestingAgencyRequestId", echoed.requesting_request_id)
    _add(header, "timestampReceived", _date_time(echoed.timestamp if echoed else ""))
    _add(header, "messageStatus", "OK" if confirmation.ok else "ERROR")
    if confirmation.reason is not None:
        _add(body, "reasonForMessage", str(confirmation.reason))
    if confirmation.action is not None:
        _add(body, "action", str(confirmation.action))
    if not confirmation.ok:
        error = _add(body, "errorData")
        _add(error, "errorType", str(confirmation.error_type or ErrorType.BADLY_FORMED_MESSAGE))
        _add_if(error, "errorValue", confirmation.error_value)
    return _serialised(root, schema)
