"""The real `melinda-gateway` command as a subprocess: load/export, serve, SIGTERM, library."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.emulator.generator import generate_records
from gateway.records import iter_marcxml, write_marcxml_collection
from tests.conftest import ROOT, shared_fixture

CLI = [sys.executable, "-m", "gateway"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def field_lists(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each record as its leader and (tag, content) fields, the form equality means here."""
    with path.open("rb") as fh:
        return [(str(r.leader), [(f.tag, str(f)) for f in r.fields]) for r in iter_marcxml(fh)]


def test_load_then_export_gives_back_the_fixture_records(tmp_path: Path) -> None:
    source = shared_fixture("melinda-records.xml")
    data = tmp_path / "data"
    loaded = run_cli("load", "--data-dir", str(data), str(source))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 12, replaced 0, rejected 0" in loaded.stdout
    out = tmp_path / "export.xml"
    exported = run_cli("export", "--data-dir", str(data), "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    by_id = lambda recs: sorted(recs, key=lambda r: [v for t, v in r[1] if t == "001"])  # noqa: E731
    assert by_id(field_lists(out)) == by_id(field_lists(source))


def test_load_reports_a_bad_record_and_keeps_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<collection xmlns="http://www.loc.gov/MARC21/slim">'
        '<record><leader>00000cam a2200000 i 4500</leader><controlfield tag="001">000000005</controlfield>'
        '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Hyvä.</subfield></datafield></record>'
        '<record><leader>00000cam a2200000 i 4500</leader><datafield ind1="1" ind2="0">'
        '<subfield code="a">Huono.</subfield></datafield></record>'
        "</collection>",
        encoding="utf-8",
    )
    result = run_cli("load", "--data-dir", str(tmp_path / "d"), str(bad))
    assert result.returncode == 1
    assert "loaded 1" in result.stdout and "rejected 1" in result.stdout
    assert re.search(r"rejected .*record 2", result.stdout), result.stdout


def test_usage_errors_exit_2_and_missing_files_exit_1(tmp_path: Path) -> None:
    assert run_cli("frobnicate").returncode == 2
    missing = run_cli("load", "--data-dir", str(tmp_path), str(tmp_path / "nope.xml"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert run_cli("reset", "--data-dir", str(tmp_path)).returncode == 1  # no --yes, no terminal


def test_library_add_list_remove(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    key = tmp_path / "k.pub"
    key.write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd5b8Hf1WQy3q0mYQ0m2cS1n8ZqgkqJ8vZ6k5x0b5c7 test\n"
    )
    added = run_cli(
        "library", "add", "helka", "--password", "pw", "--ssh-key", str(key), "--data-dir", data
    )
    assert added.returncode == 0, added.stderr
    listing = run_cli("library", "list", "--data-dir", data)
    assert re.search(r"^HELKA\s+LOW HELKA\s+SID helka\s+keys 1", listing.stdout, re.M), (
        listing.stdout
    )
    assert run_cli("library", "remove", "HELKA", "--data-dir", data).returncode == 0
    assert "HELKA" not in run_cli("library", "list", "--data-dir", data).stdout
    assert run_cli("library", "remove", "HELKA", "--data-dir", data).returncode == 1


def _start_server(data: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--data-dir",
            str(data),
            "--http-port",
            "0",
            "--z3950-port",
            "0",
            "--sftp-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        match = re.search(r"health\s+(http://\S+)", line)
        if match:
            return proc, match.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError("the server did not print its URLs")


def test_serve_answers_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, health_url = _start_server(tmp_path / "d", "--no-demo")
    try:
        with urllib.request.urlopen(health_url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "ok" and body["records"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_sigterm_to_the_server_during_a_load_loses_nothing_committed(tmp_path: Path) -> None:
    data = tmp_path / "d"
    corpus = tmp_path / "corpus.xml"
    with corpus.open("wb") as fh:
        write_marcxml_collection(generate_records(12_000, 3), fh)
    server, _ = _start_server(data, "--no-demo")
    loader = subprocess.Popen(
        [*CLI, "load", "--data-dir", str(data), str(corpus)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert loader.stdout is not None
    committed = 0
    for line in loader.stdout:
        match = re.match(r"committed (\d+)", line)
        if match:
            committed = int(match.group(1))
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)  # the server goes while the load runs on
            elif committed >= 6000:
                loader.send_signal(signal.SIGKILL)  # and the load itself dies mid-way
                break
    loader.wait(timeout=60)
    assert server.wait(timeout=30) == 0
    assert committed >= 6000
    with sqlite3.connect(data / "melinda.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
    assert count >= committed


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True)
    return {int(p) for p, pp in (line.split() for line in out.stdout.splitlines()) if int(pp) == pid}


def test_a_load_killed_mid_way_with_three_preparing_processes_is_loaded_again_whole(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    corpus = tmp_path / "corpus.xml"
    with corpus.open("wb") as fh:
        write_marcxml_collection(generate_records(8_000, 4), fh)
    loader = subprocess.Popen(
        [*CLI, "load", "--processes", "3", "--data-dir", str(data), str(corpus)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert loader.stdout is not None
    committed = 0
    preparing: set[int] = set()
    for line in loader.stdout:
        match = re.match(r"committed (\d+)", line)
        if match:
            committed = int(match.group(1))
            preparing |= children_of(loader.pid)
            if committed >= 4000:
                loader.send_signal(signal.SIGKILL)
                break
    loader.wait(timeout=60)
    assert len(preparing) >= 3  # the processes preparing the batches (and multiprocessing's own)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in preparing):
        time.sleep(0.2)  # orphaned, each ends at its next send
    left = [p for p in preparing if Path(f"/proc/{p}/stat").exists()
            and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]  # fmt: skip
    assert not left, "a preparing process outlived the killed load"
    with sqlite3.connect(data / "melinda.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
    assert 4000 <= committed <= count < 8000  # whole batches only
    again = run_cli("load", "--processes", "3", "--data-dir", str(data), str(corpus))
    assert again.returncode == 0, again.stderr
    assert f"loaded {8000 - count}, replaced {count}, rejected 0" in again.stdout
    with sqlite3.connect(data / "melinda.sqlite") as conn:
        assert conn.execute("SELECT count(*), max(id) FROM records").fetchone() == (8000, 8000)


@pytest.mark.parametrize("view", ["fin01", "fin01alma"])
def test_export_formats_stream(tmp_path: Path, view: str) -> None:
    data = str(tmp_path / "d")
    corpus = tmp_path / "c.xml"
    with corpus.open("wb") as fh:
        write_marcxml_collection(generate_records(50, 2), fh)
    assert run_cli("load", "--data-dir", data, str(corpus)).returncode == 0
    for fmt, marker in (
        ("marcxml", b"<collection"),
        ("iso2709", b"\x1d"),
        ("alephseq", b" LDR   L "),
    ):
        out = tmp_path / f"out.{fmt}"
        result = run_cli(
            "export", "--data-dir", data, "--format", fmt, "--view", view, "--output", str(out)
        )
        assert result.returncode == 0, result.stderr
        assert marker in out.read_bytes()
