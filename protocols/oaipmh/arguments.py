"""The OAI-PMH verb table and argument rules: raw request arguments in, a checked request out."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from protocols.oaipmh.errors import (
    BAD_ARGUMENT,
    BAD_VERB,
    CANNOT_DISSEMINATE_FORMAT,
    ID_DOES_NOT_EXIST,
    OaiError,
)
from protocols.oaipmh.metadata import METADATA_FORMATS

IDENTIFY = "Identify"
LIST_METADATA_FORMATS = "ListMetadataFormats"
LIST_SETS = "ListSets"
GET_RECORD = "GetRecord"
LIST_IDENTIFIERS = "ListIdentifiers"
LIST_RECORDS = "ListRecords"


@dataclass(frozen=True, slots=True)
class VerbRule:
    """Which arguments a verb requires, which it allows, and whether it can resume."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    resumable: bool = False


_LIST_RULE = VerbRule(
    required=frozenset({"metadataPrefix"}),
    optional=frozenset({"from", "until", "set"}),
    resumable=True,
)

VERBS: dict[str, VerbRule] = {
    IDENTIFY: VerbRule(),
    LIST_METADATA_FORMATS: VerbRule(optional=frozenset({"identifier"})),
    LIST_SETS: VerbRule(resumable=True),
    GET_RECORD: VerbRule(required=frozenset({"identifier", "metadataPrefix"})),
    LIST_IDENTIFIERS: _LIST_RULE,
    LIST_RECORDS: _LIST_RULE,
}

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# the XSD patterns of metadataPrefixType and setSpecType: a value that breaks them is bad syntax
_PREFIX_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SET_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_ID_DIGITS = re.compile(r"\d{1,9}")


@dataclass(frozen=True, slots=True)
class OaiRequest:
    """A request whose verb and arguments passed every syntactic rule."""

    verb: str
    arguments: dict[str, str]  # echoed as attributes of <request>
    metadata_prefix: str | None = None
    identifier: str | None = None
    since: int | None = None  # inclusive, epoch seconds UTC
    until: int | None = None  # inclusive
    set_spec: str | None = None
    resumption_token: str | None = None
    notes: list[str] = field(default_factory=list)


def parse_request(pairs: Sequence[tuple[str, str]]) -> OaiRequest:
    """Check verb and arguments in the order OAI-PMH 2.0 (3.6) gives its errors. Raises OaiError."""
    arguments: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in arguments:
            repeated.add(name)
        arguments[name] = value

    verb = arguments.get("verb")
    if verb is None:
        raise OaiError(BAD_VERB, "The verb argument is missing")
    if "verb" in repeated:
        raise OaiError(BAD_VERB, "The verb argument is repeated")
    rule = VERBS.get(verb)
    if rule is None:
        raise OaiError(BAD_VERB, f"Illegal verb: {verb}")

    given = {name for name in arguments if name != "verb"}
    if repeated:
        raise OaiError(BAD_ARGUMENT, f"Repeated argument: {', '.join(sorted(repeated))}")
    allowed = rule.required | rule.optional | ({"resumptionToken"} if rule.resumable else set())
    illegal = given - allowed
    if illegal:
        raise OaiError(BAD_ARGUMENT, f"Illegal argument for {verb}: {', '.join(sorted(illegal))}")
    empty = sorted(name for name in given if not arguments[name])
    if empty:
        raise OaiError(BAD_ARGUMENT, f"Empty argument: {', '.join(empty)}")
    echo = echo_arguments(pairs)

    if "resumptionToken" in given:
        if given != {"resumptionToken"}:
            raise OaiError(BAD_ARGUMENT, "resumptionToken is an exclusive argument")
        return OaiRequest(verb, echo, resumption_token=arguments["resumptionToken"])

    missing = rule.required - given
    if missing:
        raise OaiError(BAD_ARGUMENT, f"Missing argument for {verb}: {', '.join(sorted(missing))}")

    since, until = parse_range(arguments.get("from"), arguments.get("until"))
    set_spec = arguments.get("set")
    if set_spec is not None and not _SET_SYNTAX.fullmatch(set_spec):
        raise OaiError(BAD_ARGUMENT, f"Malformed set spec: {set_spec}")
    prefix = arguments.get("metadataPrefix")
    if prefix is not None:
        if not _PREFIX_SYNTAX.fullmatch(prefix):
            raise OaiError(BAD_ARGUMENT, f"Malformed metadataPrefix: {prefix}")
        if prefix not in METADATA_FORMATS:
            raise OaiError(CANNOT_DISSEMINATE_FORMAT, f"Unsupported metadata format: {prefix}")
    return OaiRequest(
        verb,
        echo,
        metadata_prefix=prefix,
        identifier=arguments.get("identifier"),
        since=since,
        until=until,
        set_spec=set_spec,
    )


def echo_arguments(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The `<request>` attributes of a request whose arguments are legal: verb first."""
    arguments = dict(pairs)
    return {
        "verb": arguments["verb"],
        **{k: arguments[k] for k in sorted(arguments) if k != "verb"},
    }


def parse_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """`from` and `until` as inclusive epoch seconds; day granularity covers the whole day."""
    start = parse_datestamp(since, "from", end_of_day=False) if since is not None else None
    end = parse_datestamp(until, "until", end_of_day=True) if until is not None else None
    if since is not None and until is not None and len(since) != len(until):
        raise OaiError(BAD_ARGUMENT, "from and until must have the same granularity")
    if start is not None and end is not None and start > end:
        raise OaiError(BAD_ARGUMENT, "from is later than until")
    return start, end


def parse_datestamp(value: str, name: str, *, end_of_day: bool) -> int:
    """YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (the repository's granularity) as epoch seconds."""
    try:
        if _DAY.fullmatch(value):
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return calendar.timegm(day.timetuple()) + (86_399 if end_of_day else 0)
        if _SECONDS.fullmatch(value):
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            return calendar.timegm(moment.timetuple())
    except ValueError:
        pass
    raise OaiError(BAD_ARGUMENT, f"Illegal {name} datestamp: {value}")


@lru_cache(maxsize=4096)
def format_datestamp(epoch: int) -> str:
    """Seconds since the epoch as an OAI-PMH UTC datestamp."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_identifier(identifier: str, prefix: str) -> int:
    """The Melinda ID of `oai:melinda.kansalliskirjasto.fi/000123456` (unpadded accepted)."""
    if identifier.startswith(prefix):
        local = identifier[len(prefix) :]
        if _ID_DIGITS.fullmatch(local) and int(local) > 0:
            return int(local)
    raise OaiError(ID_DOES_NOT_EXIST, f"Unknown or illegal identifier: {identifier}")


def format_identifier(record_id: int, prefix: str) -> str:
    return f"{prefix}{record_id:09d}"
