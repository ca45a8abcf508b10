"""Type-1 queries (as BER) read into the query tree: the Bib-1 mapping, without a server."""

from __future__ import annotations

import pytest

from gateway.query import And, Not, Or, Relation, Term, Truncation
from protocols.z3950 import pdu as z
from protocols.z3950.ber import (
    CONTEXT,
    Element,
    constructed,
    ctx,
    ctx_integer,
    ctx_null,
    ctx_string,
    decode,
    sequence,
    tlv,
    universal_oid,
)
from protocols.z3950.bib1 import scan_index, to_query
from protocols.z3950.diagnostics import Bib1Diagnostic
from protocols.z3950.rpn import RpnTerm, parse_attributes_plus_term, parse_query


def query_of(rpn: bytes) -> object:
    attribute_set, tree = parse_query(decode(rpn))
    return to_query(attribute_set, tree)


def term(use: int, value: str, *extra: tuple[int, int]) -> bytes:
    return z.rpn_term_query(use, value, extra=list(extra))


@pytest.mark.parametrize(
    ("rpn", "expected"),
    [
        (term(4, "seitsemän"), Term("dc.title", "seitsemän")),
        (
            term(4, "seitsemän veljestä", (4, 1)),
            Term("dc.title", "seitsemän veljestä", Relation.PHRASE),
        ),
        (term(4, "seitse", (5, 1)), Term("dc.title", "seitse", truncation=Truncation.RIGHT)),
        (term(4, "seitse#", (5, 101)), Term("dc.title", "seitse", truncation=Truncation.RIGHT)),
        (term(4, "kivi", (3, 1)), Term("dc.title", "kivi", anchored=True)),
        (
            term(4, "tuntematon sotilas", (6, 3)),
            Term("dc.title", "tuntematon sotilas", Relation.EXACT),
        ),
        (term(7, "978-951-1"), Term("bath.isbn", "978-951-1")),
        (term(7, "978951", (4, 1), (3, 1)), Term("bath.isbn", "978951")),  # no anchoring on keys
        (term(8, "0023-4184"), Term("bath.issn", "0023-4184")),
        (term(12, "000900001"), Term("melinda.melindaid", "000900001")),
        (term(21, "veljekset"), Term("dc.subject", "veljekset")),
        (term(31, "1870", (2, 2)), Term("dc.date", "1870", Relation.LE)),
        (term(31, "1870", (2, 5), (4, 4)), Term("dc.date", "1870", Relation.GT)),
        (term(1003, "kivi"), Term("dc.author", "kivi")),
        (term(1007, "9789511112341"), Term("dc.identifier", "9789511112341")),
        (term(1016, "kivi"), Term("cql.serverChoice", "kivi")),
        (term(1035, "kivi"), Term("cql.serverChoice", "kivi")),
    ],
)
def test_terms(rpn: bytes, expected: Term) -> None:
    assert query_of(rpn) == expected


def _operation(operator: int, left: bytes, right: bytes) -> bytes:
    inner = [decode(part).children[1] for part in (left, right)]
    encoded = [_encode(element) for element in inner]
    rpn_op = ctx(1, *encoded, ctx(46, ctx_null(operator)))
    return ctx(1, *_oid_and(rpn_op))


def _oid_and(structure: bytes) -> tuple[bytes, bytes]:
    return universal_oid(z.BIB1_ATTRIBUTE_SET), structure


def _encode(element: Element) -> bytes:
    if not element.constructed:
        return tlv(element.cls, element.number, element.content)
    return constructed(element.cls, element.number, [_encode(c) for c in element.children])


def test_boolean_operators() -> None:
    kivi, veljet = term(1003, "kivi"), term(4, "veljestä")
    left, right = Term("dc.author", "kivi"), Term("dc.title", "veljestä")
    assert query_of(_operation(0, kivi, veljet)) == And(left, right)
    assert query_of(_operation(1, kivi, veljet)) == Or(left, right)
    assert query_of(_operation(2, kivi, veljet)) == Not(left, right)


@pytest.mark.parametrize(
    ("rpn", "condition"),
    [
        (term(9999, "x"), 114),
        (term(4, "x", (2, 6)), 117),
        (term(4, "x", (2, 1)), 123),
        (term(4, "x", (3, 9)), 119),
        (term(4, "x", (4, 103)), 118),
        (term(4, "x", (4, 4)), 123),  # structure year on a title
        (term(4, "x", (5, 102)), 120),
        (term(4, "x#y", (5, 101)), 120),
        (term(4, "x", (6, 4)), 122),
        (term(4, "x", (7, 1)), 113),
        (term(4, "   "), 125),
        (term(31, "19", (5, 1)), 123),
    ],
)
def test_unsupported_attributes(rpn: bytes, condition: int) -> None:
    with pytest.raises(Bib1Diagnostic) as raised:
        query_of(rpn)
    assert raised.value.condition == condition


def test_query_shapes_that_are_refused() -> None:
    operand = ctx(102, ctx(44), tlv(CONTEXT, 45, b"x"))
    with pytest.raises(Bib1Diagnostic) as raised:
        parse_query(decode(ctx(2, operand)))  # a type-2 query
    assert raised.value.condition == 107
    prox = ctx(
        1, *_oid_and(ctx(1, ctx(0, operand), ctx(0, operand), ctx(46, ctx(3, ctx_integer(2, 1)))))
    )
    with pytest.raises(Bib1Diagnostic) as raised:
        parse_query(decode(prox))
    assert raised.value.condition == 110
    result_set = ctx(1, *_oid_and(ctx(0, ctx_string(31, "default"))))
    with pytest.raises(Bib1Diagnostic) as raised:
        parse_query(decode(result_set))
    assert raised.value.condition == 18
    malformed = ctx(1, *_oid_and(ctx(1, ctx(0, operand))))
    with pytest.raises(Bib1Diagnostic) as raised:
        parse_query(decode(malformed))
    assert raised.value.condition == 108
    other_set = ctx(1, tlv(0, 6, bytes.fromhex("2a8648ce130302")), ctx(0, operand))
    with pytest.raises(Bib1Diagnostic) as raised:
        query_of(other_set)
    assert raised.value.condition == 121


def test_string_use_attributes_name_indexes() -> None:
    attribute = sequence(ctx_integer(120, 1), ctx(224, ctx(1, ctx_string(1, "dc.title"))))
    operand = ctx(102, ctx(44, attribute), tlv(CONTEXT, 45, b"kivi"))
    rpn = ctx(1, *_oid_and(ctx(0, operand)))
    assert query_of(rpn) == Term("dc.title", "kivi")


def test_scan_indexes() -> None:
    assert scan_index(z.BIB1_ATTRIBUTE_SET, RpnTerm((), "kivi")) == ("dc.title", "kivi")
    attributes = decode(term(1003, "kivi")).children[1].only_child()
    start = parse_attributes_plus_term(attributes)
    assert scan_index(z.BIB1_ATTRIBUTE_SET, start) == ("dc.author", "kivi")
    with pytest.raises(Bib1Diagnostic) as raised:
        scan_index(
            z.BIB1_ATTRIBUTE_SET,
            parse_attributes_plus_term(decode(term(1016, "kivi")).children[1].only_child()),
        )
    assert raised.value.condition == 114
