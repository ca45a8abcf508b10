"""An exact recursive-descent CQL 1.2 parser that compiles queries onto gateway.query.

Written here rather than taken from PyPI: `cql-parser` (the one candidate) generates PLY
tables at run time, un-escapes `\\"` in its lexer so an escaped `\\*` can no longer be told
from a masking `*`, and is untyped; CQL's grammar is small enough to parse exactly by hand.

Grammar (CQL 1.2, www.loc.gov/standards/sru/cql/spec.html):

    sortedQuery      ::= prefixAssignment sortedQuery | scopedClause ['sortby' sortSpec]
    cqlQuery         ::= prefixAssignment cqlQuery | scopedClause
    prefixAssignment ::= '>' prefix '=' uri | '>' uri
    scopedClause     ::= scopedClause booleanGroup searchClause | searchClause
    booleanGroup     ::= boolean [modifierList]
    searchClause     ::= '(' cqlQuery ')' | index relation searchTerm | searchTerm
    relation         ::= comparitor [modifierList]
    modifier         ::= '/' modifierName [comparitorSymbol modifierValue]
    sortSpec         ::= singleSpec+ ; singleSpec ::= index [modifierList]

Parsing is pure; `compile_query` maps the syntax tree onto the one query tree and raises
the exceptions below (or gateway.errors' UnknownIndexError / UnsupportedRelationError),
which protocols/sru/diagnostics.py turns into SRU diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from gateway.catalog import SortKey
from gateway.errors import (
    QueryError,
    QueryTooComplexError,
    UnknownIndexError,
    UnsupportedRelationError,
)
from gateway.query import (
    MAX_QUERY_TERMS,
    AllRecords,
    And,
    IndexDef,
    Not,
    Or,
    Query,
    Relation,
    Term,
    Truncation,
    resolve_index,
)

# Parentheses may nest deeper than the query they build (`((a))`), but not without end: the
# parser is recursive.
MAX_PARENTHESES: Final = 32

# --- exceptions: what a query can get wrong, each one SRU diagnostic -------------------


class CQLError(QueryError):
    """A CQL query the gateway cannot run; `details` goes into the diagnostic."""

    def __init__(self, message: str, details: str = "") -> None:
        self.details = details
        super().__init__(message)


class CQLSyntaxError(CQLError):
    """The query does not follow CQL's grammar."""


class UnbalancedParenthesesError(CQLSyntaxError):
    """A `(` without its `)` or the other way round."""


class UnbalancedQuotesError(CQLSyntaxError):
    """A `"` that is never closed."""


class UnsupportedContextSetError(CQLError):
    """An index prefix names a context set the gateway does not know."""


class EmptyTermError(CQLError):
    """`""` as a search term."""


class MaskingNotSupportedError(CQLError):
    """`?`, or `*` where the index cannot truncate (inside a word)."""


class MaskedWordTooShortError(CQLError):
    """A word that is nothing but masking (`*`)."""


class TooManyMaskingCharactersError(CQLError):
    """More `*` in one word than a left and a right truncation."""


class AnchoringPositionError(CQLError):
    """`^` anywhere but at the start of the term."""


class UnsupportedRelationModifierError(CQLError):
    """A relation modifier such as `/respectCase` or `/fuzzy`."""


class ProximityNotSupportedError(CQLError):
    """The `prox` boolean."""


class UnsupportedBooleanModifierError(CQLError):
    """A modifier on `and`/`or`/`not`."""


class SortNotSupportedError(CQLError):
    """A sort key other than title, date or author, or a sort modifier we cannot honour."""


class UnsupportedSortCaseError(CQLError):
    """Case-sensitive sorting was asked for."""


# --- syntax tree ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Modifier:
    name: str
    comparitor: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class SearchClause:
    """`index relation term`; `term` keeps its CQL escapes (`\\*`) until compiled."""

    index: str
    relation: str
    term: str
    modifiers: tuple[Modifier, ...] = ()
    context_uri: str = ""  # the URI a `>prefix=uri` assignment gave the index's prefix


@dataclass(frozen=True, slots=True)
class BooleanClause:
    operator: str  # and | or | not | prox
    left: CQLNode
    right: CQLNode
    modifiers: tuple[Modifier, ...] = ()


CQLNode = SearchClause | BooleanClause


@dataclass(frozen=True, slots=True)
class SortSpec:
    index: str
    modifiers: tuple[Modifier, ...] = ()
    context_uri: str = ""


@dataclass(frozen=True, slots=True)
class CQLQuery:
    root: CQLNode
    sort: tuple[SortSpec, ...] = ()


# --- tokenizer --------------------------------------------------------------------------

_SYMBOLS: Final = ("<=", ">=", "<>", "==", "=", "<", ">")
_BOOLEANS: Final = frozenset({"and", "or", "not", "prox"})
_SPECIAL: Final = frozenset('()=<>"/')


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(" ")" "/" "sym" "word" "quoted" "end"
    text: str
    pos: int

    @property
    def keyword(self) -> str:
        """The lower-cased word when it is an unquoted word, else ''."""
        return self.text.lower() if self.kind == "word" else ""

    @property
    def is_term(self) -> bool:
        return self.kind in ("word", "quoted")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()/":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in "=<>":
            sym = next(s for s in _SYMBOLS if text.startswith(s, i))
            tokens.append(_Token("sym", sym, i))
            i += len(sym)
        elif ch == '"':
            start, i = i, i + 1
            chars: list[str] = []
            unclosed = UnbalancedQuotesError("Unbalanced quotes", f"from position {start + 1}")
            while True:
                if i >= n:
                    raise unclosed
                if text[i] == "\\":
                    if i + 1 >= n:
                        raise unclosed
                    # keep the escape: masking and anchoring are resolved later, per index
                    chars.append(text[i : i + 2])
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    chars.append(text[i])
                    i += 1
            tokens.append(_Token("quoted", "".join(chars), start))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 2 if text[i] == "\\" and i + 1 < n else 1
            tokens.append(_Token("word", text[start:i], start))
    tokens.append(_Token("end", "", n))
    return tokens


# --- parser -----------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, *, allow_sort: bool) -> None:
        self.tokens = _tokenize(text)
        self.at = 0
        self.allow_sort = allow_sort
        self.depth = 0  # parentheses open
        self.booleans = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def peek(self, ahead: int = 1) -> _Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.token
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def fail(self, message: str, kind: type[CQLSyntaxError] = CQLSyntaxError) -> CQLSyntaxError:
        token = self.token
        where = "end of query" if token.kind == "end" else f"{token.text!r} at {token.pos + 1}"
        return kind(message, where)

    def term(self, what: str) -> str:
        if not self.token.is_term:
            raise self.fail(f"Expected {what}")
        return self.advance().text

    # sortedQuery
    def sorted_query(self) -> CQLQuery:
        prefixes: dict[str, str] = {}
        self.prefix_assignments(prefixes)
        root = self.scoped_clause(prefixes)
        sort: tuple[SortSpec, ...] = ()
        if self.token.keyword == "sortby" and self.allow_sort:
            self.advance()
            sort = self.sort_spec(prefixes)
        if self.token.kind != "end":
            if self.token.kind == ")":
                raise self.fail("Unbalanced parentheses", UnbalancedParenthesesError)
            raise self.fail("Unexpected text after the query")
        return CQLQuery(root, sort)

    def prefix_assignments(self, prefixes: dict[str, str]) -> None:
        while self.token.kind == "sym" and self.token.text == ">":
            self.advance()
            first = self.term("a prefix or URI")
            if self.token.kind == "sym" and self.token.text == "=":
                self.advance()
                prefixes[first.lower()] = self.term("a URI")
            else:
                prefixes[""] = first

    def scoped_clause(self, prefixes: dict[str, str]) -> CQLNode:
        node = self.search_clause(prefixes)
        while self.token.keyword in _BOOLEANS:
            operator = self.advance().keyword
            self.booleans += 1
            if self.booleans >= MAX_QUERY_TERMS:
                raise QueryTooComplexError(f"more than {MAX_QUERY_TERMS} terms")
            modifiers = self.modifier_list()
            right = self.search_clause(prefixes)
            node = BooleanClause(operator, node, right, modifiers)
        return node

    def search_clause(self, prefixes: dict[str, str]) -> CQLNode:
        if self.token.kind == "(":
            self.advance()
            self.depth += 1
            if self.depth > MAX_PARENTHESES:
                raise QueryTooComplexError(f"more than {MAX_PARENTHESES} parentheses nested")
            scope = dict(prefixes)
            self.prefix_assignments(scope)
            node = self.scoped_clause(scope)
            self.depth -= 1
            if self.token.kind != ")":
                raise self.fail("Unbalanced parentheses", UnbalancedParenthesesError)
            self.advance()
            return node
        if not self.token.is_term:
            raise self.fail("Expected a search term")
        if self._starts_relation(self.peek()):
            index = self.advance().text
            relation = self.relation()
            modifiers = self.modifier_list()
            term = self.term("a search term")
            return SearchClause(index, relation, term, modifiers, _context_uri(index, prefixes))
        term = self.advance().text
        return SearchClause("cql.serverChoice", "=", term, (), "")

    def _starts_relation(self, token: _Token) -> bool:
        """Whether the token after a term makes that term an index name."""
        if token.kind == "sym":
            return True
        # a named comparitor (`any`, `adj`, `cql.all`, ...) is any word but a boolean or sortby
        return token.kind == "word" and token.keyword not in _BOOLEANS | {"sortby"}

    def relation(self) -> str:
        token = self.advance()
        return token.text if token.kind == "sym" else token.text.lower()

    def modifier_list(self) -> tuple[Modifier, ...]:
        modifiers: list[Modifier] = []
        while self.token.kind == "/":
            self.advance()
            name = self.term("a modifier name")
            if self.token.kind == "sym":
                comparitor = self.advance().text
                modifiers.append(Modifier(name, comparitor, self.term("a modifier value")))
            else:
                modifiers.append(Modifier(name))
        return tuple(modifiers)

    def sort_spec(self, prefixes: dict[str, str]) -> tuple[SortSpec, ...]:
        specs: list[SortSpec] = []
        while self.token.is_term:
            index = self.advance().text
            specs.append(SortSpec(index, self.modifier_list(), _context_uri(index, prefixes)))
        if not specs:
            raise self.fail("Expected a sort key after sortBy")
        return tuple(specs)


def _context_uri(index: str, prefixes: dict[str, str]) -> str:
    prefix = index.split(".", 1)[0].lower() if "." in index else ""
    return prefixes.get(prefix, "")


def parse_cql(text: str, *, allow_sort: bool = True) -> CQLQuery:
    """The syntax tree of a CQL query; CQLSyntaxError says where it went wrong.

    `allow_sort=False` parses CQL 1.1, which has no sortBy clause (SRU 1.1 sends sortKeys).
    """
    if not text.strip():
        raise CQLSyntaxError("Empty query")
    return _Parser(text, allow_sort=allow_sort).sorted_query()


# --- compiling onto gateway.query --------------------------------------------------------

# Context sets the indexes belong to: short name -> identifiers clients may assign to it.
CONTEXT_SETS: Final[dict[str, tuple[str, ...]]] = {
    "cql": ("info:srw/cql-context-set/1/cql-v1.2", "info:srw/cql-context-set/1/cql-v1.1"),
    "dc": ("info:srw/cql-context-set/1/dc-v1.1", "http://purl.org/dc/elements/1.1/"),
    "bath": ("http://zing.z3950.org/cql/bath/2.0/",),
    "rec": ("info:srw/cql-context-set/2/rec-1.1", "info:srw/cql-context-set/2/rec-1.0"),
    # Melinda publishes no identifier for its own set; this one is the gateway's.
    "melinda": ("http://melinda.kansalliskirjasto.fi/cql/melinda/1.0/",),
}

RELATIONS: Final[dict[str, Relation]] = {
    "=": Relation.WORDS,
    "all": Relation.WORDS,
    "any": Relation.ANY,
    "adj": Relation.PHRASE,
    "==": Relation.EXACT,
    "exact": Relation.EXACT,  # CQL 1.1's name for ==
    "<": Relation.LT,
    "<=": Relation.LE,
    ">": Relation.GT,
    ">=": Relation.GE,
}
_RANGES: Final = frozenset({Relation.LT, Relation.LE, Relation.GT, Relation.GE})

# Relation modifiers that change nothing here: matching is case-insensitive and masking on.
RELATION_MODIFIERS: Final = frozenset({"ignorecase", "masked", "unmasked"})

SORTABLE: Final[dict[str, str]] = {
    "dc.title": "title",
    "dc.date": "date of publication",
    "dc.author": "author",
}


def canonical_index(index: str, context_uri: str = "") -> IndexDef:
    """The index a CQL index name means; raises UnknownIndexError or
    UnsupportedContextSetError."""
    name = index.strip()
    if "." in name:
        prefix, rest = name.split(".", 1)
        set_name = prefix.lower()
        if context_uri:
            set_name = next(
                (short for short, uris in CONTEXT_SETS.items() if context_uri in uris), ""
            )
            if not set_name:
                raise UnsupportedContextSetError("Unsupported context set", context_uri)
        elif set_name not in CONTEXT_SETS:
            raise UnsupportedContextSetError("Unsupported context set", prefix)
        name = f"{set_name}.{rest}"
    found = resolve_index(name)
    if found is None:
        raise UnknownIndexError(index)
    return found


def _is_all_records(index: str) -> bool:
    return index.lower() in ("cql.allrecords", "allrecords")


def compile_query(cql: CQLQuery) -> tuple[Query, list[SortKey]]:
    """The query tree and sort keys of a parsed CQL query."""
    return _compile_node(cql.root), compile_sort(cql.sort)


def _compile_node(node: CQLNode) -> Query:
    if isinstance(node, SearchClause):
        return compile_clause(node)
    if node.operator == "prox":
        raise ProximityNotSupportedError("Proximity not supported", "prox")
    if node.modifiers:
        raise UnsupportedBooleanModifierError(
            "Unsupported boolean modifier", node.modifiers[0].name
        )
    left, right = _compile_node(node.left), _compile_node(node.right)
    if node.operator == "and":
        return And(left, right)
    if node.operator == "or":
        return Or(left, right)
    return Not(left, right)


def compile_clause(clause: SearchClause) -> Query:
    """One search clause as a Term (or, for per-word masking, a small And/Or of Terms)."""
    if _is_all_records(clause.index):
        return AllRecords()
    index = canonical_index(clause.index, clause.context_uri)
    relation = RELATIONS.get(_strip_cql(clause.relation))
    if relation is None:
        raise UnsupportedRelationError(clause.relation, index.name)
    if relation in _RANGES and index.kind not in ("date", "key"):
        raise UnsupportedRelationError(clause.relation, index.name)
    masked = True
    for modifier in clause.modifiers:
        name = _strip_cql(modifier.name.lower())
        if name not in RELATION_MODIFIERS or modifier.comparitor:
            raise UnsupportedRelationModifierError("Unsupported relation modifier", modifier.name)
        masked = masked and name != "unmasked"
    return _compile_term(index, relation, clause.term, masked=masked)


def _strip_cql(name: str) -> str:
    return name[4:] if name.lower().startswith("cql.") else name


@dataclass(slots=True)
class _Word:
    """One whitespace-separated word of a term with its masking."""

    text: str = ""
    left: bool = False
    right: bool = False
    stars: list[int] = field(default_factory=list)  # positions of masking `*` in the word


def _compile_term(index: IndexDef, relation: Relation, raw: str, *, masked: bool) -> Query:
    chars = _unescape(raw)
    # anchoring: `^` is only meaningful as the term's first character
    anchored = bool(chars) and chars[0] == ("^", True)
    if anchored:
        chars = chars[1:]
    if any(ch == "^" and special for ch, special in chars):
        raise AnchoringPositionError("Anchoring character in unsupported position", raw)
    words = _split_words(chars, masked=masked)
    if not words:
        raise EmptyTermError("Empty term unsupported", raw)
    for word in words:
        _check_masking(word, raw)
    whole = " ".join(w.text for w in words)
    if len(words) == 1 or not any(w.left or w.right for w in words):
        truncation = _truncation(words[0].left, words[-1].right)
        return Term(index.name, whole, relation, truncation, anchored)
    if relation in (Relation.WORDS, Relation.ANY) and not anchored:
        # per-word masking: `dc.title = "seitse* veljest*"` is each word with its own mask
        terms: list[Query] = [
            Term(index.name, w.text, relation, _truncation(w.left, w.right)) for w in words
        ]
        joined = terms[0]
        for term in terms[1:]:
            joined = And(joined, term) if relation is Relation.WORDS else Or(joined, term)
        return joined
    # a phrase or heading: masks only at its very start and end
    if any(w.left for w in words[1:]) or any(w.right for w in words[:-1]):
        raise MaskingNotSupportedError("Masking character in unsupported position", raw)
    truncation = _truncation(words[0].left, words[-1].right)
    return Term(index.name, whole, relation, truncation, anchored)


def _check_masking(word: _Word, raw: str) -> None:
    if not word.text:
        raise MaskedWordTooShortError("Masked words too short", raw)
    if len(word.stars) <= int(word.left) + int(word.right):
        return
    adjacent = any(b - a == 1 for a, b in zip(word.stars, word.stars[1:], strict=False))
    if adjacent or len(word.stars) > 2:
        raise TooManyMaskingCharactersError("Too many masking characters in term", raw)
    raise MaskingNotSupportedError("Masking character in unsupported position", raw)


def _truncation(left: bool, right: bool) -> Truncation:
    if left and right:
        return Truncation.BOTH
    if left:
        return Truncation.LEFT
    return Truncation.RIGHT if right else Truncation.NONE


def _unescape(raw: str) -> list[tuple[str, bool]]:
    """Characters with a flag saying whether each is a special (`*`, `?`, `^`) one."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            if i + 1 >= len(raw):
                raise CQLSyntaxError("Query syntax error", "lone backslash at the end of a term")
            out.append((raw[i + 1], False))
            i += 2
            continue
        out.append((ch, ch in "*?^"))
        i += 1
    return out


def _split_words(chars: list[tuple[str, bool]], *, masked: bool) -> list[_Word]:
    words: list[_Word] = []
    current: list[tuple[str, bool]] = []
    for ch, special in [*chars, (" ", False)]:
        if ch.isspace() and not special:
            if current:
                words.append(_word(current, masked=masked))
                current = []
        else:
            current.append((ch, special))
    return words


def _word(chars: list[tuple[str, bool]], *, masked: bool) -> _Word:
    if not masked:
        return _Word(text="".join(ch for ch, _ in chars))
    if any(ch == "?" and special for ch, special in chars):
        raise MaskingNotSupportedError(
            "Masking character not supported", "single-character masking (?)"
        )
    stars = [i for i, (ch, special) in enumerate(chars) if ch == "*" and special]
    text = "".join(ch for ch, special in chars if not (special and ch == "*"))
    last = len(chars) - 1
    return _Word(
        text=text,
        left=0 in stars,
        right=last > 0 and last in stars,
        stars=stars,
    )


def compile_sort(specs: tuple[SortSpec, ...] | list[SortSpec]) -> list[SortKey]:
    """Sort keys for the catalog: title, date or author, ascending or descending."""
    keys: list[SortKey] = []
    for spec in specs:
        try:
            index = canonical_index(spec.index, spec.context_uri)
        except (UnknownIndexError, UnsupportedContextSetError):
            raise SortNotSupportedError("Sort not supported", spec.index) from None
        if index.name not in SORTABLE:
            raise SortNotSupportedError("Sort not supported", spec.index)
        ascending = True
        for modifier in spec.modifiers:
            name = modifier.name.lower().removeprefix("sort.")
            if name == "ascending":
                ascending = True
            elif name == "descending":
                ascending = False
            elif name == "ignorecase":
                continue
            elif name == "respectcase":
                raise UnsupportedSortCaseError("Unsupported case", modifier.name)
            else:
                raise SortNotSupportedError("Sort not supported", modifier.name)
        keys.append(SortKey(index.name, ascending))
    return keys


def parse_sort_keys(value: str) -> list[SortKey]:
    """SRU 1.1/2.0's `sortKeys` parameter: space-separated `path,schema,ascending,caseSensitive`."""
    specs: list[SortSpec] = []
    for key in value.split():
        parts = key.split(",")
        path = parts[0]
        ascending = parts[2] if len(parts) > 2 else ""
        case_sensitive = parts[3] if len(parts) > 3 else ""
        if case_sensitive == "1":
            raise UnsupportedSortCaseError("Unsupported case", key)
        if ascending not in ("", "0", "1"):
            raise SortNotSupportedError("Sort not supported", key)
        modifiers = (Modifier("sort.descending"),) if ascending == "0" else ()
        specs.append(SortSpec(path, modifiers))
    return compile_sort(specs)


def parse_scan_clause(text: str) -> tuple[IndexDef, str]:
    """A scan clause (`dc.title = "seitsemän"`): the scannable index and the start term."""
    cql = parse_cql(text, allow_sort=False)
    clause = cql.root
    if not isinstance(clause, SearchClause):
        raise CQLSyntaxError("A scan clause is one search clause", text)
    index = canonical_index(clause.index, clause.context_uri)
    if _strip_cql(clause.relation) not in ("=", "==", "exact", "all"):
        raise UnsupportedRelationError(clause.relation, index.name)
    if clause.modifiers:
        raise UnsupportedRelationModifierError(
            "Unsupported relation modifier", clause.modifiers[0].name
        )
    if not index.scannable:
        raise UnknownIndexError(index.name)
    start = "".join(ch for ch, _ in _unescape(clause.term)).lstrip("^").strip()
    return index, start
