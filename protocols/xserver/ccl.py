"""Parses the X-server `find` request (Aleph's CCL-like `CODE=term AND …`) into the query tree.

Reading of Aleph's X-Services `find` documentation: `request` holds either a full CCL string
(`WRD=(art)`, `isbn=0870931806 OR isbn=0903686090`) or, when `code` is given, only the search
terms; without a code the default is `WRD`. `adjacent=Y` searches the words as a phrase,
`N` (the default) each word separately. Right truncation is `?` (Aleph) and, as many clients
send it, `*`. A code before a parenthesised group applies inside it: `WTI=(cats OR dogs)`.
Operators (`AND`, `OR`, `NOT`) are matched case-insensitively; a search for the word itself
quotes it (`WTI="and"`). Precedence: `OR` binds loosest, `AND`/`NOT` tighter, left to right;
clauses written side by side without an operator are ANDed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.errors import QueryError, QueryTooComplexError
from gateway.query import And, IndexDef, Not, Or, Query, Relation, Term, Truncation, resolve_index

# Aleph search codes (Melinda's tab00) -> Melinda's index names.
SEARCH_CODES: Final[dict[str, str]] = {
    "WRD": "cql.serverChoice",
    "WTI": "dc.title",
    "WAU": "dc.author",
    "WSU": "dc.subject",
    "WPU": "dc.publisher",
    "WYR": "dc.date",
    "IBN": "bath.isbn",
    "ISBN": "bath.isbn",
    "ISS": "bath.issn",
    "ISSN": "bath.issn",
    "SYS": "rec.id",
    "MIDRR": "melinda.melindaid",
    "SIDA": "melinda.sourceid",
    "LOW": "melinda.low",
}

DEFAULT_CODE: Final = "WRD"
MAX_REQUEST_CHARS: Final = 500  # Aleph's REQUEST parameter is X(500)
_OPERATORS: Final = frozenset({"AND", "OR", "NOT"})
_TRUNCATION_MARKS: Final = ("?", "*")


MAX_PARENTHESES: Final = 32


class FindRequestError(QueryError):
    """The `find` request cannot be read; the message is the Aleph error text."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word" | "quoted" | "(" | ")" | "="
    text: str = ""

    def is_operator(self) -> bool:
        return self.kind == "word" and self.text.upper() in _OPERATORS


def _tokenize(request: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(request)
    while i < n:
        ch = request[i]
        if ch.isspace():
            i += 1
        elif ch in "()=":
            tokens.append(_Token(ch))
            i += 1
        elif ch == '"':
            end = request.find('"', i + 1)
            if end < 0:
                raise FindRequestError("Syntax error in search request: unbalanced quotation marks")
            tokens.append(_Token("quoted", request[i + 1 : end]))
            i = end + 1
        else:
            start = i
            while i < n and not request[i].isspace() and request[i] not in '()="':
                i += 1
            tokens.append(_Token("word", request[start:i]))
    return tokens


def index_for_code(code: str) -> IndexDef:
    """The Melinda index an Aleph search code searches; unknown codes are an Aleph error."""
    name = SEARCH_CODES.get(code.strip().upper())
    index = resolve_index(name) if name else None
    if index is None:
        raise FindRequestError(f"Search code {code.strip().upper()} is not defined")
    return index


class _Parser:
    def __init__(self, tokens: list[_Token], adjacent: bool) -> None:
        self.tokens = tokens
        self.pos = 0
        self.adjacent = adjacent
        self.depth = 0  # parentheses open: the parser is recursive

    def peek(self, offset: int = 0) -> _Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self, code: str) -> Query:
        query = self.or_expr(code)
        if self.peek() is not None:
            raise FindRequestError("Syntax error in search request: unbalanced parentheses")
        return query

    def or_expr(self, code: str) -> Query:
        left = self.and_expr(code)
        while (
            (token := self.peek()) is not None
            and token.is_operator()
            and token.text.upper() == "OR"
        ):
            self.take()
            left = Or(left, self.and_expr(code))
        return left

    def and_expr(self, code: str) -> Query:
        left = self.unit(code)
        while (token := self.peek()) is not None and token.kind != ")":
            if token.is_operator():
                if token.text.upper() == "OR":
                    break
                self.take()
                right = self.unit(code)
                left = Not(left, right) if token.text.upper() == "NOT" else And(left, right)
            else:  # clauses side by side: Aleph ANDs them
                left = And(left, self.unit(code))
        return left

    def unit(self, code: str) -> Query:
        token = self.peek()
        if token is None:
            raise FindRequestError("Syntax error in search request: a search term is missing")
        if token.kind == "(":
            self.take()
            return self.nested(code)
        following = self.peek(1)
        if token.kind == "word" and following is not None and following.kind == "=":
            self.take()
            self.take()
            code = token.text
            index_for_code(code)  # fail on the code before the terms
            nxt = self.peek()
            if nxt is not None and nxt.kind == "(":
                self.take()
                return self.nested(code)
        return self.terms(code)

    def nested(self, code: str) -> Query:
        self.depth += 1
        if self.depth > MAX_PARENTHESES:
            raise QueryTooComplexError(f"more than {MAX_PARENTHESES} parentheses nested")
        inner = self.or_expr(code)
        self.expect_close()
        self.depth -= 1
        return inner

    def expect_close(self) -> None:
        token = self.peek()
        if token is None or token.kind != ")":
            raise FindRequestError("Syntax error in search request: unbalanced parentheses")
        self.take()

    def terms(self, code: str) -> Query:
        words: list[tuple[str, bool]] = []
        while (token := self.peek()) is not None and token.kind in ("word", "quoted"):
            if token.is_operator():
                break
            following = self.peek(1)
            if token.kind == "word" and following is not None and following.kind == "=":
                break  # the next clause starts here
            self.take()
            words.append((token.text, token.kind == "quoted"))
        if not words:
            raise FindRequestError(
                f"Syntax error in search request: no search term after {code.upper()}="
            )
        return build_terms(index_for_code(code), words, adjacent=self.adjacent)


def _split_truncation(word: str) -> tuple[str, Truncation]:
    if word.startswith(_TRUNCATION_MARKS) and len(word) > 1:
        raise FindRequestError("Left truncation is not supported")
    if word.endswith(_TRUNCATION_MARKS):
        stem = word.rstrip("?*")
        if not stem:
            raise FindRequestError("Syntax error in search request: truncation without a term")
        return stem, Truncation.RIGHT
    return word, Truncation.NONE


def build_terms(index: IndexDef, words: list[tuple[str, bool]], *, adjacent: bool) -> Query:
    """One Term for the words of a clause; words truncated mid-clause become ANDed terms."""
    pieces: list[tuple[str, Truncation, bool]] = []
    for text, quoted in words:
        if quoted:
            value = " ".join(text.split())
            if not value:
                raise FindRequestError("Syntax error in search request: empty quoted term")
            pieces.append((value, Truncation.NONE, True))
        else:
            stem, truncation = _split_truncation(text)
            pieces.append((stem, truncation, False))
    truncated_inside = any(t is Truncation.RIGHT for _, t, _ in pieces[:-1])
    if truncated_inside or (len(pieces) > 1 and any(q for _, _, q in pieces) and not adjacent):
        query: Query | None = None
        for value, truncation, quoted in pieces:
            term = _term(index, value, truncation, phrase=quoted and " " in value)
            query = term if query is None else And(query, term)
        assert query is not None
        return query
    value = " ".join(v for v, _, _ in pieces)
    phrase = (adjacent or any(q for _, _, q in pieces)) and " " in value
    return _term(index, value, pieces[-1][1], phrase=phrase)


def _term(index: IndexDef, value: str, truncation: Truncation, *, phrase: bool) -> Term:
    relation = Relation.PHRASE if phrase and index.kind in ("word", "union") else Relation.WORDS
    return Term(index.name, value, relation=relation, truncation=truncation)


def parse_find_request(request: str, *, code: str | None = None, adjacent: bool = False) -> Query:
    """The query tree of an X-server `find` (`request`, optional `code`, `adjacent=Y|N`)."""
    if len(request) > MAX_REQUEST_CHARS:
        raise FindRequestError(f"Search request is longer than {MAX_REQUEST_CHARS} characters")
    tokens = _tokenize(request)
    if not tokens:
        raise FindRequestError("Syntax error in search request: the request is empty")
    default_code = (code or "").strip() or DEFAULT_CODE
    index_for_code(default_code)
    return _Parser(tokens, adjacent).parse(default_code)
