"""One Z-association: Init negotiation, the user, named result sets, and a handler per PDU.

The connection layer (server.py) hands every decoded request PDU to `Association.answer`
and writes back what it returns. Requests that cannot be served get their Bib-1
diagnostic inside the proper response PDU; only malformed or out-of-sequence PDUs end the
association (with a Close PDU, reason protocolError).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from gateway.catalog import RESULT_SET_CAP, Catalog
from gateway.errors import AuthenticationError
from gateway.model import StoredRecord, User, View
from gateway.query import Query
from protocols.z3950 import pdu as z
from protocols.z3950.ber import CONTEXT, Element
from protocols.z3950.bib1 import scan_index, to_query
from protocols.z3950.diagnostics import (
    ADDITIONAL_RANGES_UNSUPPORTED,
    COMP_SPEC_UNSUPPORTED,
    DATABASE_DOES_NOT_EXIST,
    ONLY_ZERO_STEP_SIZE,
    OUT_OF_RESOURCES,
    PERMANENT_SYSTEM_ERROR,
    PRESENT_OUT_OF_RANGE,
    RESULT_SET_DOES_NOT_EXIST,
    RESULT_SET_EXISTS,
    SCAN_POSITION_UNSUPPORTED,
    SORT_UNSUPPORTED,
    TOO_MANY_DATABASES,
    TOO_MANY_RESULT_SETS,
    Bib1Diagnostic,
    to_diagnostic,
)
from protocols.z3950.retrieval import RecordBatch, reads_stored_form, retrieve
from protocols.z3950.rpn import parse_attributes_plus_term, parse_query, pqf_text

IMPLEMENTATION_ID: Final = "melinda-gateway"
IMPLEMENTATION_NAME: Final = "Melinda gateway Z39.50 target (fin01, fin01alma)"
IMPLEMENTATION_VERSION: Final = "1.0"
# Sizes this target offers; an origin's smaller wishes win, down to a sane floor.
MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
MAX_RECORD_SIZE: Final = 64 * 1024 * 1024
MIN_MESSAGE_SIZE: Final = 64 * 1024
MAX_RESULT_SETS: Final = 64  # named result sets one association may hold
FIRST_WINDOW: Final = 100  # ids a search reads at once; a present past them reads more
# A search finding at most this many records reads them with its ids, for the Present that
# usually follows (a lookup by Melinda ID or ISBN): one thread hop instead of two.
SMALL_SET_READ: Final = 10
READ_AHEAD_OCTETS: Final = 512 * 1024  # records read ahead are kept only up to this size
MAX_PRESENT: Final = 1000  # records one Present (or piggybacked Search) returns at most
MAX_SCAN_TERMS: Final = 200
TARGET_OPTIONS: Final = (
    z.Option.SEARCH,
    z.Option.PRESENT,
    z.Option.DELETE_RESULT_SET,
    z.Option.SCAN,
    z.Option.NAMED_RESULT_SETS,
)
DATABASES: Final = {view.value: view for view in View}


class ProtocolError(Exception):
    """A PDU that breaks the protocol: the association ends with Close(protocolError)."""


@dataclass(slots=True)
class NamedResultSet:
    """A search's hits: the count, and the ids read so far (a first window, more on demand).

    Reading all of up to 20,000 ids for every search made common-word searches slow while
    most clients present only the first few; a present past the window runs the search again
    for more ids, so it sees the store as it is then (as SRU paging does).
    """

    query: Query
    total: int
    ids: list[int]
    view: View
    database: str
    # The records read with the search (one reader call): those it piggybacks, or all of a
    # small set. A Present takes them only while the store's change mark is still `mark`
    # (taken before that read: no commit by any process since), so it shows the records as
    # they are at its own time; otherwise they are dropped and it reads the store.
    first: list[StoredRecord] | None = None
    mark: object | None = None
    iso2709: bool = False  # `first` carry their stored ISO 2709 forms


@dataclass(frozen=True, slots=True)
class Reply:
    """The PDU to send back and whether the association ends after it; `journal`: what the
    journal shows of the request, from the association's own reading of it."""

    pdu: bytes
    close: bool = False
    journal: dict[str, Any] | None = None


@dataclass
class Association:
    """What one origin negotiated and built up; `answer` serves its requests one at a time."""

    catalog: Catalog
    refuse_reason: str | None = None  # set when the association cap is reached
    initialised: bool = False
    user: User | None = None
    version: int = 3
    preferred_message_size: int = MAX_MESSAGE_SIZE
    exceptional_record_size: int = MAX_RECORD_SIZE
    result_sets: dict[str, NamedResultSet] = field(default_factory=dict)

    async def answer(self, request: Element) -> Reply:
        """The reply to one request PDU. Raises ProtocolError (and BerError) for bad PDUs."""
        handler = _HANDLERS.get(request.number) if request.cls == CONTEXT else None
        if handler is None or not request.constructed:
            raise ProtocolError(f"unsupported PDU [{request.number}]")
        if not self.initialised and request.number not in (z.PduTag.INIT_REQUEST, z.PduTag.CLOSE):
            raise ProtocolError("the first PDU of an association must be an Init request")
        return await handler(self, request)

    # --- Init ------------------------------------------------------------------------

    async def _init(self, pdu: Element) -> Reply:
        request = z.parse_init_request(pdu)
        offered = request.versions[:3]
        self.version = 3 if len(offered) == 3 and offered[2] else 2
        refusal: tuple[int, str] | None = None
        if self.refuse_reason is not None:
            refusal = (OUT_OF_RESOURCES, self.refuse_reason)
        elif not any(offered):
            refusal = (PERMANENT_SYSTEM_ERROR, "no common protocol version (2 or 3)")
        elif request.user is not None and request.password is not None:
            try:
                self.user = await self.catalog.authenticate(request.user, request.password)
            except AuthenticationError as exc:
                refusal = (to_diagnostic(exc).condition, request.user)
        self.preferred_message_size = _clamp(
            request.preferred_message_size, MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE
        )
        self.exceptional_record_size = _clamp(
            request.exceptional_record_size, self.preferred_message_size, MAX_RECORD_SIZE
        )
        options = [False] * (max(TARGET_OPTIONS) + 1)
        for option in TARGET_OPTIONS:
            options[option] = option < len(request.options) and request.options[option]
        self.initialised = refusal is None
        reply = z.init_response(
            request,
            accepted=refusal is None,
            versions=[True, True, self.version == 3],
            options=options,
            preferred_message_size=self.preferred_message_size,
            exceptional_record_size=self.exceptional_record_size,
            implementation_id=IMPLEMENTATION_ID,
            implementation_name=IMPLEMENTATION_NAME,
            implementation_version=IMPLEMENTATION_VERSION,
            user_information=z.init_diagnostics_info(*refusal) if refusal else None,
        )
        return Reply(reply, close=refusal is not None)

    # --- Search ----------------------------------------------------------------------

    async def _search(self, pdu: Element) -> Reply:
        request = z.parse_search_request(pdu)
        name = request.result_set_name or "default"
        try:
            view, database = _database(request.database_names)
            attribute_set, tree = parse_query(request.query)
            query = to_query(attribute_set, tree)
            if name in self.result_sets and not request.replace_indicator:
                raise Bib1Diagnostic(RESULT_SET_EXISTS, name)
            if name not in self.result_sets and len(self.result_sets) >= MAX_RESULT_SETS:
                raise Bib1Diagnostic(TOO_MANY_RESULT_SETS, str(MAX_RESULT_SETS))
            journal = {
                "databases": ",".join(request.database_names),
                "resultSetName": request.result_set_name,
                "query": pqf_text(attribute_set, tree),
            }
            # The search and the records it may carry back in one read, all of a small set's
            # too when the store can tell later whether they are still as read.
            page = _piggyback_page(request)
            catalog = self.catalog.for_view(view)
            mark = catalog.change_mark()  # before the read: a commit during it moves the mark
            iso2709 = request.record_syntax in (None, z.USMARC_SYNTAX)
            found, first = await catalog.search_page(
                query,
                cap=max(FIRST_WINDOW, page),
                start=1,
                count=page,
                view=view,
                iso2709=iso2709,
                whole_within=SMALL_SET_READ if mark is not None else 0,
            )
        except Exception as exc:  # every failure is answered, never dropped
            diagnostic = to_diagnostic(exc)
            self.result_sets.pop(name, None)
            reply = z.search_response(
                request.reference_id,
                result_count=0,
                returned=0,
                next_position=0,
                succeeded=False,
                records=z.non_surrogate_diagnostic(diagnostic.condition, diagnostic.addinfo),
            )
            return Reply(reply)
        count = min(found.total, RESULT_SET_CAP)
        for earlier in self.result_sets.values():
            earlier.first = None  # records read ahead are kept for the latest search only
        result_set = NamedResultSet(query, count, found.ids, view, database, first, mark, iso2709)
        self.result_sets[name] = result_set
        wanted, element_set = 0, None
        if count <= request.small_set_upper_bound:
            wanted, element_set = count, request.small_set_element_set
        elif count < request.large_set_lower_bound:
            wanted = min(request.medium_set_present_number, count)
            element_set = request.medium_set_element_set
        if wanted <= 0:
            _keep_within_bound(result_set)
            return Reply(
                z.search_response(
                    request.reference_id,
                    result_count=count,
                    returned=0,
                    next_position=1,
                    succeeded=True,
                ),
                journal=journal,
            )
        batch = await self._batch(
            result_set, 1, wanted, element_set, request.record_syntax, with_search=True
        )
        _keep_within_bound(result_set)
        return Reply(
            z.search_response(
                request.reference_id,
                result_count=count,
                returned=batch.returned,
                next_position=batch.next_position(1, count),
                succeeded=True,
                present_status=batch.status,
                records=batch.records,
            ),
            journal=journal,
        )

    # --- Present ---------------------------------------------------------------------

    async def _present(self, pdu: Element) -> Reply:
        request = z.parse_present_request(pdu)
        result_set = self.result_sets.get(request.result_set_id)
        failure: Bib1Diagnostic | None = None
        if result_set is None:
            failure = Bib1Diagnostic(RESULT_SET_DOES_NOT_EXIST, request.result_set_id)
        elif request.additional_ranges:
            failure = Bib1Diagnostic(ADDITIONAL_RANGES_UNSUPPORTED)
        elif request.comp_spec:
            failure = Bib1Diagnostic(COMP_SPEC_UNSUPPORTED)
        elif not 1 <= request.start_point <= result_set.total or request.count < 0:
            failure = Bib1Diagnostic(
                PRESENT_OUT_OF_RANGE, f"{request.start_point} of {result_set.total}"
            )
        journal = {
            "resultSetId": request.result_set_id,
            "start": request.start_point,
            "count": request.count,
            "elementSet": request.element_set or "",
        }
        if failure is not None or result_set is None:
            assert failure is not None
            return Reply(_present_failure(request.reference_id, failure), journal=journal)
        batch = await self._batch(
            result_set,
            request.start_point,
            min(request.count, MAX_PRESENT),
            request.element_set,
            request.record_syntax,
        )
        return Reply(
            z.present_response(
                request.reference_id,
                returned=batch.returned,
                next_position=batch.next_position(request.start_point, result_set.total),
                status=batch.status,
                records=batch.records,
            ),
            journal=journal,
        )

    async def _batch(
        self,
        result_set: NamedResultSet,
        start: int,
        count: int,
        element_set: str | None,
        syntax: z.Oid | None,
        *,
        with_search: bool = False,
    ) -> RecordBatch:
        try:
            wanted = min(start - 1 + count, result_set.total)
            fetched = None
            first = self._first_as_read(result_set, with_search)
            if (
                first is not None
                and wanted <= len(result_set.ids)
                and (result_set.iso2709 or not reads_stored_form(syntax, element_set))
            ):
                read = {record.id for record in first}
                if read.issuperset(result_set.ids[start - 1 : wanted]):
                    fetched = first  # read with the search, and still so
            if wanted > len(result_set.ids):
                more = await self.catalog.for_view(result_set.view).search(
                    result_set.query, cap=min(RESULT_SET_CAP, max(wanted, 2 * len(result_set.ids)))
                )
                result_set.ids = more.ids
            return await retrieve(
                self.catalog.for_view(result_set.view),
                result_set.ids,
                view=result_set.view,
                database=result_set.database,
                start=start,
                count=count,
                element_set=element_set,
                syntax=syntax,
                preferred_message_size=self.preferred_message_size,
                exceptional_record_size=self.exceptional_record_size,
                fetched=fetched,
            )
        except Exception as exc:
            diagnostic = to_diagnostic(exc)
            return RecordBatch.failure(diagnostic.condition, diagnostic.addinfo)

    def _first_as_read(
        self, result_set: NamedResultSet, with_search: bool
    ) -> list[StoredRecord] | None:
        """The records read with the search when the store is as it was then (the search's
        own response always), else None (and they are dropped)."""
        if result_set.first is None or with_search:
            return result_set.first
        mark = result_set.mark
        if mark is None or mark != self.catalog.for_view(result_set.view).change_mark():
            result_set.first = None
        return result_set.first

    # --- Scan ------------------------------------------------------------------------

    async def _scan(self, pdu: Element) -> Reply:
        request = z.parse_scan_request(pdu)
        count = min(max(request.number_of_terms, 0), MAX_SCAN_TERMS)
        try:
            view, _name = _database(request.database_names)
            if request.step_size != 0:
                raise Bib1Diagnostic(ONLY_ZERO_STEP_SIZE, str(request.step_size))
            if not 1 <= request.preferred_position <= count + 1:
                raise Bib1Diagnostic(SCAN_POSITION_UNSUPPORTED, str(request.preferred_position))
            term = parse_attributes_plus_term(request.term_and_start)
            index, start = scan_index(request.attribute_set or z.BIB1_ATTRIBUTE_SET, term)
            terms = []
            if count:
                terms = await self.catalog.for_view(view).scan(
                    index, start, count=count, position=request.preferred_position
                )
        except Exception as exc:
            diagnostic = to_diagnostic(exc)
            return Reply(
                z.scan_response(
                    request.reference_id,
                    status=z.SCAN_FAILURE,
                    diagnostic=(diagnostic.condition, diagnostic.addinfo),
                )
            )
        entries = [(found.term, found.count) for found in terms]
        before = sum(1 for found in terms if found.term.casefold() < start.casefold())
        return Reply(
            z.scan_response(
                request.reference_id,
                status=z.SCAN_SUCCESS if len(entries) >= count else z.SCAN_PARTIAL_END_OF_LIST,
                entries=entries,
                position=before + 1,
            )
        )

    # --- Delete result set, Sort, Close -------------------------------------------------

    async def _delete_result_set(self, pdu: Element) -> Reply:
        request = z.parse_delete_result_set_request(pdu)
        if request.delete_all:
            self.result_sets.clear()
            return Reply(z.delete_result_set_response(request.reference_id, status=0))
        statuses = [
            (name, 0 if self.result_sets.pop(name, None) is not None else 1)
            for name in request.result_set_names
        ]
        overall = 0 if all(code == 0 for _, code in statuses) else 9  # notAllRequested...
        return Reply(
            z.delete_result_set_response(request.reference_id, status=overall, statuses=statuses)
        )

    async def _sort(self, pdu: Element) -> Reply:
        reference = pdu.child(2)
        return Reply(
            z.sort_response(
                reference.octets() if reference is not None else None,
                SORT_UNSUPPORTED,
                "sorting is not offered; SRU sortKeys sort",
            )
        )

    async def _close(self, pdu: Element) -> Reply:
        request = z.parse_close(pdu)
        return Reply(z.close_pdu(z.CloseReason.FINISHED, "", request.reference_id), close=True)


# The dispatch table: request PDU tag -> handler. Any other PDU is a protocol error.
_HANDLERS: Final[dict[int, Callable[[Association, Element], Awaitable[Reply]]]] = {
    z.PduTag.INIT_REQUEST: Association._init,
    z.PduTag.SEARCH_REQUEST: Association._search,
    z.PduTag.PRESENT_REQUEST: Association._present,
    z.PduTag.DELETE_RESULT_SET_REQUEST: Association._delete_result_set,
    z.PduTag.SCAN_REQUEST: Association._scan,
    z.PduTag.SORT_REQUEST: Association._sort,
    z.PduTag.CLOSE: Association._close,
}


def _database(names: list[str]) -> tuple[View, str]:
    """The view the database names select: `fin01`, `fin01alma` or Asteri's `fin11`,
    case-insensitive."""
    if not names:
        raise Bib1Diagnostic(DATABASE_DOES_NOT_EXIST, "no database named")
    views = set()
    for name in names:
        view = DATABASES.get(name.strip().lower())
        if view is None:
            raise Bib1Diagnostic(DATABASE_DOES_NOT_EXIST, name)
        views.add(view)
    if len(views) > 1:
        raise Bib1Diagnostic(TOO_MANY_DATABASES, "search one database at a time")
    return views.pop(), names[0]


def _keep_within_bound(result_set: NamedResultSet) -> None:
    """Records read ahead stay for a Present only when the store can tell they are still as
    read, and within READ_AHEAD_OCTETS."""
    first = result_set.first
    if first is None:
        return
    if result_set.mark is None or (
        sum(len(record.xml) + len(record.iso2709 or b"") for record in first) > READ_AHEAD_OCTETS
    ):
        result_set.first = None


def _piggyback_page(request: z.SearchRequest) -> int:
    """The most records a Search may carry back (its small set, or its medium set's
    present number when a medium set can occur), at most MAX_PRESENT."""
    small = request.small_set_upper_bound
    medium = request.medium_set_present_number
    if request.large_set_lower_bound <= small + 1:
        medium = 0  # a set is small or large: never medium
    return _clamp(max(small, medium), 0, MAX_PRESENT)


def _present_failure(reference_id: bytes | None, diagnostic: Bib1Diagnostic) -> bytes:
    return z.present_response(
        reference_id,
        returned=0,
        next_position=0,
        status=z.PresentStatus.FAILURE,
        records=z.non_surrogate_diagnostic(diagnostic.condition, diagnostic.addinfo),
    )


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
