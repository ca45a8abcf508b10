"""Type-1 (RPN) queries read from their BER form into a small tree of attributes and terms.

Only structure is checked here; what the Bib-1 attributes mean is `bib1.py`'s business.
A query that is well-formed BER but not a well-formed RPN query is diagnostic 108, not a
protocol error, so the association survives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.query import MAX_QUERY_TERMS
from protocols.z3950.ber import CONTEXT, OBJECT_IDENTIFIER, UNIVERSAL, BerError, Element
from protocols.z3950.diagnostics import (
    COMPLEX_ATTRIBUTE_UNSUPPORTED,
    MALFORMED_QUERY,
    OPERATOR_UNSUPPORTED,
    QUERY_TYPE_UNSUPPORTED,
    RESULT_ATTR_UNSUPPORTED,
    RESULT_SET_AS_TERM,
    TERM_TYPE_UNSUPPORTED,
    Bib1Diagnostic,
)
from protocols.z3950.pdu import BIB1_ATTRIBUTE_SET, Oid

MAX_OPERATIONS = 2 * MAX_QUERY_TERMS - 1  # terms and the operators joining them


@dataclass(frozen=True, slots=True)
class Attribute:
    """One AttributeElement: type and value (numeric, or a string for `@attr 1=dc.title`)."""

    attribute_set: Oid | None
    type: int
    value: int | str


@dataclass(frozen=True, slots=True)
class RpnTerm:
    attributes: tuple[Attribute, ...]
    term: str


@dataclass(frozen=True, slots=True)
class RpnOperation:
    operator: str  # "and" | "or" | "and-not"
    left: RpnNode
    right: RpnNode


RpnNode = RpnTerm | RpnOperation

_OPERATORS = {0: "and", 1: "or", 2: "and-not"}


def parse_query(query: Element) -> tuple[Oid, RpnNode]:
    """(attribute set, tree) of a type-1 or type-101 query. Raises Bib1Diagnostic."""
    if not (query.cls == CONTEXT and query.number in (1, 101)):
        raise Bib1Diagnostic(QUERY_TYPE_UNSUPPORTED, str(query.number))
    try:
        if len(query.children) != 2 or not query.children[0].is_tag(UNIVERSAL, OBJECT_IDENTIFIER):
            raise BerError("RPNQuery is not (attributeSet, rpn)")
        budget = [MAX_OPERATIONS]
        return query.children[0].oid(), _structure(query.children[1], budget)
    except BerError as exc:
        raise Bib1Diagnostic(MALFORMED_QUERY, str(exc)) from exc


def parse_attributes_plus_term(element: Element) -> RpnTerm:
    """An AttributesPlusTerm ([102]), as Scan sends its start term."""
    try:
        return _attributes_plus_term(element)
    except BerError as exc:
        raise Bib1Diagnostic(MALFORMED_QUERY, str(exc)) from exc


def _structure(element: Element, budget: list[int]) -> RpnNode:
    budget[0] -= 1
    if budget[0] < 0:
        raise Bib1Diagnostic(
            MALFORMED_QUERY, f"query too complex: more than {MAX_QUERY_TERMS} terms"
        )
    if element.is_tag(CONTEXT, 0):
        return _operand(element.only_child())
    if element.is_tag(CONTEXT, 1):
        if len(element.children) != 3:
            raise BerError("rpnRpnOp is not (rpn1, rpn2, op)")
        left = _structure(element.children[0], budget)
        right = _structure(element.children[1], budget)
        operator = element.children[2]
        if not operator.is_tag(CONTEXT, 46):
            raise BerError("operator [46] expected")
        choice = operator.only_child()
        if choice.cls != CONTEXT or choice.number not in _OPERATORS:
            raise Bib1Diagnostic(OPERATOR_UNSUPPORTED, "prox" if choice.number == 3 else "")
        return RpnOperation(_OPERATORS[choice.number], left, right)
    raise BerError("RPNStructure is neither op [0] nor rpnRpnOp [1]")


def _operand(element: Element) -> RpnNode:
    if element.is_tag(CONTEXT, 102):
        return _attributes_plus_term(element)
    if element.is_tag(CONTEXT, 31):
        raise Bib1Diagnostic(RESULT_SET_AS_TERM, element.string())
    if element.is_tag(CONTEXT, 214):
        raise Bib1Diagnostic(RESULT_ATTR_UNSUPPORTED)
    raise BerError("unknown operand")


def _attributes_plus_term(element: Element) -> RpnTerm:
    if not element.is_tag(CONTEXT, 102) or len(element.children) != 2:
        raise BerError("AttributesPlusTerm is not (attributes, term)")
    attribute_list, term = element.children
    if not attribute_list.is_tag(CONTEXT, 44):
        raise BerError("AttributeList [44] expected")
    attributes = tuple(_attribute(item) for item in attribute_list.children)
    return RpnTerm(attributes, _term(term))


def _attribute(element: Element) -> Attribute:
    attribute_set = element.child(1)
    attribute_type = element.child(120)
    if attribute_type is None:
        raise BerError("attributeType [120] is missing")
    numeric = element.child(121)
    if numeric is not None:
        value: int | str = numeric.integer()
    else:
        value = _complex_value(element.child(224))
    return Attribute(
        attribute_set.oid() if attribute_set is not None else None,
        attribute_type.integer(),
        value,
    )


def _complex_value(element: Element | None) -> int | str:
    """`complex` values: YAZ sends `@attr 1=dc.title` as one string in the list."""
    if element is None:
        raise BerError("attributeValue is missing")
    listed = element.child(1)
    if listed is None or len(listed.children) != 1:
        raise Bib1Diagnostic(COMPLEX_ATTRIBUTE_UNSUPPORTED)
    item = listed.children[0]
    if item.is_tag(CONTEXT, 1):
        return item.string()
    if item.is_tag(CONTEXT, 2):
        return item.integer()
    raise BerError("StringOrNumeric expected")


def _term(element: Element) -> str:
    if element.is_tag(CONTEXT, 45) or element.is_tag(CONTEXT, 216):
        return element.string()
    if element.is_tag(CONTEXT, 215):
        return str(element.integer())
    raise Bib1Diagnostic(TERM_TYPE_UNSUPPORTED, str(element.number))


# --- back to text: the query as the client would have typed it (the journal shows this) ---------
_PQF_OPERATORS = {"and": "@and", "or": "@or", "and-not": "@not"}


def pqf_text(attribute_set: Oid, node: RpnNode) -> str:
    """The query in YAZ's prefix notation (PQF), e.g. `@and @attr 1=4 historia @attr 1=7 951`;
    `@attrset` only when the set is not Bib-1."""
    body = _pqf(node, BIB1_ATTRIBUTE_SET)
    if attribute_set != BIB1_ATTRIBUTE_SET:
        return f"@attrset {_dotted(attribute_set)} {body}"
    return body


def _pqf(node: RpnNode, default_set: Oid) -> str:
    if isinstance(node, RpnOperation):
        left, right = _pqf(node.left, default_set), _pqf(node.right, default_set)
        return f"{_PQF_OPERATORS[node.operator]} {left} {right}"
    parts = []
    for attribute in node.attributes:
        own_set = attribute.attribute_set
        named = f"{_dotted(own_set)} " if own_set not in (None, default_set) else ""
        parts.append(f"@attr {named}{attribute.type}={attribute.value}")
    parts.append(_pqf_term(node.term))
    return " ".join(parts)


def _pqf_term(term: str) -> str:
    if term and not any(c in term for c in ' "\\@'):
        return term
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dotted(oid: Oid | None) -> str:
    return ".".join(str(n) for n in oid or ())
