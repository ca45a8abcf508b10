"""The query compiler against a brute-force matcher: SQL over the store must equal set logic."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import indexing
from gateway.catalog import Catalog
from gateway.query import AllRecords, And, Not, Or, Query, Relation, Term, Truncation
from gateway.records import new_record

VOCAB = ["kissa", "koira", "käärme", "kala", "talo", "tähti", "öljy", "aamu", "ilta", "sää"]
NAMES = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen"]
ISBNS = ["9789510123456", "951-0-12345-6", "9789522222222"]


def _record(
    i: int, title_words: list[str], author: str, year: int, isbn: str | None, low: str
) -> pymarc.Record:
    sf = pymarc.Subfield
    fields = [
        pymarc.Field(tag="001", data=f"{i:09d}"),
        pymarc.Field(tag="008", data=f"200101s{year}    fi ||||| |||| 00| 0 fin d"),
        pymarc.Field(
            tag="100", indicators=pymarc.Indicators("1", " "), subfields=[sf("a", author + ",")]
        ),
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[sf("a", " ".join(title_words) + ".")],
        ),
        pymarc.Field(tag="LOW", indicators=pymarc.Indicators(" ", " "), subfields=[sf("a", low)]),
    ]
    if isbn:
        fields.insert(
            1,
            pymarc.Field(
                tag="020", indicators=pymarc.Indicators(" ", " "), subfields=[sf("a", isbn)]
            ),
        )
    return new_record("00000cam a2200000 i 4500", fields)


RECORDS = [
    _record(
        i + 1,
        [VOCAB[(i * 7 + k * 3) % len(VOCAB)] for k in range(1 + i % 3)],
        NAMES[i % len(NAMES)],
        1990 + i % 7,
        ISBNS[i % 3] if i % 2 == 0 else None,
        ["HELKA", "TAMK", "FENNI"][i % 3],
    )
    for i in range(40)
]
ENTRIES = {i + 1: indexing.index_entry(r) for i, r in enumerate(RECORDS)}


def brute_force(query: Query) -> set[int]:
    """Evaluate the query tree directly on each record's index terms."""
    if isinstance(query, AllRecords):
        return set(ENTRIES)
    if isinstance(query, And):
        return brute_force(query.left) & brute_force(query.right)
    if isinstance(query, Or):
        return brute_force(query.left) | brute_force(query.right)
    if isinstance(query, Not):
        return brute_force(query.left) - brute_force(query.right)
    return {rid for rid, entry in ENTRIES.items() if _term_matches(query, entry.terms)}


def _term_matches(term: Term, terms: set[tuple[int, str]]) -> bool:
    word_ix, heading_ix = indexing.INDEX_NUMBERS[term.index]
    truncated = term.truncation is Truncation.RIGHT

    def has(ix: int, value: str, prefix: bool) -> bool:
        return any(
            t_ix == ix and (t.startswith(value) if prefix else t == value) for t_ix, t in terms
        )

    if term.index == "bath.isbn":
        return has(word_ix, indexing.isbn_query_key(term.value), truncated)
    if term.index == "melinda.low":
        return has(word_ix, term.value.lower(), truncated)
    if term.index == "dc.date":
        return has(word_ix, term.value, False)
    if term.anchored:
        value = indexing.heading(term.value)
        if truncated:
            return has(heading_ix, value, True)
        return has(heading_ix, value, False) or has(heading_ix, value + " ", True)
    found = indexing.words(term.value)
    checks = [has(word_ix, w, truncated and i == len(found) - 1) for i, w in enumerate(found)]
    return any(checks) if term.relation is Relation.ANY else bool(found) and all(checks)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = Path(tmp_path_factory.mktemp("store")) / "melinda.sqlite"

    async def build() -> Catalog:
        catalog = await Catalog.open(str(path))
        await catalog.load(RECORDS)
        return catalog

    return asyncio.run(build())


words_st = st.sampled_from(VOCAB)
term_st = st.one_of(
    st.builds(
        lambda ws, rel, trunc: Term(
            "dc.title",
            " ".join(ws) if not trunc else " ".join(ws)[:-1],
            rel,
            Truncation.RIGHT if trunc else Truncation.NONE,
        ),
        st.lists(words_st, min_size=1, max_size=2),
        st.sampled_from([Relation.WORDS, Relation.ANY]),
        st.booleans(),
    ),
    st.builds(
        lambda ws, trunc: Term(
            "dc.title",
            " ".join(ws),
            Relation.WORDS,
            Truncation.RIGHT if trunc else Truncation.NONE,
            anchored=True,
        ),
        st.lists(words_st, min_size=1, max_size=2),
        st.booleans(),
    ),
    st.builds(lambda n: Term("dc.author", n), st.sampled_from(NAMES)),
    st.builds(
        lambda i: Term("bath.isbn", i), st.sampled_from([*ISBNS, "951-0-12345-6", "9789510123456"])
    ),
    st.builds(lambda c: Term("melinda.low", c), st.sampled_from(["HELKA", "tamk", "FENNI"])),
    st.builds(lambda y: Term("dc.date", str(y)), st.integers(1989, 1997)),
)
query_st = st.recursive(
    st.one_of(term_st, st.just(AllRecords())),
    lambda inner: st.one_of(
        st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner, inner)
    ),
    max_leaves=5,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=query_st)
def test_compiled_query_equals_brute_force(catalog: Catalog, query: Query) -> None:
    async def run() -> set[int]:
        return set((await catalog.search(query)).ids)

    expected = brute_force(query)
    assert asyncio.run(run()) == expected, query


def test_isbn_10_finds_its_isbn_13(catalog: Catalog) -> None:
    async def run() -> list[int]:
        return (await catalog.search(Term("bath.isbn", "951-0-12345-6"))).ids

    ids = asyncio.run(run())
    # 9789510123456 is 951-0-12345-6 as ISBN-13: records 1, 7, 13, … carry one or the other form
    assert ids and set(ids) >= {
        rid for rid, e in ENTRIES.items() if (indexing.IX_ISBN, "9510123456") in e.terms
    }
