"""Bib-1 attributes mapped onto Melinda's indexes: a type-1 query becomes the one query tree.

Use attributes name the same indexes Melinda's SRU serves (gateway/query.py INDEXES); a
string use attribute (`@attr 1=dc.title`) names an index directly. Relation, position,
structure, truncation and completeness shape the Term. Anything without a faithful meaning
here is refused with the Bib-1 diagnostic for that attribute type rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.query import And, IndexDef, Not, Or, Query, Relation, Term, Truncation, resolve_index
from protocols.z3950.ber import oid_text
from protocols.z3950.diagnostics import (
    MALFORMED_TERM,
    UNSUPPORTED_ATTRIBUTE_SET,
    UNSUPPORTED_ATTRIBUTE_TYPE,
    UNSUPPORTED_COMBINATION,
    UNSUPPORTED_COMPLETENESS,
    UNSUPPORTED_POSITION,
    UNSUPPORTED_RELATION,
    UNSUPPORTED_STRUCTURE,
    UNSUPPORTED_TRUNCATION,
    UNSUPPORTED_USE,
    Bib1Diagnostic,
)
from protocols.z3950.pdu import BIB1_ATTRIBUTE_SET, Oid
from protocols.z3950.rpn import Attribute, RpnNode, RpnOperation, RpnTerm

USE, RELATION, POSITION, STRUCTURE, TRUNCATION, COMPLETENESS = 1, 2, 3, 4, 5, 6

# Bib-1 use attribute -> Melinda index name.
USE_ATTRIBUTES: Final[dict[int, str]] = {
    1: "dc.author",  # personal name
    2: "dc.author",  # corporate name
    3: "dc.author",  # conference name
    4: "dc.title",
    7: "bath.isbn",
    8: "bath.issn",
    12: "melinda.melindaid",  # local number: the Melinda ID, and ids merged into a record
    21: "dc.subject",
    30: "dc.date",
    31: "dc.date",  # date of publication
    1003: "dc.author",
    1004: "dc.author",  # author-name personal
    1005: "dc.author",  # author-name corporate
    1006: "dc.author",  # author-name conference
    1007: "dc.identifier",  # identifier-standard
    1016: "cql.serverChoice",  # any
    1018: "dc.publisher",
    1032: "rec.id",  # doc-id
    1035: "cql.serverChoice",  # anywhere
}
DEFAULT_USE: Final = 1016  # Bib-1: a term without a use attribute means "any"
SCANNABLE_DEFAULT_USE: Final = 4  # Scan without a use attribute walks the title index

_RANGE_RELATIONS: Final = {1: Relation.LT, 2: Relation.LE, 4: Relation.GE, 5: Relation.GT}
_ANCHORING_POSITIONS: Final = {1: True, 2: True, 3: False}  # first in field/subfield, any
_PHRASE, _WORD, _KEY, _YEAR, _DATE, _WORD_LIST = 1, 2, 3, 4, 5, 6
# Structures read as words; 100-109 are the un-normalised, name, free-text and string forms.
_WORDY_STRUCTURES: Final = frozenset({_WORD, _WORD_LIST, 101, 102, 105, 106, 107, 108, 109})
_DATE_STRUCTURES: Final = frozenset({_YEAR, _DATE, 100})
_TRUNCATIONS: Final = {
    1: Truncation.RIGHT,
    2: Truncation.LEFT,
    3: Truncation.BOTH,
    100: Truncation.NONE,
}
_INCOMPLETE_SUBFIELD, _COMPLETE_SUBFIELD, _COMPLETE_FIELD = 1, 2, 3


@dataclass(frozen=True, slots=True)
class _Attributes:
    """The attributes of one term by type; the last of a type wins, as in YAZ's servers."""

    use: int | str
    relation: int
    position: int
    structure: int | None
    truncation: int
    completeness: int


def to_query(attribute_set: Oid, node: RpnNode) -> Query:
    """The query tree of a type-1 query. Raises Bib1Diagnostic."""
    if isinstance(node, RpnOperation):
        left, right = to_query(attribute_set, node.left), to_query(attribute_set, node.right)
        if node.operator == "and":
            return And(left, right)
        if node.operator == "or":
            return Or(left, right)
        return Not(left, right)
    return to_term(attribute_set, node)


def to_term(attribute_set: Oid, node: RpnTerm, *, default_use: int = DEFAULT_USE) -> Term:
    attributes = _collect(attribute_set, node.attributes, default_use)
    index = _index(attributes.use)
    value = node.term.strip()
    if not value:
        raise Bib1Diagnostic(MALFORMED_TERM, "empty term")
    relation = _relation(index, attributes)
    truncation = _TRUNCATIONS.get(attributes.truncation)
    if truncation is None:
        value, truncation = _pattern_truncation(value, attributes.truncation)
    if index.kind == "date" and truncation is not Truncation.NONE:
        raise Bib1Diagnostic(UNSUPPORTED_COMBINATION, "truncation of a date")
    anchored = _ANCHORING_POSITIONS.get(attributes.position)
    if anchored is None:
        raise Bib1Diagnostic(UNSUPPORTED_POSITION, str(attributes.position))
    return Term(
        index=index.name,
        value=value,
        relation=relation,
        truncation=truncation,
        anchored=anchored and index.kind == "word",
    )


def scan_index(attribute_set: Oid, node: RpnTerm) -> tuple[str, str]:
    """(index name, start term) of a Scan. Raises Bib1Diagnostic."""
    attributes = _collect(attribute_set, node.attributes, SCANNABLE_DEFAULT_USE)
    index = _index(attributes.use)
    if not index.scannable:
        raise Bib1Diagnostic(UNSUPPORTED_USE, f"{attributes.use} cannot be scanned")
    return index.name, node.term.strip()


def _collect(
    attribute_set: Oid, attributes: tuple[Attribute, ...], default_use: int
) -> _Attributes:
    if attribute_set != BIB1_ATTRIBUTE_SET:
        raise Bib1Diagnostic(UNSUPPORTED_ATTRIBUTE_SET, oid_text(attribute_set))
    by_type: dict[int, int | str] = {}
    for attribute in attributes:
        if attribute.attribute_set not in (None, BIB1_ATTRIBUTE_SET):
            raise Bib1Diagnostic(UNSUPPORTED_ATTRIBUTE_SET, oid_text(attribute.attribute_set))
        if not USE <= attribute.type <= COMPLETENESS:
            raise Bib1Diagnostic(UNSUPPORTED_ATTRIBUTE_TYPE, str(attribute.type))
        if attribute.type != USE and isinstance(attribute.value, str):
            raise Bib1Diagnostic(_UNSUPPORTED_BY_TYPE[attribute.type], attribute.value)
        by_type[attribute.type] = attribute.value
    structure = by_type.get(STRUCTURE)
    return _Attributes(
        use=by_type.get(USE, default_use),
        relation=int(by_type.get(RELATION, 3)),
        position=int(by_type.get(POSITION, 3)),
        structure=int(structure) if structure is not None else None,
        truncation=int(by_type.get(TRUNCATION, 100)),
        completeness=int(by_type.get(COMPLETENESS, _INCOMPLETE_SUBFIELD)),
    )


_UNSUPPORTED_BY_TYPE: Final = {
    RELATION: UNSUPPORTED_RELATION,
    POSITION: UNSUPPORTED_POSITION,
    STRUCTURE: UNSUPPORTED_STRUCTURE,
    TRUNCATION: UNSUPPORTED_TRUNCATION,
    COMPLETENESS: UNSUPPORTED_COMPLETENESS,
}


def _index(use: int | str) -> IndexDef:
    name = USE_ATTRIBUTES.get(use) if isinstance(use, int) else use
    index = resolve_index(name) if name else None
    if index is None:
        raise Bib1Diagnostic(UNSUPPORTED_USE, str(use))
    return index


def _relation(index: IndexDef, attributes: _Attributes) -> Relation:
    structure = attributes.structure
    if structure is not None and structure not in (
        _WORDY_STRUCTURES | _DATE_STRUCTURES | {_PHRASE, _KEY}
    ):
        raise Bib1Diagnostic(UNSUPPORTED_STRUCTURE, str(structure))
    if structure in _DATE_STRUCTURES and index.kind != "date":
        raise Bib1Diagnostic(UNSUPPORTED_COMBINATION, f"structure {structure} on {index.name}")
    if attributes.completeness not in (_INCOMPLETE_SUBFIELD, _COMPLETE_SUBFIELD, _COMPLETE_FIELD):
        raise Bib1Diagnostic(UNSUPPORTED_COMPLETENESS, str(attributes.completeness))
    if attributes.relation in _RANGE_RELATIONS:
        if index.kind != "date":
            raise Bib1Diagnostic(
                UNSUPPORTED_COMBINATION, f"relation {attributes.relation} on {index.name}"
            )
        return _RANGE_RELATIONS[attributes.relation]
    if attributes.relation != 3:
        raise Bib1Diagnostic(UNSUPPORTED_RELATION, str(attributes.relation))
    if index.kind != "word":
        return Relation.WORDS  # identifiers and years compare as whole keys anyway
    if attributes.completeness != _INCOMPLETE_SUBFIELD or structure == _KEY:
        return Relation.EXACT  # the whole heading equals the term
    if structure == _PHRASE:
        return Relation.PHRASE
    return Relation.WORDS


def _pattern_truncation(value: str, truncation: int) -> tuple[str, Truncation]:
    """Truncation 101 (`#` masks) and 104 (Z39.58 `?`/`#`): only a trailing mask is offered."""
    masks = {101: "#", 104: "?#"}.get(truncation)
    if masks is None:
        raise Bib1Diagnostic(UNSUPPORTED_TRUNCATION, str(truncation))
    stripped = value.rstrip(masks)
    if any(mask in stripped for mask in masks):
        raise Bib1Diagnostic(UNSUPPORTED_TRUNCATION, f"{truncation}: masks inside the term")
    if not stripped:
        raise Bib1Diagnostic(MALFORMED_TERM, "only masking characters")
    return stripped, Truncation.RIGHT if stripped != value else Truncation.NONE
