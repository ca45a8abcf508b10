"""The X-server find request (Aleph CCL) parses into the query tree."""

from __future__ import annotations

import pytest

from gateway.query import And, Not, Or, Relation, Term, Truncation
from protocols.xserver.ccl import FindRequestError, parse_find_request


def test_plain_words_default_to_wrd() -> None:
    assert parse_find_request("seitsemän veljestä") == Term(
        "cql.serverChoice", "seitsemän veljestä"
    )


def test_code_parameter_applies_to_request() -> None:
    assert parse_find_request("Kivi", code="wau") == Term("dc.author", "Kivi")


@pytest.mark.parametrize(
    ("request_text", "index"),
    [
        ("WRD=kissa", "cql.serverChoice"),
        ("WTI=kissa", "dc.title"),
        ("WAU=kissa", "dc.author"),
        ("IBN=9789510123456", "bath.isbn"),
        ("ISBN=9789510123456", "bath.isbn"),
        ("ISS=1234-5678", "bath.issn"),
        ("SYS=000123456", "rec.id"),
        ("MIDRR=000123456", "melinda.melindaid"),
        ("SIDA=1077305sata", "melinda.sourceid"),
        ("LOW=HELKA", "melinda.low"),
        ("wti=kissa", "dc.title"),
    ],
)
def test_codes_map_to_melinda_indexes(request_text: str, index: str) -> None:
    query = parse_find_request(request_text)
    assert isinstance(query, Term)
    assert query.index == index


def test_boolean_operators_and_precedence() -> None:
    query = parse_find_request("WTI=a OR WAU=b AND LOW=HELKA")
    assert query == Or(
        Term("dc.title", "a"), And(Term("dc.author", "b"), Term("melinda.low", "HELKA"))
    )


def test_not_and_parentheses() -> None:
    query = parse_find_request("(WTI=a OR WTI=b) not LOW=FENNI")
    assert query == Not(
        Or(Term("dc.title", "a"), Term("dc.title", "b")), Term("melinda.low", "FENNI")
    )


def test_code_scopes_over_a_group() -> None:
    query = parse_find_request("WTI=(kissa OR koira)")
    assert query == Or(Term("dc.title", "kissa"), Term("dc.title", "koira"))


def test_spaces_around_equals_and_side_by_side_clauses() -> None:
    query = parse_find_request("WTI = kissa WAU = Kivi")
    assert query == And(Term("dc.title", "kissa"), Term("dc.author", "Kivi"))


def test_right_truncation_with_question_mark_or_star() -> None:
    assert parse_find_request("WTI=kiss?") == Term("dc.title", "kiss", truncation=Truncation.RIGHT)
    assert parse_find_request("IBN=951*") == Term("bath.isbn", "951", truncation=Truncation.RIGHT)


def test_truncation_inside_a_clause_splits_into_terms() -> None:
    query = parse_find_request("WTI=kiss? koira")
    assert query == And(
        Term("dc.title", "kiss", truncation=Truncation.RIGHT), Term("dc.title", "koira")
    )


def test_adjacent_makes_a_phrase() -> None:
    words = parse_find_request("seitsemän veljestä", code="WTI")
    phrase = parse_find_request("seitsemän veljestä", code="WTI", adjacent=True)
    assert isinstance(words, Term) and isinstance(phrase, Term)
    assert words.relation is Relation.WORDS
    assert phrase.relation is Relation.PHRASE


def test_quoted_words_are_a_phrase_and_may_be_operators() -> None:
    assert parse_find_request('WTI="sota ja rauha"') == Term(
        "dc.title", "sota ja rauha", relation=Relation.PHRASE
    )
    assert parse_find_request('WTI="and"') == Term("dc.title", "and")


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("XYZ=kissa", "Search code XYZ is not defined"),
        ("WTI=(kissa", "unbalanced parentheses"),
        ("WTI=kissa)", "unbalanced parentheses"),
        ('WTI="kissa', "unbalanced quotation"),
        ("WTI=", "no search term after WTI="),
        ("WTI=kissa AND", "a search term is missing"),
        ("WTI=?kissa", "Left truncation"),
        ("   ", "empty"),
        ("a" * 501, "longer than 500"),
    ],
)
def test_bad_requests_are_find_errors(request_text: str, message: str) -> None:
    with pytest.raises(FindRequestError, match=message.replace("(", r"\(")):
        parse_find_request(request_text)


def test_unknown_code_parameter_is_an_error() -> None:
    with pytest.raises(FindRequestError, match="Search code FOO"):
        parse_find_request("kissa", code="FOO")
