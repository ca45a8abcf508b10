"""One boolean query tree that CQL, Type-1 RPN and the X-server's find all parse into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gateway.errors import QueryTooComplexError


class Relation(StrEnum):
    """How a term's value is compared with the indexed terms."""

    WORDS = "="  # every word of the value occurs (CQL `=`/`all`, Aleph adjacent=N)
    ANY = "any"  # at least one word occurs
    PHRASE = "adj"  # the words occur as a phrase (approximated: all words, then a heading check)
    EXACT = "=="  # the whole heading / key equals the value
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class Truncation(StrEnum):
    NONE = "none"
    RIGHT = "right"  # `foo*`, Aleph `foo?`, Bib-1 truncation 1
    LEFT = "left"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Term:
    """One search clause: `index relation value`, e.g. `dc.title = "^Seitsemän veljestä*"`."""

    index: str
    value: str
    relation: Relation = Relation.WORDS
    truncation: Truncation = Truncation.NONE
    anchored: bool = False  # `^`: the value starts the heading


@dataclass(frozen=True, slots=True)
class And:
    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class Or:
    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class Not:
    """`left NOT right` (CQL), and-not (RPN): what matches left but not right."""

    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class AllRecords:
    """`cql.allRecords = 1`: every live record."""


Query = Term | And | Or | Not | AllRecords


@dataclass(frozen=True, slots=True)
class IndexDef:
    """A searchable index as Melinda's SRU names it.

    kind: `word` (tokenised words, plus a whole-heading form for `^` and `==`),
    `key` (normalised identifiers such as ISBNs, exact or right-truncated),
    `date` (years, also for ranges), `union` (searches several indexes at once).
    identifier: its values name one record or a few, however large the base (a Melinda ID,
    an ISBN), unlike keys that many records share (a LOW tag, an authentication code).
    """

    name: str
    kind: str
    title: str
    scannable: bool = False
    members: tuple[str, ...] = ()
    identifier: bool = False


INDEXES: Final[dict[str, IndexDef]] = {
    d.name: d
    for d in (
        IndexDef("rec.id", "key", "Melinda ID (001)", identifier=True),
        IndexDef(
            "melinda.melindaid",
            "key",
            "Melinda ID, including old ids in 035 $z",
            identifier=True,
        ),
        IndexDef(
            "bath.isbn",
            "key",
            "ISBN (020), hyphens ignored, ISBN-10 and -13 alike",
            True,
            identifier=True,
        ),
        IndexDef("bath.issn", "key", "ISSN (022)", identifier=True),
        IndexDef(
            "dc.identifier",
            "key",
            "Standard identifiers (015/020/022/024/028)",
            identifier=True,
        ),
        IndexDef("dc.title", "word", "Title words; `^` anchors at the heading's start", True),
        IndexDef("dc.author", "word", "Author words (1XX/7XX)", True),
        IndexDef("dc.publisher", "word", "Publisher words (260/264 $b)"),
        IndexDef("dc.date", "date", "Publication year (008/07-10, 260/264 $c)"),
        IndexDef("dc.subject", "word", "Subject words (6XX)", True),
        IndexDef(
            "melinda.sourceid",
            "key",
            "SID $c+$b, source prefix and hyphens removed, case kept: VER2741384FIKV",
            identifier=True,
        ),
        IndexDef("melinda.partsofhost", "key", "Component parts of a host (773 $w)"),
        IndexDef("melinda.authenticationcode", "key", "Authentication code (042 $a)"),
        IndexDef("melinda.low", "key", "LOW database tag (library code)"),
        IndexDef(
            "melinda.asteriid",
            "key",
            "Asteri name-authority id: a heading's $0 link (any form); in fin11 the record's own",
        ),
        IndexDef(
            "cql.serverChoice",
            "union",
            "Any word: title, author, subject, publisher and identifiers",
            members=(
                "dc.title",
                "dc.author",
                "dc.subject",
                "dc.publisher",
                "dc.identifier",
                "rec.id",
            ),
        ),
    )
}

# Aliases clients send; they resolve to the index above before compiling.
INDEX_ALIASES: Final[dict[str, str]] = {
    "cql.anywhere": "cql.serverChoice",
    "cql.anyword": "cql.serverChoice",
    "serverchoice": "cql.serverChoice",
    "dc.anywhere": "cql.serverChoice",
    "rec.identifier": "rec.id",
    "melinda.id": "rec.id",
    "dc.creator": "dc.author",
    "bath.name": "dc.author",
    "bath.personalname": "dc.author",
    "bath.corporatename": "dc.author",
    "bath.conferencename": "dc.author",
    "bath.author": "dc.author",
    "bath.title": "dc.title",
    "bath.subject": "dc.subject",
    "bath.standardidentifier": "dc.identifier",
}


def resolve_index(name: str) -> IndexDef | None:
    """The index a client-given name means (case-insensitive, aliases followed), or None."""
    key = name.strip()
    lowered = key.lower()
    for table_name in INDEXES:
        if table_name.lower() == lowered:
            return INDEXES[table_name]
    alias = INDEX_ALIASES.get(lowered)
    return INDEXES[alias] if alias else None


# Bounds every parser enforces while reading and the store checks again: a query nested this
# deep or this long is refused as too complex, not left to exhaust a stack (Python's or SQLite's).
MAX_QUERY_DEPTH: Final = 8
MAX_QUERY_TERMS: Final = 256


def names_few(query: Query) -> bool:
    """Whether `query` looks records up by identifiers only (`rec.id = ...`, an ISBN, both
    or-ed or and-ed), untruncated: a few hits whatever the base's size."""
    if isinstance(query, Term):
        index = resolve_index(query.index)
        return (
            index is not None
            and index.identifier
            and query.truncation is Truncation.NONE
            and query.relation in _LOOKUP_RELATIONS
        )
    if isinstance(query, And | Or):
        return names_few(query.left) and names_few(query.right)
    return False


_LOOKUP_RELATIONS: Final = frozenset({Relation.WORDS, Relation.EXACT, Relation.ANY})


def terms_of(query: Query) -> list[Term]:
    """Every Term in the tree, left to right."""
    found: list[Term] = []
    pending: list[Query] = [query]
    while pending:
        node = pending.pop()
        if isinstance(node, Term):
            found.append(node)
        elif not isinstance(node, AllRecords):
            pending += (node.right, node.left)
    return found


def check_complexity(query: Query) -> None:
    """Raise QueryTooComplexError past MAX_QUERY_TERMS terms or MAX_QUERY_DEPTH nesting.

    Depth counts what nests in SQL: a chain down the left (`a and b or c not d`) and a run
    of one associative operator (`a and (b and c)`) are flat; anything else is one level more.
    """
    terms = 0
    pending: list[tuple[Query, int]] = [(query, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_QUERY_DEPTH:
            raise QueryTooComplexError(f"nested more than {MAX_QUERY_DEPTH} levels deep")
        if isinstance(node, Term | AllRecords):
            terms += 1
            if terms > MAX_QUERY_TERMS:
                raise QueryTooComplexError(f"more than {MAX_QUERY_TERMS} terms")
            continue
        flat = isinstance(node, And | Or) and type(node.right) is type(node)
        pending.append((node.left, depth))
        pending.append((node.right, depth if flat else depth + 1))


@dataclass(frozen=True, slots=True)
class SortKey:
    """`dc.title`, `dc.date` or `dc.author`, ascending unless told otherwise."""

    index: str
    ascending: bool = True
