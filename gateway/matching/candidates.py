"""Candidate search and match detection: Melinda's three matchers run in order over the catalog.

As `melinda-record-matching` with the packages `melinda-rest-api-validator` configures:
IDS (`melinda.melindaid` from 001/035 $a $z, `melinda.sourceid` from SID; at most 50
candidates), STANDARD_IDS (`dc.identifier` from 015/020/022/024/028, values cut to 40
characters, two per query joined by `or`; 50), CONTENT (`melinda.partsofhost` for a
component part, then the title alone, with author or publisher, and with the year: those
with 1-149 hits, as Melinda counts them first; 150). The first matcher that finds a match ends the search. Queries are the catalog's own
query tree, so deleted records (which leave the indexes) are never candidates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import pymarc

from gateway import indexing, records
from gateway.matching import features
from gateway.matching.reading import matching_view
from gateway.model import ResultSet, StoredRecord
from gateway.query import And, Or, Query, Relation, Term, Truncation

THRESHOLD: Final = 0.9
MAX_CANDIDATES: Final[dict[str, int]] = {"IDS": 50, "STANDARD_IDS": 50, "CONTENT": 150}
IDENTIFIER_MAX: Final = 40  # longer dc.identifier values crash Aleph's mapped index


class SearchableCatalog(Protocol):
    """What matching needs of the catalog: its searches and its record reads."""

    async def search(self, query: Query, *, cap: int = ...) -> ResultSet: ...

    async def fetch(self, ids: Sequence[int]) -> list[StoredRecord]: ...

    async def search_page(
        self, query: Query, *, cap: int = ..., start: int = ..., count: int = ...
    ) -> tuple[ResultSet, list[StoredRecord]]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored record compared with the incoming one."""

    id: int
    probability: float
    strategy: str  # IDS, STANDARD_IDS or CONTENT: the matcher that found it
    match: bool  # probability >= THRESHOLD

    def as_json(self) -> dict[str, Any]:
        return {
            "id": f"{self.id:09d}",
            "probability": self.probability,
            "strategy": self.strategy,
            "match": self.match,
        }


# --- queries ---------------------------------------------------------------------------
def _term(index: str, value: str, **kw: Any) -> Term:
    return Term(index, value, **kw)


def _or_pairs(index: str, values: Iterable[str], *, cut: int | None = None) -> list[Query]:
    """One query per two values joined by `or` (Aleph takes two at a time)."""
    unique = list(dict.fromkeys(v[:cut] if cut else v for v in values if v))
    found: list[Query] = []
    for start in range(0, len(unique), 2):
        pair = unique[start : start + 2]
        terms = [_term(index, v, relation=Relation.EXACT) for v in pair]
        if cut and len(pair) == 2 and sum(len(v) for v in pair) > cut:
            found.extend(terms)  # too long together: one query each
        else:
            found.append(terms[0] if len(terms) == 1 else Or(terms[0], terms[1]))
    return found


def melinda_id_queries(record: pymarc.Record) -> list[Query]:
    """`melinda.melindaid` for the record's Melinda IDs: 001 (of a Melinda record) and every
    Melinda-form 035 $a and $z (old ids of records merged into it)."""
    ids: list[int] = []
    own = records.melinda_id(record)
    if own is not None:
        ids.append(own)
    for field in record.get_fields("035"):
        for code in ("a", "z"):
            for value in field.get_subfields(code):
                number = records.parse_melinda_035(value)
                if number is not None:
                    ids.append(number)
    return _or_pairs("melinda.melindaid", (f"{n:09d}" for n in ids))


def stored_id_of(record: pymarc.Record) -> int | None:
    """The Melinda ID of a record that is a Melinda record (001 with 003 FI-MELINDA)."""
    if not any(str(f.data or "").strip() == "FI-MELINDA" for f in record.get_fields("003")):
        return None
    return records.melinda_id(record)


def source_id_queries(record: pymarc.Record) -> list[Query]:
    # the index's own key: a bracketed prefix, hyphens and spaces away, case kept
    keys = [indexing.sourceid_key(c, b) for c, b in records.sids(record) if c and b]
    return _or_pairs("melinda.sourceid", keys)


_ISBN_ISSN_VALUE: Final = re.compile(r"^[A-Za-z0-9-]+$")
_OTHER_ID_VALUE: Final = re.compile(r"^[A-Za-z0-9:-]+$")


def standard_identifiers(record: pymarc.Record) -> list[str]:
    """The 015/020/022/024/028 values STANDARD_IDS searches by (publisher numbers as
    `$b $a` and `$a`)."""
    found: list[str] = []
    for field in record.get_fields("015", "020", "022", "024", "028"):
        tag = field.tag
        if tag == "028":
            a = " ".join((field.get("a") or "").split()).lower()
            b = " ".join((field.get("b") or "").split()).lower()
            if a:
                found.extend([f"{b} {a}", a] if b else [a])
            continue
        codes = {"015": "a", "020": "az", "022": "ayz"}.get(tag, "az")
        pattern = _OTHER_ID_VALUE if tag == "024" else _ISBN_ISSN_VALUE
        found.extend(
            sf.value for sf in field.subfields if sf.code in codes and pattern.match(sf.value)
        )
    return list(dict.fromkeys(found))


def standard_identifier_queries(record: pymarc.Record) -> list[Query]:
    return _or_pairs("dc.identifier", standard_identifiers(record), cut=IDENTIFIER_MAX)


def _formatted(text: str, *, words_after: int = 30) -> str:
    """Punctuation to spaces, other symbols away, cut after `words_after` characters at the
    end of a word (long titles make slow, crashing queries in Aleph)."""
    text = re.sub(r"[-+ !\"(){}\[\]<>;:.?/@*%=^_`~]", " ", text)
    text = "".join(c for c in text if c.isalnum() or c.isspace() or unicodedata.category(c) == "Mn")
    text = " ".join(text.split())
    cut = re.match(rf"^(.{{{words_after}}}\S*) ", text)
    return cut.group(1) if cut else text


def _title_for_query(record: pymarc.Record) -> str:
    """245 $a, or $a $b when $a alone is short (under 3 words or 12 characters)."""
    title = features.title_of(record, "a")
    if title and (len(title.split()) < 3 or len(title) < 12):
        for field in record.get_fields("245"):
            ends_parallel = any(re.search(r" =$", v) for v in field.get_subfields("a"))
            if not (ends_parallel and len(title) >= 5):
                return features.title_of(record, "ab")
    return title


def _author_term(record: pymarc.Record) -> Term | None:
    for field in record.get_fields("100", "110", "111", "700", "710", "711"):
        name = _formatted(" ".join(field.get_subfields("a")), words_after=10_000)[:30].strip()
        if len(name) >= 5:
            return _term("dc.author", name, truncation=Truncation.RIGHT, anchored=True)
        return None
    return None


def _publisher_term(record: pymarc.Record) -> Term | None:
    """The first publisher's words within 30 characters (a word search: a word cut in two
    would find nothing)."""
    for field in record.get_fields("260", "264"):
        names = field.get_subfields("b")
        if names:
            words = _formatted(" ".join(names), words_after=10_000).split()
            kept = [w for i, w in enumerate(words) if len(" ".join(words[: i + 1])) <= 30]
            return _term("dc.publisher", " ".join(kept or words[:1])) if words else None
    return None


def _year_term(record: pymarc.Record) -> Term | None:
    for field in record.get_fields("008"):
        year = str(field.data or "")[7:11]
        if len(year) == 4 and year not in ("    ", "||||") and year.isdigit():
            return _term("dc.date", year)
    return None


def host_component_queries(record: pymarc.Record) -> list[Query]:
    """`melinda.partsofhost` (with the year of 773 $g) for a part of one Melinda host."""
    hosts = [
        f
        for f in record.get_fields("773")
        if any(records.parse_melinda_035(w) for w in f.get_subfields("w"))
    ]
    if len(hosts) != 1:
        return []
    host_id = next(
        n for w in hosts[0].get_subfields("w") if (n := records.parse_melinda_035(w)) is not None
    )
    query: Query = _term("melinda.partsofhost", f"{host_id:09d}", relation=Relation.EXACT)
    year = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", " ".join(hosts[0].get_subfields("g")))
    if year:
        query = And(_term("dc.date", year.group(1)), query)
    return [query]


def content_queries(record: pymarc.Record) -> list[Query]:
    """Title with author (or publisher) and year, tightest first, then looser: as the
    CONTENTALT matcher's alternates."""
    title = _formatted(_title_for_query(record))
    if not title:
        return []
    title_term = _term("dc.title", title, truncation=Truncation.RIGHT, anchored=True)
    alternates: list[Query] = [title_term]
    who = _author_term(record) or _publisher_term(record)
    if who is not None:
        alternates.append(And(who, title_term))
    year = _year_term(record)
    if year is not None:
        alternates.append(And(year, alternates[-1]))
    return list(reversed(alternates))


@dataclass(frozen=True, slots=True)
class Matcher:
    """One of Melinda's matchers for a record: its queries, and its alternates (tightest
    first, each narrowing the next), of which only those with some but fewer hits than the
    cap are run."""

    strategy: str
    queries: list[Query]
    alternates: list[Query]


def matchers(record: pymarc.Record) -> list[Matcher]:
    """The matchers in Melinda's order, each with its queries for `record`."""
    return [
        Matcher("IDS", melinda_id_queries(record) + source_id_queries(record), []),
        Matcher("STANDARD_IDS", standard_identifier_queries(record), []),
        Matcher("CONTENT", host_component_queries(record), content_queries(record)),
    ]


async def _searches(
    catalog: SearchableCatalog, matcher: Matcher, cap: int
) -> AsyncGenerator[list[StoredRecord], None]:
    """The matcher's candidates, query by query: its queries' (each search read with its
    records at once), then those of its alternates.

    Melinda counts the alternates first and runs, tightest first, those with 1..cap-1 hits (a
    query with more says too little to be worth comparing). Each alternate adds a term to the
    next looser one, so their hits nest: the loosest one under the cap holds every candidate
    the tighter ones would give, and an empty one means the tighter ones are empty too."""
    for query in matcher.queries:
        _found, stored = await catalog.search_page(query, cap=cap, start=1, count=cap)
        yield stored
    for query in reversed(matcher.alternates):
        found = await catalog.search(query, cap=cap)
        if found.total < cap:
            if found.ids:
                yield await catalog.fetch(found.ids)
            return


async def find_candidates(
    catalog: SearchableCatalog,
    record: pymarc.Record,
    *,
    exclude: Collection[int] = (),
    threshold: float = THRESHOLD,
) -> list[Candidate]:
    """Every stored record the matchers compared with `record`, best first; those at or
    above `threshold` are matches. Stops after the first matcher that found a match."""
    compared: dict[int, Candidate] = {}
    for matcher in matchers(record):
        strategy = matcher.strategy
        strategy_features = features.STRATEGIES[strategy]
        incoming: list[Any] | None = None
        cap = MAX_CANDIDATES[strategy]
        seen: set[int] = set()  # each matcher compares anew what an earlier one did not match
        matched = False
        searches = _searches(catalog, matcher, cap)
        async for found in searches:
            room = cap - len(seen)
            fresh = [r for r in found if r.id not in seen and r.id not in exclude][:room]
            if not fresh:
                continue
            seen.update(r.id for r in fresh)
            if incoming is None:
                incoming = features.extract_all(strategy_features, record)
            for stored in fresh:
                if stored.deleted:
                    continue  # a record deleted since the search: never a candidate
                detection = features.detect_candidate(
                    strategy_features, incoming, matching_view(stored.xml)
                )
                match = detection.probability >= threshold
                earlier = compared.get(stored.id)
                if earlier is None or detection.probability > earlier.probability:
                    compared[stored.id] = Candidate(
                        stored.id, detection.probability, strategy, match
                    )
                matched = matched or match
            if len(seen) >= cap:
                break
        await searches.aclose()
        if matched:
            break
    return sorted(compared.values(), key=lambda c: (-c.probability, c.id))


async def find_matches(
    catalog: SearchableCatalog,
    record: pymarc.Record,
    *,
    exclude: Collection[int] = (),
    threshold: float = THRESHOLD,
) -> list[Candidate]:
    """The stored records Melinda's matching takes for the same resource as `record`,
    best first (empty: no duplicate, create it)."""
    found = await find_candidates(catalog, record, exclude=exclude, threshold=threshold)
    return [c for c in found if c.match]
