"""`scripts/bench` options and the load summary it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.main import WORKLOADS, loaded_count, main, oai_time, parse_args


def test_defaults_run_every_workload_on_100k_records() -> None:
    args = parse_args([])
    assert args.count == 100_000
    assert args.workloads == list(WORKLOADS)
    assert args.client_levels == [1, 20]


def test_only_keeps_the_fixed_order() -> None:
    assert parse_args(["--only", "sru,load"]).workloads == ["load", "sru"]


def test_unknown_workload_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--only", "load,gopher"])
    assert exit_info.value.code == 2
    assert "gopher" in capsys.readouterr().err


def test_loaded_count_reads_the_summary_line() -> None:
    assert loaded_count("committed 2000\nloaded 1990, replaced 10, rejected 0\n") == 2000
    assert loaded_count("nothing useful") is None


def test_oai_time_is_utc_seconds() -> None:
    assert oai_time(0) == "1970-01-01T00:00:00Z"
    assert oai_time(1_700_000_000.9) == "2023-11-14T22:13:20Z"


def test_a_work_dir_the_bench_did_not_make_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("keep me")
    assert main(["--count", "100", "--work-dir", str(tmp_path)]) == 2
    assert mine.read_text() == "keep me"
