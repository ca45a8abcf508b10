"""The Z39.50-1995 PDUs this target speaks: request parsers and response builders over BER.

Tag numbers follow the standard's ASN.1 module Z39-50-APDU-1995 (Appendix 1 of ANSI/NISO
Z39.50-1995). That module has no `IMPLICIT TAGS` default, so a tag written without
`IMPLICIT` (e.g. `query [21] Query`, `record [1] CHOICE`) wraps its value explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from protocols.z3950.ber import (
    CONTEXT,
    GENERAL_STRING,
    OBJECT_IDENTIFIER,
    SEQUENCE,
    UNIVERSAL,
    VISIBLE_STRING,
    BerError,
    Element,
    ctx,
    ctx_bits,
    ctx_boolean,
    ctx_integer,
    ctx_string,
    external,
    general_string,
    oid_content,
    sequence,
    tlv,
    universal_integer,
    universal_oid,
)

Oid = tuple[int, ...]

BIB1_ATTRIBUTE_SET: Final[Oid] = (1, 2, 840, 10003, 3, 1)
BIB1_DIAGNOSTIC_SET: Final[Oid] = (1, 2, 840, 10003, 4, 1)
DIAG_1_FORMAT: Final[Oid] = (1, 2, 840, 10003, 4, 2)
USER_INFO_1: Final[Oid] = (1, 2, 840, 10003, 10, 3)
USMARC_SYNTAX: Final[Oid] = (1, 2, 840, 10003, 5, 10)
XML_SYNTAX: Final[Oid] = (1, 2, 840, 10003, 5, 109, 10)


class PduTag(IntEnum):
    """Context tags of the PDU CHOICE."""

    INIT_REQUEST = 20
    INIT_RESPONSE = 21
    SEARCH_REQUEST = 22
    SEARCH_RESPONSE = 23
    PRESENT_REQUEST = 24
    PRESENT_RESPONSE = 25
    DELETE_RESULT_SET_REQUEST = 26
    DELETE_RESULT_SET_RESPONSE = 27
    SCAN_REQUEST = 35
    SCAN_RESPONSE = 36
    SORT_REQUEST = 43
    SORT_RESPONSE = 44
    CLOSE = 48


class CloseReason(IntEnum):
    FINISHED = 0
    SHUTDOWN = 1
    SYSTEM_PROBLEM = 2
    COST_LIMIT = 3
    RESOURCES = 4
    SECURITY_VIOLATION = 5
    PROTOCOL_ERROR = 6
    LACK_OF_ACTIVITY = 7
    PEER_ABORT = 8
    UNSPECIFIED = 9


class PresentStatus(IntEnum):
    SUCCESS = 0
    PARTIAL_MESSAGE_SIZE = 2  # partial-2: the rest did not fit the preferred message size
    PARTIAL_DIAGNOSTICS = 4  # partial-4: some records are surrogate diagnostics
    FAILURE = 5


class Option(IntEnum):
    """Bits of the Init Options BIT STRING."""

    SEARCH = 0
    PRESENT = 1
    DELETE_RESULT_SET = 2
    SCAN = 7
    NAMED_RESULT_SETS = 14


# --- requests ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitRequest:
    reference_id: bytes | None
    versions: list[bool]
    options: list[bool]
    preferred_message_size: int
    exceptional_record_size: int
    user: str | None = None
    password: str | None = None
    implementation: str = ""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    reference_id: bytes | None
    small_set_upper_bound: int
    large_set_lower_bound: int
    medium_set_present_number: int
    replace_indicator: bool
    result_set_name: str
    database_names: list[str]
    small_set_element_set: str | None
    medium_set_element_set: str | None
    record_syntax: Oid | None
    query: Element  # the Query CHOICE value inside the explicit [21]


@dataclass(frozen=True, slots=True)
class PresentRequest:
    reference_id: bytes | None
    result_set_id: str
    start_point: int
    count: int
    element_set: str | None
    record_syntax: Oid | None
    additional_ranges: bool
    comp_spec: bool


@dataclass(frozen=True, slots=True)
class ScanRequest:
    reference_id: bytes | None
    database_names: list[str]
    attribute_set: Oid | None
    term_and_start: Element  # AttributesPlusTerm
    step_size: int
    number_of_terms: int
    preferred_position: int


@dataclass(frozen=True, slots=True)
class DeleteResultSetRequest:
    reference_id: bytes | None
    delete_all: bool
    result_set_names: list[str]


@dataclass(frozen=True, slots=True)
class CloseRequest:
    reference_id: bytes | None
    reason: int
    message: str


def _required(element: Element, number: int, what: str) -> Element:
    found = element.child(number)
    if found is None:
        raise BerError(f"{what} [{number}] is missing")
    return found


def _reference_id(pdu: Element) -> bytes | None:
    found = pdu.child(2)
    return found.octets() if found is not None else None


def _optional_int(pdu: Element, number: int, default: int) -> int:
    found = pdu.child(number)
    return found.integer() if found is not None else default


def _element_set_name(wrapper: Element | None) -> str | None:
    """ElementSetNames behind an explicit tag: the generic name, or the first database's."""
    if wrapper is None:
        return None
    names = wrapper.only_child()
    if names.is_tag(CONTEXT, 0):
        return names.string()
    if names.is_tag(CONTEXT, 1):
        for pair in names.children:
            esn = pair.child(103)
            if esn is not None:
                return esn.string()
    raise BerError("ElementSetNames is neither generic nor database-specific")


def parse_init_request(pdu: Element) -> InitRequest:
    user = password = None
    auth = pdu.child(7)
    if auth is not None:
        form = auth.only_child()
        if form.cls == UNIVERSAL and form.number in (VISIBLE_STRING, GENERAL_STRING):
            # `open` form: YAZ sends "user/password" here
            user, _, rest = form.string().partition("/")
            password = rest or None
        elif form.is_tag(UNIVERSAL, SEQUENCE):
            user_el, password_el = form.child(1), form.child(2)
            user = user_el.string() if user_el is not None else None
            password = password_el.string() if password_el is not None else None
    name_parts = [pdu.child(n) for n in (111, 112)]
    implementation = " ".join(part.string() for part in name_parts if part is not None)
    return InitRequest(
        reference_id=_reference_id(pdu),
        versions=_required(pdu, 3, "protocolVersion").bits(),
        options=_required(pdu, 4, "options").bits(),
        preferred_message_size=_required(pdu, 5, "preferredMessageSize").integer(),
        exceptional_record_size=_required(pdu, 6, "exceptionalRecordSize").integer(),
        user=user or None,
        password=password,
        implementation=implementation,
    )


def parse_search_request(pdu: Element) -> SearchRequest:
    databases = _required(pdu, 18, "databaseNames")
    syntax = pdu.child(104)
    return SearchRequest(
        reference_id=_reference_id(pdu),
        small_set_upper_bound=_required(pdu, 13, "smallSetUpperBound").integer(),
        large_set_lower_bound=_required(pdu, 14, "largeSetLowerBound").integer(),
        medium_set_present_number=_required(pdu, 15, "mediumSetPresentNumber").integer(),
        replace_indicator=_required(pdu, 16, "replaceIndicator").boolean(),
        result_set_name=_required(pdu, 17, "resultSetName").string(),
        database_names=[name.string() for name in databases.children],
        small_set_element_set=_element_set_name(pdu.child(100)),
        medium_set_element_set=_element_set_name(pdu.child(101)),
        record_syntax=syntax.oid() if syntax is not None else None,
        query=_required(pdu, 21, "query").only_child(),
    )


def parse_present_request(pdu: Element) -> PresentRequest:
    syntax = pdu.child(104)
    return PresentRequest(
        reference_id=_reference_id(pdu),
        result_set_id=_required(pdu, 31, "resultSetId").string(),
        start_point=_required(pdu, 30, "resultSetStartPoint").integer(),
        count=_required(pdu, 29, "numberOfRecordsRequested").integer(),
        element_set=_element_set_name(pdu.child(19)),
        record_syntax=syntax.oid() if syntax is not None else None,
        additional_ranges=pdu.child(212) is not None,
        comp_spec=pdu.child(209) is not None,
    )


def parse_scan_request(pdu: Element) -> ScanRequest:
    databases = _required(pdu, 3, "databaseNames")
    attribute_set = next(
        (c.oid() for c in pdu.children if c.is_tag(UNIVERSAL, OBJECT_IDENTIFIER)), None
    )
    return ScanRequest(
        reference_id=_reference_id(pdu),
        database_names=[name.string() for name in databases.children],
        attribute_set=attribute_set,
        term_and_start=_required(pdu, 102, "termListAndStartPoint"),
        step_size=_optional_int(pdu, 5, 0),
        number_of_terms=_required(pdu, 6, "numberOfTermsRequested").integer(),
        preferred_position=_optional_int(pdu, 7, 1),
    )


def parse_delete_result_set_request(pdu: Element) -> DeleteResultSetRequest:
    names = [
        name.string()
        for wrapper in pdu.children
        if wrapper.is_tag(UNIVERSAL, SEQUENCE)
        for name in wrapper.children
    ]
    return DeleteResultSetRequest(
        reference_id=_reference_id(pdu),
        delete_all=_required(pdu, 32, "deleteFunction").integer() == 1,
        result_set_names=names,
    )


def parse_close(pdu: Element) -> CloseRequest:
    message = pdu.child(3)
    return CloseRequest(
        reference_id=_reference_id(pdu),
        reason=_required(pdu, 211, "closeReason").integer(),
        message=message.string() if message is not None else "",
    )


# --- responses -----------------------------------------------------------------------


def _head(reference_id: bytes | None) -> bytes:
    return ctx_string(2, reference_id) if reference_id is not None else b""


def default_diagnostic(condition: int, addinfo: str = "") -> bytes:
    """DefaultDiagFormat: Bib-1 set, condition, v3 addinfo (an InternationalString)."""
    return sequence(
        universal_oid(BIB1_DIAGNOSTIC_SET), universal_integer(condition), general_string(addinfo)
    )


def init_diagnostics_info(condition: int, addinfo: str) -> bytes:
    """userInformationField of a refused Init: UserInfo-1 carrying one diag-1 record.

    This is where YAZ-based origins look for the reason an Init was refused.
    """
    diag_1 = sequence(sequence(ctx(1, ctx(1, *_diag_fields(condition, addinfo)))))
    unit = sequence(ctx(4, *_external_fields(DIAG_1_FORMAT, diag_1)))
    return external(USER_INFO_1, single_type=ctx(201, unit))


def _diag_fields(condition: int, addinfo: str) -> tuple[bytes, ...]:
    return (
        universal_oid(BIB1_DIAGNOSTIC_SET),
        universal_integer(condition),
        general_string(addinfo),
    )


def _external_fields(direct_reference: Oid, value: bytes) -> tuple[bytes, ...]:
    return (universal_oid(direct_reference), ctx(0, value))


def init_response(
    request: InitRequest,
    *,
    accepted: bool,
    versions: Sequence[bool],
    options: Sequence[bool],
    preferred_message_size: int,
    exceptional_record_size: int,
    implementation_id: str,
    implementation_name: str,
    implementation_version: str,
    user_information: bytes | None = None,
) -> bytes:
    return ctx(
        PduTag.INIT_RESPONSE,
        _head(request.reference_id),
        ctx_bits(3, versions),
        ctx_bits(4, options),
        ctx_integer(5, preferred_message_size),
        ctx_integer(6, exceptional_record_size),
        ctx_boolean(12, accepted),
        ctx_string(110, implementation_id),
        ctx_string(111, implementation_name),
        ctx_string(112, implementation_version),
        ctx(11, user_information) if user_information is not None else b"",
    )


def retrieval_record(database: str, syntax: Oid, data: bytes) -> bytes:
    """NamePlusRecord with a retrievalRecord EXTERNAL holding octet-aligned record data."""
    return sequence(ctx_string(0, database), ctx(1, ctx(1, external(syntax, octets=data))))


def surrogate_diagnostic(database: str, condition: int, addinfo: str = "") -> bytes:
    return sequence(ctx_string(0, database), ctx(1, ctx(2, default_diagnostic(condition, addinfo))))


def response_records(records: Sequence[bytes]) -> bytes:
    return ctx(28, *records)


def non_surrogate_diagnostic(condition: int, addinfo: str = "") -> bytes:
    return ctx(130, *_diag_fields(condition, addinfo))


def search_response(
    reference_id: bytes | None,
    *,
    result_count: int,
    returned: int,
    next_position: int,
    succeeded: bool,
    present_status: PresentStatus | None = None,
    records: bytes = b"",
) -> bytes:
    return ctx(
        PduTag.SEARCH_RESPONSE,
        _head(reference_id),
        ctx_integer(23, result_count),
        ctx_integer(24, returned),
        ctx_integer(25, next_position),
        ctx_boolean(22, succeeded),
        b"" if succeeded else ctx_integer(26, 3),  # resultSetStatus none: no set was made
        ctx_integer(27, present_status) if present_status is not None else b"",
        records,
    )


def present_response(
    reference_id: bytes | None,
    *,
    returned: int,
    next_position: int,
    status: PresentStatus,
    records: bytes,
) -> bytes:
    return ctx(
        PduTag.PRESENT_RESPONSE,
        _head(reference_id),
        ctx_integer(24, returned),
        ctx_integer(25, next_position),
        ctx_integer(27, status),
        records,
    )


SCAN_SUCCESS: Final = 0
SCAN_PARTIAL_END_OF_LIST: Final = 5  # partial-5: the term list ended early
SCAN_FAILURE: Final = 6


def scan_response(
    reference_id: bytes | None,
    *,
    status: int,
    entries: Sequence[tuple[str, int]] = (),
    position: int | None = None,
    diagnostic: tuple[int, str] | None = None,
) -> bytes:
    if diagnostic is not None:
        listed = ctx(2, default_diagnostic(*diagnostic))
    else:
        listed = ctx(
            1,
            *(
                ctx(1, tlv(CONTEXT, 45, term.encode("utf-8")), ctx_integer(2, count))
                for term, count in entries
            ),
        )
    return ctx(
        PduTag.SCAN_RESPONSE,
        _head(reference_id),
        ctx_integer(3, 0),
        ctx_integer(4, status),
        ctx_integer(5, len(entries)),
        ctx_integer(6, position) if position is not None else b"",
        ctx(7, listed),
    )


def delete_result_set_response(
    reference_id: bytes | None, *, status: int, statuses: Sequence[tuple[str, int]] = ()
) -> bytes:
    listed = (
        ctx(1, *(sequence(ctx_string(31, name), ctx_integer(33, code)) for name, code in statuses))
        if statuses
        else b""
    )
    return ctx(
        PduTag.DELETE_RESULT_SET_RESPONSE, _head(reference_id), ctx_integer(0, status), listed
    )


def sort_response(reference_id: bytes | None, condition: int, addinfo: str) -> bytes:
    """A failed Sort: sorting is not offered, but the request gets a proper answer."""
    return ctx(
        PduTag.SORT_RESPONSE,
        _head(reference_id),
        ctx_integer(3, 2),
        ctx(5, default_diagnostic(condition, addinfo)),
    )


def close_pdu(reason: CloseReason, message: str = "", reference_id: bytes | None = None) -> bytes:
    return ctx(
        PduTag.CLOSE,
        _head(reference_id),
        ctx_integer(211, reason),
        ctx_string(3, message) if message else b"",
    )


# --- requests, as an origin sends them (the benchmark and the tests speak these) ------


def init_request(
    *,
    user: str | None = None,
    password: str | None = None,
    preferred_message_size: int = 1024 * 1024,
    exceptional_record_size: int = 8 * 1024 * 1024,
) -> bytes:
    auth = b""
    if user is not None:
        auth = ctx(7, sequence(ctx_string(1, user), ctx_string(2, password or "")))
    return ctx(
        PduTag.INIT_REQUEST,
        ctx_bits(3, [True, True, True]),
        ctx_bits(4, _flags(Option.SEARCH, Option.PRESENT, Option.SCAN)),
        ctx_integer(5, preferred_message_size),
        ctx_integer(6, exceptional_record_size),
        auth,
        ctx_string(110, "melinda-gateway-origin"),
    )


def rpn_term_query(use: int, term: str, *, extra: Sequence[tuple[int, int]] = ()) -> bytes:
    """A type-1 query of one Bib-1 term: `@attr 1=use [@attr t=v ...] term`."""
    attributes = [
        sequence(ctx_integer(120, attr_type), ctx_integer(121, value))
        for attr_type, value in ((1, use), *extra)
    ]
    operand = ctx(102, ctx(44, *attributes), tlv(CONTEXT, 45, term.encode("utf-8")))
    return ctx(1, universal_oid(BIB1_ATTRIBUTE_SET), ctx(0, operand))


def search_request(
    query: bytes,
    *,
    database: str = "fin01",
    result_set: str = "default",
    piggyback: int = 0,
    syntax: Oid | None = None,
) -> bytes:
    """A Search; with `piggyback` > 0, up to that many records come back in the response."""
    return ctx(
        PduTag.SEARCH_REQUEST,
        ctx_integer(13, piggyback),
        ctx_integer(14, piggyback + 1),
        ctx_integer(15, piggyback),
        ctx_boolean(16, True),
        ctx_string(17, result_set),
        ctx(18, ctx_string(105, database)),
        ctx(100, ctx_string(0, "F")) if piggyback else b"",
        tlv(CONTEXT, 104, oid_content(syntax)) if syntax is not None else b"",
        ctx(21, query),
    )


def present_request(
    start: int,
    count: int,
    *,
    syntax: Oid = USMARC_SYNTAX,
    result_set: str = "default",
    element_set: str = "F",
) -> bytes:
    return ctx(
        PduTag.PRESENT_REQUEST,
        ctx_string(31, result_set),
        ctx_integer(30, start),
        ctx_integer(29, count),
        ctx(19, ctx_string(0, element_set)),
        tlv(CONTEXT, 104, oid_content(syntax)),
    )


def scan_request(use: int, term: str, count: int = 20, *, database: str = "fin01") -> bytes:
    attributes = ctx(44, sequence(ctx_integer(120, 1), ctx_integer(121, use)))
    return ctx(
        PduTag.SCAN_REQUEST,
        ctx(3, ctx_string(105, database)),
        universal_oid(BIB1_ATTRIBUTE_SET),
        ctx(102, attributes, tlv(CONTEXT, 45, term.encode("utf-8"))),
        ctx_integer(6, count),
    )


def close_request(reason: CloseReason = CloseReason.FINISHED) -> bytes:
    return close_pdu(reason)


def _flags(*bits: int) -> list[bool]:
    flags = [False] * (max(bits) + 1)
    for bit in bits:
        flags[bit] = True
    return flags
