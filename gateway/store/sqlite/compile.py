"""Compiles the one query tree into SQL over the inverted index (`terms`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway import indexing
from gateway.errors import UnknownIndexError, UnsupportedRelationError, UnsupportedTruncationError
from gateway.query import (
    AllRecords,
    And,
    IndexDef,
    Not,
    Or,
    Query,
    Relation,
    SortKey,
    Term,
    Truncation,
    check_complexity,
    resolve_index,
)

SqlPart = tuple[str, list[object]]

_TOP: Final = "\U0010ffff"  # sorts after every other character, closing a prefix range
_NOTHING: Final[SqlPart] = ("SELECT rec FROM terms WHERE 1 = 0", [])
_RANGE_OPS: Final = {Relation.LT: "<", Relation.LE: "<=", Relation.GT: ">", Relation.GE: ">="}


_OPS: Final = {And: "INTERSECT", Or: "UNION", Not: "EXCEPT"}


def compile_query(query: Query, *, nested: bool = False) -> SqlPart:
    """A SELECT yielding column `rec` (record ids, possibly repeated) for the query.

    `nested`: each boolean's operands in named subqueries (PostgreSQL, where INTERSECT binds
    tighter than UNION and EXCEPT, so SQLite's flat left-to-right chain would mean another
    thing). Raises QueryTooComplexError past the bounds of gateway.query.
    """
    check_complexity(query)
    return _compile_nested(query) if nested else _compile(query)


def _compile_nested(query: Query) -> SqlPart:
    if isinstance(query, AllRecords | Term):
        return _compile(query)
    left_sql, left_params = _compile_nested(query.left)
    right_sql, right_params = _compile_nested(query.right)
    op = _OPS[type(query)]
    sql = f"SELECT rec FROM ({left_sql}) AS q {op} SELECT rec FROM ({right_sql}) AS q"
    return sql, left_params + right_params


def _compile(query: Query) -> SqlPart:
    # Flat, not one subquery per boolean: SQLite's compound operators associate to the left,
    # so `a and b or c not d` is one compound SELECT, and a run of one associative operator
    # (`a and (b and c)`) joins it too. Only what really nests becomes a subquery.
    if isinstance(query, AllRecords):
        return ("SELECT id AS rec FROM records WHERE NOT deleted", [])  # both stores read it
    if isinstance(query, Term):
        return _compile_term(query)
    spine: list[And | Or | Not] = []
    node: Query = query
    while isinstance(node, And | Or | Not):
        spine.append(node)
        node = node.left
    first_sql, params = _compile(node)
    pieces = [f"SELECT rec FROM ({first_sql})"]
    for boolean in reversed(spine):
        op = _OPS[type(boolean)]
        for operand in _run_of(boolean.right, type(boolean)):
            sql, operand_params = _compile(operand)
            pieces.append(f"{op} SELECT rec FROM ({sql})")
            params = params + operand_params
    return " ".join(pieces), params


def _run_of(query: Query, kind: type[And | Or | Not]) -> list[Query]:
    """The operands of a run of `kind` (And or Or) starting at `query`, left to right."""
    if kind is Not or type(query) is not kind:
        return [query]
    found: list[Query] = []
    pending: list[Query] = [query]
    while pending:
        node = pending.pop()
        if type(node) is kind:
            assert isinstance(node, And | Or)
            pending += (node.right, node.left)
        else:
            found.append(node)
    return found


EQ_SQL: Final = "SELECT rec FROM terms WHERE ix = ? AND term = ?"  # rows unique and in rec order


def _eq(ix: int, term: str) -> SqlPart:
    return (EQ_SQL, [ix, term])


def _prefix(ix: int, prefix: str) -> SqlPart:
    return (
        "SELECT rec FROM terms WHERE ix = ? AND term >= ? AND term < ?",
        [ix, prefix, prefix + _TOP],
    )


def _match(ix: int, value: str, truncated: bool) -> SqlPart:
    if not value:
        return _NOTHING
    return _prefix(ix, value) if truncated else _eq(ix, value)


def _combine(parts: list[SqlPart], op: str) -> SqlPart:
    if not parts:
        return _NOTHING
    if len(parts) == 1:
        return parts[0]
    sql = f" {op} ".join(f"SELECT rec FROM ({p[0]}) AS q" for p in parts)
    params: list[object] = []
    for part in parts:
        params.extend(part[1])
    return sql, params


def _compile_term(term: Term) -> SqlPart:
    index = resolve_index(term.index)
    if index is None:
        raise UnknownIndexError(term.index)
    if term.truncation in (Truncation.LEFT, Truncation.BOTH):
        raise UnsupportedTruncationError(f"left truncation is not supported on {index.name}")
    if index.kind == "union":
        members = [
            Term(m, term.value, term.relation, term.truncation, term.anchored)
            for m in index.members
        ]
        parts = [_compile_term(t) for t in members if _member_applies(t)]
        return _combine(parts, "UNION")
    if index.kind == "word":
        return _compile_word(index, term)
    if index.kind == "date":
        return _compile_date(index, term)
    return _compile_key(index, term)


def _member_applies(term: Term) -> bool:
    """Within `cql.serverChoice`, a key index only joins in when the value looks like a key."""
    index = resolve_index(term.index)
    if index is None or index.kind != "key":
        return True
    return bool(_key_of(index.name, term.value))


def _compile_word(index: IndexDef, term: Term) -> SqlPart:
    word_ix, heading_ix = indexing.INDEX_NUMBERS[index.name]
    truncated = term.truncation is Truncation.RIGHT
    if term.relation in _RANGE_OPS:
        raise UnsupportedRelationError(term.relation.value, index.name)
    if term.anchored or term.relation is Relation.EXACT:
        value = indexing.heading(term.value)
        if not value:
            return _NOTHING
        if truncated:
            return _prefix(heading_ix, value)
        if term.anchored:
            # `^foo bar`: the heading starts with these whole words
            return (
                "SELECT rec FROM terms WHERE ix = ? AND (term = ? OR (term >= ? AND term < ?))",
                [heading_ix, value, value + " ", value + " " + _TOP],
            )
        return _eq(heading_ix, value)
    found = indexing.words(term.value)
    if not found:
        return _NOTHING
    parts = [_match(word_ix, w, truncated and i == len(found) - 1) for i, w in enumerate(found)]
    if term.relation is Relation.ANY:
        return _combine(parts, "UNION")
    return _combine(parts, "INTERSECT")


def _compile_date(index: IndexDef, term: Term) -> SqlPart:
    ix = indexing.INDEX_NUMBERS[index.name][0]
    years = [w for w in indexing.words(term.value) if w.isdigit()]
    if not years:
        return _NOTHING
    if term.relation in _RANGE_OPS:
        op = _RANGE_OPS[term.relation]
        return (f"SELECT rec FROM terms WHERE ix = ? AND term {op} ?", [ix, years[0]])
    truncated = term.truncation is Truncation.RIGHT
    parts = [_match(ix, y, truncated) for y in years]
    return _combine(parts, "UNION" if term.relation is Relation.ANY else "INTERSECT")


def _key_of(name: str, value: str) -> str:
    if name in ("rec.id", "melinda.melindaid", "melinda.partsofhost"):
        return indexing.melinda_id_key(value)
    if name == "bath.isbn":
        return indexing.isbn_query_key(value)
    if name == "bath.issn":
        return indexing.issn_key(value)
    if name == "dc.identifier":
        return indexing.identifier_key(value)
    if name == "melinda.asteriid":
        return indexing.asteri_id_key(value)
    if name == "melinda.sourceid":
        return indexing.sourceid_key(value, "")
    return indexing.fold(value).strip()


def _compile_key(index: IndexDef, term: Term) -> SqlPart:
    ix = indexing.INDEX_NUMBERS[index.name][0]
    if term.relation in _RANGE_OPS:
        raise UnsupportedRelationError(term.relation.value, index.name)
    truncated = term.truncation is Truncation.RIGHT
    values = term.value.split() if term.relation is Relation.ANY else [term.value]
    parts = [_match(ix, _key_of(index.name, v), truncated) for v in values]
    return _combine(parts, "UNION")


SORT_COLUMNS = {"dc.title": "r.sort_title", "dc.date": "r.sort_date", "dc.author": "r.sort_author"}


def order_by(sort: Sequence[SortKey]) -> str | None:
    """The ORDER BY terms of sort keys (None: by id). Raises UnknownIndexError."""
    if not sort:
        return None
    parts = []
    for key in sort:
        index = resolve_index(key.index)
        column = SORT_COLUMNS.get(index.name if index else key.index)
        if column is None:
            raise UnknownIndexError(key.index)
        parts.append(f"{column} {'ASC' if key.ascending else 'DESC'}")
    return ", ".join(parts)
