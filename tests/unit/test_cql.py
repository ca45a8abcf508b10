"""The CQL 1.2 parser and its compilation onto the query tree, construct by construct."""

from __future__ import annotations

import pytest

from gateway.catalog import SortKey
from gateway.errors import UnknownIndexError, UnsupportedRelationError
from gateway.query import AllRecords, And, Not, Or, Relation, Term, Truncation
from protocols.sru import cql
from protocols.sru.cql import compile_query, parse_cql, parse_scan_clause, parse_sort_keys
from protocols.sru.diagnostics import to_diagnostic


def query(text: str, *, allow_sort: bool = True) -> object:
    return compile_query(parse_cql(text, allow_sort=allow_sort))[0]


def sort_of(text: str) -> list[SortKey]:
    return compile_query(parse_cql(text))[1]


def code_of(text: str) -> int:
    with pytest.raises(Exception) as caught:
        compile_query(parse_cql(text))
    return to_diagnostic(caught.value).code


# --- what works ---------------------------------------------------------------------------


def test_index_relation_term() -> None:
    assert query("dc.title = kalevala") == Term("dc.title", "kalevala")


def test_bare_term_searches_server_choice() -> None:
    assert query("kalevala") == Term("cql.serverChoice", "kalevala")


def test_anchored_truncated_title_heading() -> None:
    assert query('dc.title="^Seitsemän veljestä*"') == Term(
        "dc.title", "Seitsemän veljestä", Relation.WORDS, Truncation.RIGHT, anchored=True
    )


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        ("=", Relation.WORDS),
        ("all", Relation.WORDS),
        ("any", Relation.ANY),
        ("adj", Relation.PHRASE),
        ("==", Relation.EXACT),
        ("exact", Relation.EXACT),
        ("cql.any", Relation.ANY),
    ],
)
def test_relations(relation: str, expected: Relation) -> None:
    assert query(f'dc.title {relation} "a b"') == Term("dc.title", "a b", expected)


@pytest.mark.parametrize(
    ("relation", "expected"),
    [("<", Relation.LT), ("<=", Relation.LE), (">", Relation.GT), (">=", Relation.GE)],
)
def test_range_relations_on_dates(relation: str, expected: Relation) -> None:
    assert query(f"dc.date {relation} 2000") == Term("dc.date", "2000", expected)


def test_booleans_are_left_associative_and_case_insensitive() -> None:
    a, b, c = (Term("cql.serverChoice", w) for w in "abc")
    assert query("a AND b or c") == Or(And(a, b), c)
    assert query("a not (b or c)") == Not(a, Or(b, c))


def test_index_names_resolve_aliases_and_case() -> None:
    assert query("DC.Title=x") == Term("dc.title", "x")
    assert query("dc.creator=x") == Term("dc.author", "x")
    assert query("bath.isbn=951-0-12345-6") == Term("bath.isbn", "951-0-12345-6")


def test_melinda_indexes() -> None:
    assert query("melinda.partsofhost=000000123") == Term("melinda.partsofhost", "000000123")
    assert query("melinda.sourceid=1077305sata") == Term("melinda.sourceid", "1077305sata")


def test_all_records() -> None:
    assert query("cql.allRecords = 1") == AllRecords()


def test_quoted_term_escapes() -> None:
    assert query(r'dc.title="say \"hello\""') == Term("dc.title", 'say "hello"')
    # an escaped mask or anchor is a plain character
    assert query(r'dc.title="a\*b"') == Term("dc.title", "a*b")
    assert query(r'dc.title="\^x"') == Term("dc.title", "^x")


def test_left_and_both_truncation() -> None:
    assert query("dc.title=*kirja") == Term("dc.title", "kirja", truncation=Truncation.LEFT)
    assert query("dc.title=*kirj*") == Term("dc.title", "kirj", truncation=Truncation.BOTH)


def test_masked_words_each_get_their_own_truncation() -> None:
    assert query('dc.title="seitse* veljest*"') == And(
        Term("dc.title", "seitse", truncation=Truncation.RIGHT),
        Term("dc.title", "veljest", truncation=Truncation.RIGHT),
    )
    assert query('dc.title any "kissa* koira"') == Or(
        Term("dc.title", "kissa", Relation.ANY, Truncation.RIGHT),
        Term("dc.title", "koira", Relation.ANY),
    )


def test_unmasked_modifier_keeps_star_literal() -> None:
    assert query("dc.title =/unmasked a*") == Term("dc.title", "a*")


def test_supported_relation_modifiers() -> None:
    assert query("dc.title =/ignoreCase/cql.masked a*") == Term(
        "dc.title", "a", truncation=Truncation.RIGHT
    )


def test_prefix_assignment_maps_onto_known_context_set() -> None:
    assert query('> x = "http://purl.org/dc/elements/1.1/" x.title = kalevala') == Term(
        "dc.title", "kalevala"
    )


def test_keywords_may_be_quoted_terms() -> None:
    assert query('dc.title = "and"') == Term("dc.title", "and")
    assert query("dc.title = sortby") == Term("dc.title", "sortby")


def test_sort_by() -> None:
    assert sort_of("a sortBy dc.title/sort.descending dc.date") == [
        SortKey("dc.title", ascending=False),
        SortKey("dc.date"),
    ]
    assert sort_of("a sortby dc.author/ascending") == [SortKey("dc.author")]


def test_sort_by_is_cql_1_2_only() -> None:
    with pytest.raises(cql.CQLSyntaxError):
        parse_cql("a sortby dc.title", allow_sort=False)


def test_sort_keys_parameter() -> None:
    assert parse_sort_keys("dc.title,,0 dc.date") == [
        SortKey("dc.title", ascending=False),
        SortKey("dc.date"),
    ]


def test_scan_clause() -> None:
    index, start = parse_scan_clause('dc.title="seitsemän veljestä"')
    assert (index.name, start) == ("dc.title", "seitsemän veljestä")


# --- what is refused, and with which SRU diagnostic ---------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("dc.title=", 10),
        ("dc.title = a b", 10),
        ("a and", 10),
        ("(a or b", 13),
        ("a or b)", 13),
        ('dc.title="abc', 14),
        ("foo.title=x", 15),
        ('> x = "info:nowhere" x.title = y', 15),
        ("dc.nonesuch=x", 16),
        ("title=x", 16),
        ("dc.title<>x", 19),
        ("dc.title within x", 19),
        ("dc.title < x", 19),
        ("dc.title =/respectCase x", 20),
        ("dc.title =/locale=fi x", 20),
        ('dc.title=""', 27),
        ("dc.title=fo?o", 28),
        ("dc.title=ki*ja", 28),
        ('dc.title adj "a* b"', 28),
        ("dc.title=*", 29),
        ("dc.title=**kirja", 30),
        ("dc.title=kirja**", 30),
        ("dc.title=kir^ja", 32),
        ("dc.title=kirja^", 32),
        ("a prox b", 39),
        ("a and/rel.algorithm=x b", 46),
        ("a sortby dc.publisher", 80),
        ("a sortby nonesuch.key", 80),
        ("a sortby dc.title/sort.respectCase", 91),
    ],
)
def test_diagnostics(text: str, code: int) -> None:
    assert code_of(text) == code


def test_empty_query_is_a_syntax_error() -> None:
    with pytest.raises(cql.CQLSyntaxError):
        parse_cql("   ")


def test_scan_refuses_unscannable_index_and_relations() -> None:
    with pytest.raises(UnknownIndexError):
        parse_scan_clause("dc.publisher=x")
    with pytest.raises(UnsupportedRelationError):
        parse_scan_clause("dc.title any x")
    with pytest.raises(cql.CQLSyntaxError):
        parse_scan_clause("dc.title=a and dc.title=b")


def test_syntax_error_says_where() -> None:
    with pytest.raises(cql.CQLSyntaxError) as caught:
        parse_cql("dc.title = (x")
    assert caught.value.details == "'(' at 12"
