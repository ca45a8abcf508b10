"""`scripts/bench` end to end on a tiny corpus: the load and SRU workloads (and Zebra beside the
gateway when zebraidx/zebrasrv are installed) produce a table and a JSON file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_load_and_sru(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.main",
            "--count",
            "300",
            "--only",
            "load,sru",
            "--seconds",
            "0.3",
            "--clients",
            "1,2",
            "--json",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(output.read_text())
    assert result["count"] == 300
    assert result["machine"]["cores"] >= 1
    assert result["load"]["records_per_second"] > 0
    assert result["load"]["store_mb"] > 0
    gateway = result["sru"]["gateway"]
    assert set(gateway) == {"isbn", "title", "author", "id"}
    for levels in gateway.values():
        assert set(levels) == {"1", "2"}
        assert all(figures["requests"] > 0 for figures in levels.values())
    # Melinda ID lookups always find their record.
    assert all(figures["zero_hits"] == 0 for figures in gateway["id"].values())
    assert "| SRU ISBN, 2 clients |" in done.stdout
    if shutil.which("zebraidx") and shutil.which("zebrasrv"):
        zebra = result["zebra"]
        assert zebra["available"] is True
        assert result["sru"]["zebra"]["id"]["1"]["requests"] > 0
        agreement = zebra["agreement"]
        assert agreement["same_hits"] >= 0.8 * agreement["queries"], agreement
    else:
        assert "not installed" in result["zebra"]["reason"]
        assert "Zebra: zebraidx/zebrasrv not installed" in done.stdout


def test_bench_reuses_a_corpus_made_earlier(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.xml"
    subprocess.run(
        [
            *(sys.executable, "-m", "gateway.emulator.generator", "--count", "200", "--seed", "3"),
            *("--format", "marcxml", "--output", str(corpus), "--quiet"),
        ],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    made = corpus.read_bytes()
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.main", "--count", "200", "--seed", "3"),
            *("--only", "load", "--corpus", str(corpus), "--no-zebra", "--json", str(output)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reusing the corpus" in done.stderr
    load = json.loads(output.read_text())["load"]
    assert load["corpus_reused"] is True
    assert load["records"] == 200
    # The corpus is the caller's: left in place, unchanged.
    assert corpus.read_bytes() == made
