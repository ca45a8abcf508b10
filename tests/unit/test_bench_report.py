"""The bench's table: rows from the JSON figures, plain text and Markdown, gateway/Zebra ratios."""

from __future__ import annotations

from typing import Any

from bench.report import (
    HEADER,
    markdown_table,
    ratio,
    rows,
    scale_table,
    speed_line,
    text_table,
)


def figures(per_second: float, p50: float = 1.0, p99: float = 2.0) -> dict[str, float]:
    return {"requests": 100, "seconds": 5.0, "per_second": per_second, "p50_ms": p50, "p99_ms": p99}


RESULT: dict[str, Any] = {
    "count": 20000,
    "load": {"records_per_second": 4000, "peak_rss_mb": 150.0, "store_mb": 80.0},
    "zebra": {
        "available": True,
        "index": {"records_per_second": 8000, "peak_rss_mb": 60.0, "register_mb": 40.0},
    },
    "sru": {
        "gateway": {"isbn": {"1": figures(300), "20": figures(900)}},
        "zebra": {"isbn": {"1": figures(600), "20": figures(450)}},
    },
    "oai": {
        "full": {"records_per_second": 12000, "server_peak_rss_mb": 120.0},
        "incremental": {"records": 42, "records_per_second": 800},
    },
    "xserver": {"saved_per_second": 55.5, "conflicts": 2, "p50_ms": 10.0, "p99_ms": 90.0},
}


def test_ratio_is_gateway_over_zebra() -> None:
    assert ratio(900, 450) == "2.00"
    assert ratio(300, 600) == "0.50"
    assert ratio(300, None) == ""
    assert ratio(300, 0) == ""


def test_rows_pair_each_search_with_zebra() -> None:
    table = rows(RESULT)
    sru = [r for r in table if r[0].startswith("SRU ISBN")]
    assert [r[0] for r in sru] == ["SRU ISBN, 1 client", "SRU ISBN, 20 clients"]
    assert sru[1][2].startswith("900 q/s")
    assert sru[1][3].startswith("450 q/s")
    assert sru[1][4] == "2.00"
    load = next(r for r in table if r[1] == "records/s")
    assert load[2] == "4,000" and load[3] == "8,000 (zebraidx)" and load[4] == "0.50"


def test_rows_skip_missing_workloads_and_zebra() -> None:
    table = rows({"oai": RESULT["oai"]})
    assert {r[0] for r in table} == {"OAI-PMH full harvest", "OAI-PMH from/until harvest"}
    assert all(r[3] == "" for r in table)


def test_markdown_table_has_a_header_and_one_line_per_row() -> None:
    table = rows(RESULT)
    lines = markdown_table(table).splitlines()
    assert lines[0] == "| " + " | ".join(HEADER) + " |"
    assert lines[1].startswith("|---")
    assert len(lines) == 2 + len(table)
    assert all(line.count("|") == len(HEADER) + 1 for line in lines)


def test_text_table_aligns_columns() -> None:
    lines = text_table(rows(RESULT)).splitlines()
    column = lines[0].index("Gateway ")
    assert all(line[column - 2 : column] == "  " for line in lines[2:] if len(line) > column)


def test_scale_table_puts_runs_side_by_side() -> None:
    small = {**RESULT, "count": 100_000}
    large = {
        "count": 1_000_000,
        "load": {"records_per_second": 3500, "peak_rss_mb": 160.0, "store_mb": 900.0},
        "sru": {"gateway": {"isbn": {"1": figures(250, p50=1.5, p99=4.25)}}},
    }
    lines = scale_table([small, large]).splitlines()
    assert lines[0] == "| Measure | 100,000 records | 1,000,000 records |"
    assert "| store MB on disk | 80 | 900 |" in lines
    assert "| SRU ISBN lookup, 1 client, p99 ms | 2.00 | 4.25 |" in lines
    # A measure only one run has shows a dash for the other; one neither has is left out.
    assert "| OAI-PMH harvest records/s | 12,000 | – |" in lines
    assert not any(line.startswith("| Z39.50") for line in lines)


def test_without_zebra_its_column_is_empty() -> None:
    table = rows({"load": RESULT["load"], "sru": {"gateway": RESULT["sru"]["gateway"]}})
    assert table and all(r[3] == "" and r[4] == "" for r in table)
    assert table[0][2] == "4,000"


def test_oai_row_shows_the_anonymous_part_of_the_rss() -> None:
    oai = {
        "server_rss_before_mb": 200.0,
        "server_anon_before_mb": 90.0,
        "full": {
            "records_per_second": 9000,
            "server_peak_rss_mb": 420.0,
            "server_peak_anon_mb": 150.0,
        },
    }
    row = next(r for r in rows({"oai": oai}) if r[1].startswith("server RSS"))
    assert row[2] == "200 / 420 (90 / 150)"


def test_oai_rows_show_the_server_cpu_per_record_when_measured() -> None:
    full = {"records_per_second": 9000, "server_peak_rss_mb": 420.0}
    measured = {"full": {**full, "server_cpu_us_per_record": 23.94}}
    row = next(r for r in rows({"oai": measured}) if r[1].startswith("server CPU"))
    assert row[0] == "OAI-PMH full harvest" and row[2] == "23.9"
    assert not [r for r in rows({"oai": {"full": full}}) if r[1].startswith("server CPU")]


def test_server_cpu_is_shown_per_query_and_per_write_cycle() -> None:
    result = {
        "zebra": {"available": True},
        "z3950": {
            "gateway": {"id": {"1": {**figures(900.0), "server_cpu_ms_per_query": 0.412}}},
            "zebra": {"id": {"1": {**figures(800.0), "server_cpu_ms_per_query": 0.5}}},
        },
        "xserver": {
            "saved_per_second": 300.0,
            "conflicts": 1,
            "p50_ms": 10.0,
            "p99_ms": 90.0,
            "server_cpu_ms_per_cycle": 2.345,
        },
    }
    table = {(row[0], row[1]): row for row in rows(result)}
    search = table[
        ("Z39.50 Melinda ID, 1 client", "search + 10 records (p50 / p99; server CPU per query)")
    ]
    assert search[2].endswith("; CPU 0.41 ms/q)") and search[3].endswith("; CPU 0.50 ms/q)")
    assert table[("X-server, 50 writers", "server CPU ms per find-doc + update-doc")][2] == "2.35"


def test_speed_line_names_each_step_in_order_with_its_loop_time() -> None:
    result = {
        "settled": {
            "the searches": {"seconds": 0.4, "python_loop_ms": 212.4},
            "the X-server writers": {"seconds": 0.1, "python_loop_ms": 351.0},
            "an older run's step": {"seconds": 0.1},  # measured before the figure existed
        }
    }
    line = speed_line(result)
    assert line.endswith(": the searches 212, the X-server writers 351")
    assert "older" not in line


def test_speed_line_says_when_nothing_was_measured() -> None:
    assert speed_line({}) == "Host speed: not measured"
    assert speed_line({"settled": {"the load": {"seconds": 1.0}}}) == "Host speed: not measured"
