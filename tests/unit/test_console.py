"""The console's pure parts: Aleph's line format, the side-by-side diff, summaries, CAT history,
the search box's CQL-or-words rule, and the SVG charts."""

from __future__ import annotations

import pymarc
import pytest

from gateway.emulator.console import chart, marc
from gateway.emulator.console.pages import compile_search, key_summary
from gateway.query import Relation, Term


def record() -> pymarc.Record:
    r = pymarc.Record(leader="00000nam a2200000 i 4500")
    r.add_field(pymarc.Field(tag="001", data="000000042"))
    r.add_field(pymarc.Field(tag="008", data="200101s2020    fi " + "|" * 17 + "fin d"))
    r.add_field(
        pymarc.Field(
            tag="100",
            indicators=pymarc.Indicators("1", " "),
            subfields=[
                pymarc.Subfield("a", "Kivi, Aleksis,"),
                pymarc.Subfield("e", "kirjoittaja."),
            ],
        )
    )
    r.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", "Seitsemän veljestä /"), pymarc.Subfield("c", "Kivi.")],
        )
    )
    for user, day, hour in (("LOAD", "20200101", "0900"), ("HELKA", "20261201", "1530")):
        r.add_field(
            pymarc.Field(
                tag="CAT",
                subfields=[
                    pymarc.Subfield("a", user),
                    pymarc.Subfield("b", "30"),
                    pymarc.Subfield("c", day),
                    pymarc.Subfield("l", "FIN01"),
                    pymarc.Subfield("h", hour),
                ],
            )
        )
    r.add_field(pymarc.Field(tag="LOW", subfields=[pymarc.Subfield("a", "HELKA")]))
    return r


def test_line_format_is_alephs() -> None:
    assert marc.line_format(record()) == [
        "LDR    00000nam a2200000 i 4500",
        "001    000000042",
        "008    200101s2020    fi |||||||||||||||||fin d",
        "100 1  $$aKivi, Aleksis,$$ekirjoittaja.",
        "245 10 $$aSeitsemän veljestä /$$cKivi.",
        "CAT    $$aLOAD$$b30$$c20200101$$lFIN01$$h0900",
        "CAT    $$aHELKA$$b30$$c20261201$$lFIN01$$h1530",
        "LOW    $$aHELKA",
    ]


def test_side_by_side_marks_changed_removed_and_added_lines() -> None:
    left = ["LDR x", "001 1", "245 a", "650 old", "LOW A"]
    right = ["LDR x", "001 1", "024 stamp", "245 a", "650 new", "LOW A"]
    rows = marc.side_by_side(left, right)
    assert [(r.left, r.right, r.kind) for r in rows] == [
        ("LDR x", "LDR x", "same"),
        ("001 1", "001 1", "same"),
        ("", "024 stamp", "added"),
        ("245 a", "245 a", "same"),
        ("650 old", "650 new", "changed"),
        ("LOW A", "LOW A", "same"),
    ]
    uneven = marc.side_by_side(["a", "b", "c"], ["x"])
    assert [r.kind for r in uneven] == ["changed", "removed", "removed"]


def test_summary_and_cat_history() -> None:
    s = marc.summary("000000042", record())
    assert (s.title, s.author, s.year, s.lows) == (
        "Seitsemän veljestä",
        "Kivi, Aleksis",
        "2020",
        ("HELKA",),
    )
    history = marc.cat_history(record())
    assert [(c.user, c.when) for c in history] == [
        ("HELKA", "2026-12-01 15:30"),
        ("LOAD", "2020-01-01 09:00"),
    ]
    no_year = record()
    no_year.remove_fields("008")
    no_year.add_field(
        pymarc.Field(
            tag="264",
            indicators=pymarc.Indicators(" ", "1"),
            subfields=[pymarc.Subfield("c", "[1999?]")],
        )
    )
    assert marc.year_of(no_year) == "1999"


def test_search_box_takes_cql_or_plain_words() -> None:
    assert compile_search('dc.title="veljestä"') == Term("dc.title", "veljestä", Relation.WORDS)
    words = compile_search("seitsemän veljestä")  # not CQL: every word, anywhere
    assert isinstance(words, Term) and words.index == "cql.serverChoice"
    assert words.value == "seitsemän veljestä"
    quoted = compile_search('kivi "aleksis')  # a stray quote is a word, not a syntax error
    assert isinstance(quoted, Term) and '"aleksis' in quoted.value


def test_key_summary_shows_type_fingerprint_and_comment() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOiKKC7lx3KXV+a1sZpdSoLfBQXGNDoxrJ7Xa9yU7cM8 helka@alma"
    assert (
        key_summary(key)
        == (
            "ssh-ed25519 SHA256:SWw8rD9lzCjy9/WN0Ug20VHgsqxRNKOLKV3b9EH/GWc (helka@alma)"  # as ssh-keygen -l
        )
    )
    assert key_summary("not-a-key") == "not-a-key"


def test_percentiles_are_nearest_rank() -> None:
    values = sorted(float(n) for n in range(1, 101))
    assert chart.percentile(values, 0.5) == 50
    assert chart.percentile(values, 0.99) == 99
    assert chart.percentile([], 0.5) == 0
    samples = [chart.Sample(0, "sru", ms) for ms in (1, 2, 3, 100)] + [chart.Sample(0, "z3950", 5)]
    table = chart.latency_table(samples)
    assert [(r.interface, r.count, r.p50, r.p99) for r in table] == [
        ("sru", 4, 2, 100),
        ("z3950", 1, 5, 5),
    ]


def test_requests_per_minute_and_the_svg() -> None:
    now = 1_800_000_000.0  # a whole minute
    samples = [
        chart.Sample(now, "sru", 1),
        chart.Sample(now - 30, "sru", 1),  # the minute before
        chart.Sample(now - 61, "z3950", 1),
        chart.Sample(now - 3600, "sru", 1),  # outside the window
    ]
    counts = chart.per_minute(samples, now, 30)
    assert counts["sru"][-1] == 1 and counts["sru"][-2] == 1 and sum(counts["sru"]) == 2
    assert sum(counts["z3950"]) == 1
    svg = str(chart.requests_chart(samples, now))
    assert svg.startswith("<svg") and svg.count("<rect") == 3
    assert "<title>sru: 1</title>" in svg
    latency = str(chart.latency_chart(chart.latency_table(samples)))
    assert latency.count("<rect") == 6  # three percentiles for each of two interfaces


@pytest.mark.parametrize("value,top", [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (420, 500)])
def test_axis_tops_are_round(value: float, top: float) -> None:
    assert chart.nice_ceiling(value) == top


def test_change_times_read_alike_as_epoch_or_iso() -> None:
    from gateway.emulator.console.frame import utc

    assert utc(1_800_000_000) == "2027-01-15 08:00:00Z"
    assert utc("2027-01-15T08:00:00Z") == "2027-01-15 08:00:00Z"
