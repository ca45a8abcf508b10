"""Reads an SRU request's parameters into a typed request, refusing bad ones with SruError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from protocols.sru.diagnostics import SruError
from protocols.sru.records import DEFAULT_SCHEMA, RecordSchema, find_schema

VERSIONS: Final = ("1.1", "1.2", "2.0")
DEFAULT_VERSION: Final = "2.0"  # Melinda answers 2.0 unless asked otherwise
OPERATIONS: Final = ("searchRetrieve", "scan", "explain")

# Melinda publishes neither figure; 10 is SRU servers' usual default page, and 1000 is
# the page NatLibFi's own sru-client asks for by default, so Melinda serves at least that.
DEFAULT_MAXIMUM_RECORDS: Final = 10
MAXIMUM_RECORDS: Final = 1000
DEFAULT_MAXIMUM_TERMS: Final = 20
MAXIMUM_TERMS: Final = 1000

_COMMON: Final = frozenset({"operation", "version", "stylesheet"})
# Parameters each operation understands, per version family; others are diagnostic 8.
PARAMETERS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("1", "searchRetrieve"): _COMMON
    | {
        "query",
        "startRecord",
        "maximumRecords",
        "recordPacking",
        "recordSchema",
        "recordXPath",
        "resultSetTTL",
        "sortKeys",
        "extraRequestData",
    },
    ("2", "searchRetrieve"): _COMMON
    | {
        "query",
        "queryType",
        "startRecord",
        "maximumRecords",
        "recordXMLEscaping",
        "recordPacking",
        "recordSchema",
        "resultSetTTL",
        "sortKeys",
        "renderedBy",
        "httpAccept",
        "responseType",
    },
    ("1", "scan"): _COMMON | {"scanClause", "responsePosition", "maximumTerms"},
    # YAZ sends queryType with a 2.0 scan
    ("2", "scan"): _COMMON
    | {"scanClause", "responsePosition", "maximumTerms", "queryType", "httpAccept"},
    ("1", "explain"): _COMMON | {"recordPacking"},
    ("2", "explain"): _COMMON | {"recordXMLEscaping", "recordPacking", "httpAccept"},
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a response needs even when the request is refused: its version and operation."""

    version: str
    operation: str

    @property
    def is_v2(self) -> bool:
        return self.version.startswith("2")


@dataclass(frozen=True, slots=True)
class SearchRetrieveRequest:
    version: str
    query: str
    start_record: int
    maximum_records: int
    schema: RecordSchema | None  # None: unknown, diagnostic 66 after the search (as Melinda)
    schema_param: str
    string_escaping: bool  # records as escaped text (1.x recordPacking / 2.0 recordXMLEscaping)
    sort_keys: str
    echo: tuple[tuple[str, str], ...]  # the parameters given, for echoedSearchRetrieveRequest


@dataclass(frozen=True, slots=True)
class ScanRequest:
    version: str
    scan_clause: str
    response_position: int
    maximum_terms: int


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    version: str
    string_escaping: bool


# Spellings clients send for a version we speak: NatLibFi's ResolvableExtReferences validator
# sends `version=1`, which Melinda answers as 1.1; `2` and `2.00` are 2.0.
VERSION_SPELLINGS: Final[dict[str, str]] = {
    "1": "1.1",
    "1.0": "1.1",
    "1.1": "1.1",
    "1.10": "1.1",
    "1.2": "1.2",
    "1.20": "1.2",
    "2": "2.0",
    "2.0": "2.0",
    "2.00": "2.0",
}


def known_version(asked: str) -> str | None:
    """The version a client's spelling names (`1` -> 1.1), None for one we do not speak."""
    return VERSION_SPELLINGS.get(asked.strip())


def envelope(params: Mapping[str, str]) -> Envelope:
    """The version and operation to answer in; never fails (bad values are found later)."""
    asked = params.get("version", "").strip()
    fallback = "1.2" if asked.startswith("1") else DEFAULT_VERSION
    version = known_version(asked) or fallback
    operation = params.get("operation", "").strip()
    if operation not in OPERATIONS:
        if operation:
            operation = "searchRetrieve"  # an unknown operation is answered as a search
        elif "query" in params:
            operation = "searchRetrieve"
        elif "scanClause" in params:
            operation = "scan"
        else:
            operation = "explain"
    return Envelope(version, operation)


def check_common(params: Mapping[str, str], env: Envelope) -> None:
    """Version, operation and parameter names; raises SruError 4, 5, 8 or 110."""
    asked = params.get("version", "").strip()
    if asked and known_version(asked) is None:
        raise SruError(5, DEFAULT_VERSION)  # details: the highest version supported
    operation = params.get("operation", "").strip()
    if operation and operation not in OPERATIONS:
        raise SruError(4, operation)
    known = PARAMETERS[(env.version[0], env.operation)]
    for name in params:
        if name not in known and not name.startswith("x-"):
            raise SruError(8, name)
    if params.get("stylesheet", "").strip():
        raise SruError(110, params["stylesheet"])


def _integer(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SruError(6, name) from None
    if value < minimum:
        raise SruError(6, name)
    return value


def _string_escaping(params: Mapping[str, str], env: Envelope) -> bool:
    if env.is_v2:
        escaping = params.get("recordXMLEscaping", "").strip() or "xml"
        if escaping not in ("xml", "string"):
            raise SruError(71, escaping)
        packing = params.get("recordPacking", "").strip() or "packed"
        if packing != "packed":
            raise SruError(71, packing)
        return escaping == "string"
    packing = params.get("recordPacking", "").strip() or "xml"
    if packing not in ("xml", "string"):
        raise SruError(71, packing)
    return packing == "string"


def parse_search_retrieve(params: Mapping[str, str], env: Envelope) -> SearchRetrieveRequest:
    query = params.get("query", "")
    if not query.strip():
        raise SruError(7, "query")
    query_type = params.get("queryType", "").strip()
    if query_type and query_type != "cql":
        raise SruError(11, query_type)
    if params.get("recordXPath", "").strip():
        raise SruError(72, params["recordXPath"])
    start = _integer(params, "startRecord", 1, 1)
    maximum = _integer(params, "maximumRecords", DEFAULT_MAXIMUM_RECORDS, 0)
    schema_param = params.get("recordSchema", "").strip()
    schema = find_schema(schema_param) if schema_param else DEFAULT_SCHEMA
    echo = tuple(
        (name, params[name].strip() if name != "query" else params[name])
        for name in ("version", "query", "startRecord", "maximumRecords", "recordPacking",
                     "recordSchema", "resultSetTTL", "sortKeys")
        if params.get(name, "").strip()
    )
    return SearchRetrieveRequest(
        version=env.version,
        query=query,
        start_record=start,
        # a larger page is not an error: SRU lets the server return fewer than asked
        maximum_records=min(maximum, MAXIMUM_RECORDS),
        schema=schema,
        schema_param=schema_param,
        string_escaping=_string_escaping(params, env),
        sort_keys=params.get("sortKeys", "").strip(),
        echo=echo,
    )


def parse_scan(params: Mapping[str, str], env: Envelope) -> ScanRequest:
    clause = params.get("scanClause", "")
    if not clause.strip():
        raise SruError(7, "scanClause")
    maximum = _integer(params, "maximumTerms", DEFAULT_MAXIMUM_TERMS, 1)
    if maximum > MAXIMUM_TERMS:
        raise SruError(121, str(MAXIMUM_TERMS))
    position = _integer(params, "responsePosition", 1, 0)
    if position > maximum + 1:
        raise SruError(120, str(position))
    return ScanRequest(env.version, clause, position, maximum)


def parse_explain(params: Mapping[str, str], env: Envelope) -> ExplainRequest:
    return ExplainRequest(env.version, _string_escaping(params, env))
