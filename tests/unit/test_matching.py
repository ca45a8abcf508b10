"""The pure parts of matching and merging: features and their weights, queries, refusals, reducers."""

from __future__ import annotations

import pymarc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import records
from gateway.matching import candidates, features, reducers, validation
from gateway.query import And, Or, Relation, Term


def field(tag: str, *subfields: tuple[str, str], ind: str = "  ") -> pymarc.Field:
    return pymarc.Field(
        tag=tag,
        indicators=pymarc.Indicators(ind[0], ind[1]),
        subfields=[pymarc.Subfield(c, v) for c, v in subfields],
    )


def book(
    title: str = "Seitsemän veljestä",
    *,
    subtitle: str = "",
    isbns: tuple[str, ...] = ("9789511123453",),
    year: str = "2020",
    language: str = "fin",
    leader: str = "00000nam a2200000 i 4500",
    extra: tuple[pymarc.Field, ...] = (),
) -> pymarc.Record:
    record = pymarc.Record(leader=leader, force_utf8=True)
    record.add_field(
        pymarc.Field(tag="008", data=f"200101s{year}    fi " + "|" * 17 + f"{language} d")
    )
    for isbn in isbns:
        record.add_field(field("020", ("a", isbn)))
    record.add_field(field("100", ("a", "Kivi, Aleksis."), ind="1 "))
    title_subfields = [("a", f"{title} :" if subtitle else title)]
    if subtitle:
        title_subfields.append(("b", subtitle))
    record.add_field(field("245", *title_subfields, ind="10"))
    for extra_field in extra:
        record.add_field(extra_field)
    return record


def probability(strategy: str, a: pymarc.Record, b: pymarc.Record) -> features.Detection:
    chosen = features.STRATEGIES[strategy]
    return features.detect(chosen, features.extract_all(chosen, a), features.extract_all(chosen, b))


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)]


@given(st.text("abcde ", max_size=14), st.text("abcde ", max_size=14))
def test_bounded_similarity_agrees_with_levenshtein_above_its_floor(a: str, b: str) -> None:
    exact = 1.0 - levenshtein(a, b) / max(len(a), len(b), 1)
    found = features.bounded_similarity(a, b, 0.9)
    if exact >= 0.9:
        assert found == pytest.approx(exact)
    else:
        assert found < 0.9


def test_isbn_10_and_13_are_one_isbn() -> None:
    weights = probability("STANDARD_IDS", book(), book(isbns=("951-1-12345-9",))).points
    assert weights["ISBN"] == 0.75
    assert (
        probability("STANDARD_IDS", book(), book(isbns=("9789511199990",))).points["ISBN"] == -0.75
    )
    # each ISBN only one has costs a fifth
    two = probability("STANDARD_IDS", book(), book(isbns=("9789511123453", "9789510000007")))
    assert two.points["ISBN"] == 0.6


def test_the_same_book_is_a_match_in_every_strategy() -> None:
    for strategy in ("STANDARD_IDS", "CONTENT"):
        assert probability(strategy, book(), book()).probability == 1.0


def test_title_points() -> None:
    def title(a: pymarc.Record, b: pymarc.Record) -> float:
        return probability("CONTENT", a, b).points["Title"]

    assert title(book(), book()) == 0.5
    assert title(book(subtitle="romaani"), book()) == 0.25  # one lacks the subtitle
    assert title(book("Seitsemän veljestä"), book("Seitsemän veljesta")) == 0.5  # diacritics
    assert title(book("Seitsemän veljestä"), book("Seitsemän veljestää")) == 0.4  # near
    assert title(book("Kesä"), book("Kesä ja talvi")) == -0.5
    part_one = book(extra=())
    part_one["245"].add_subfield("n", "1")
    part_two = book()
    part_two["245"].add_subfield("n", "2")
    assert title(part_one, part_two) == -1.0


def test_a_failing_feature_or_no_qualifying_feature_means_no_match() -> None:
    component = book(extra=(field("773", ("w", "(FI-MELINDA)000000001")),))
    host = book()
    assert probability("CONTENT", component, host).probability == 0.0
    other_year = probability("CONTENT", book(isbns=()), book(isbns=(), year="1990"))
    assert other_year.points["Publication time"] == -1.0 and other_year.probability == 0.0
    # without identifiers, a title, author and the rest do not reach 0.9 with one subtitle missing
    assert (
        probability("CONTENT", book(isbns=(), subtitle="romaani"), book(isbns=())).probability < 0.9
    )


def test_language_and_levels() -> None:
    assert probability("CONTENT", book(), book(language="swe")).points["Language"] == -0.2
    serial = book(leader="00000nas a2200000 i 4500")
    assert probability("CONTENT", book(), serial).points["Bibliographic level"] == -0.2
    article = book(leader="00000nab a2200000 i 4500")
    assert (
        probability("CONTENT", book(leader="00000naa a2200000 i 4500"), article).points[
            "Bibliographic level"
        ]
        == 0.0
    )


def test_ids_strategy_melinda_id_and_source_ids() -> None:
    stored = book(
        extra=(
            field("035", ("a", "(FI-MELINDA)000000007")),
            field("SID", ("c", "1"), ("b", "helka")),
        )
    )
    incoming = book(extra=(field("035", ("z", "(FI-MELINDA)000000007")),))
    assert probability("IDS", stored, incoming).probability == 1.0
    other_local = book(extra=(field("SID", ("c", "2"), ("b", "helka")),))
    assert probability("IDS", stored, other_local).points["All source IDs"] == -1.0


def test_candidate_queries() -> None:
    record = book(
        extra=(
            field("035", ("a", "(FI-MELINDA)000000007"), ("z", "(FI-MELINDA)000000003")),
            field("SID", ("c", "(ANDL100020)1077-305"), ("b", "sata")),
            field("024", ("a", "X" * 50)),
        )
    )
    ids = candidates.melinda_id_queries(record)
    assert ids == [
        Or(
            Term("melinda.melindaid", "000000007", relation=Relation.EXACT),
            Term("melinda.melindaid", "000000003", relation=Relation.EXACT),
        )
    ]
    (sid,) = candidates.source_id_queries(record)
    assert isinstance(sid, Term) and sid.value == "1077305sata"
    standard = candidates.standard_identifier_queries(record)
    # the ISBN and the 40-character cut of the long 024, too long to pair: one query each
    assert [q.value for q in standard if isinstance(q, Term)] == ["9789511123453", "X" * 40]
    tightest, *_rest, loosest = candidates.content_queries(record)
    assert isinstance(tightest, And) and isinstance(loosest, Term)
    assert (
        loosest.index == "dc.title" and loosest.anchored and loosest.value == "Seitsemän veljestä"
    )


def test_refusal_rules() -> None:
    def refused(a: pymarc.Record, b: pymarc.Record) -> str:
        with pytest.raises(validation.MergeRefusedError) as caught:
            validation.check_merge(1, a, 2, b)
        return caught.value.rule

    helka = field("LOW", ("a", "HELKA"))
    assert refused(book(extra=(helka,)), book(extra=(field("LOW", ("a", "HELKA")),))) == "same-low"
    deleted = book()
    records.mark_deleted(deleted)
    assert refused(book(), deleted) == "deleted"
    assert refused(book(), book(leader="00000ncm a2200000 i 4500")) == "record-type"
    assert refused(book(), book(leader="00000nas a2200000 i 4500")) == "bibliographic-level"
    fenni_a = book(extra=(field("594", ("a", "Ennakkotieto"), ("5", "FENNI")),))
    fenni_b = book(extra=(field("594", ("a", "Toinen"), ("5", "FENNI")),))
    assert refused(fenni_a, fenni_b) == "national-collection"
    validation.check_merge(
        1, fenni_a, 2, book(extra=(field("594", ("a", "Ennakkotieto."), ("5", "FENNI")),))
    )
    with pytest.raises(validation.MergeRefusedError, match=r"\(same-record\)"):
        validation.check_merge(3, book(), 3, book())


def test_reducers_take_what_the_kept_record_lacks() -> None:
    preferred = book(
        extra=(field("300", ("a", "300 sivua")), field("650", ("a", "veljekset"), ("2", "yso/fin")))
    )
    preferred.add_ordered_field(pymarc.Field(tag="001", data="000000001"))
    other = book(
        subtitle="romaani",
        extra=(
            field("035", ("a", "(FI-MELINDA)000000002")),
            field("035", ("a", "(OCoLC)123")),
            field("084", ("a", "84.2"), ("2", "ykl")),
            field("250", ("a", "2. painos")),
            field("300", ("a", "301 sivua")),
            field("650", ("a", "veljekset."), ("2", "yso/fin")),
            field("650", ("a", "maaseutu"), ("2", "yso/fin")),
            field("LOW", ("a", "TAMK")),
            field("SID", ("c", "7"), ("b", "tamk")),
            field("CAT", ("a", "TAMK"), ("c", "20200101")),
        ),
    )
    kept = reducers.merge_fields(preferred, other, 2)
    assert [f["a"] for f in kept.get_fields("245")] == ["Seitsemän veljestä"]  # non-repeatable
    assert [f["a"] for f in kept.get_fields("300")] == ["300 sivua"]  # not beside a 300
    assert kept.get_fields("250") == []  # never added
    assert [f["a"] for f in kept.get_fields("650")] == ["veljekset", "maaseutu"]  # no repeat
    assert [f["a"] for f in kept.get_fields("084")] == ["84.2"]
    assert [str(f) for f in kept.get_fields("035")] == [
        "=035  \\\\$z(FI-MELINDA)000000002",
        "=035  \\\\$a(OCoLC)123",
    ]
    assert records.lows(kept) == ["TAMK"] and records.sids(kept) == [("7", "tamk")]
    assert kept.fields[-1].tag == "LOW" and kept.get_fields("CAT")
    assert preferred.get_fields("084") == []  # the preferred record itself is left as it was
    left = reducers.withdraw_moved_fields(other)
    assert records.lows(left) == [] and records.sids(left) == [] and left.get_fields("CAT")


def test_matching_view_reads_the_compared_fields_as_the_full_parser_does() -> None:
    from gateway.emulator.generator import generate_records
    from gateway.matching.reading import MATCHING_TAGS, matching_view

    tricky = book(subtitle='"quoted" & <angled>')
    for record in [*generate_records(200, 3), tricky]:
        stored = records.record_to_marcxml(record)
        full = records.parse_marcxml(stored)
        light = matching_view(stored)
        assert str(light.leader) == str(full.leader)
        assert [str(f) for f in light.fields] == [
            str(f) for f in full.fields if f.tag in MATCHING_TAGS
        ]
    # not the compact form: the full parser reads it
    indented = records.record_to_marcxml(tricky).replace(b"><", b">\n<")
    assert [str(f) for f in matching_view(indented).get_fields("245")] == [
        str(f) for f in tricky.get_fields("245")
    ]


def test_a_candidate_is_judged_as_a_pair_is() -> None:
    chosen = features.STRATEGIES["CONTENT"]
    incoming = book()
    for candidate in (book(), book(year="1990"), book("Kesä"), book(isbns=("9789510000007",))):
        lazy = features.detect_candidate(chosen, features.extract_all(chosen, incoming), candidate)
        whole = probability("CONTENT", incoming, candidate)
        assert lazy.probability == whole.probability
