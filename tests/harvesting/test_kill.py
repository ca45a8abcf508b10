"""The `melinda-gateway harvest` command killed with SIGKILL mid-run, then run again: it resumes,
and the final store equals that of an uninterrupted run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from gateway.catalog import Catalog
from gateway.records import write_marcxml_collection
from tests.conftest import ROOT
from tests.harvesting.helpers import (
    LIBRARY,
    SID_CODE,
    library_source,
    matchable,
    new_titles,
    store_contents,
    without_times,
)

CLI = [sys.executable, "-m", "gateway"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False
    )


def _prepared(data: Path, melinda_file: Path) -> None:
    added = _cli(
        "library",
        "add",
        LIBRARY,
        "--data-dir",
        str(data),
        "--sid-code",
        SID_CODE,
        "--low",
        LIBRARY,
        "--name",
        "Vaski",
    )
    assert added.returncode == 0, added.stderr
    loaded = _cli("load", "--data-dir", str(data), str(melinda_file))
    assert loaded.returncode == 0, loaded.stderr


def _final_state(data: Path) -> tuple[dict[int, bytes], dict[str, int]]:
    async def read() -> tuple[dict[int, bytes], dict[str, int]]:
        catalog = await Catalog.open(str(data / "melinda.sqlite"))
        try:
            contents = await store_contents(catalog)
            runs = await catalog.harvest_runs()
        finally:
            await catalog.close()
        assert len(runs) == 1 and runs[0]["state"] == "done"
        return {k: without_times(v) for k, v in contents.items()}, runs[0]["counts"]

    return asyncio.run(read())


def test_kill_9_mid_harvest_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    melinda = list(matchable(60))
    melinda_file = tmp_path / "melinda.xml"
    with melinda_file.open("wb") as out:
        write_marcxml_collection(melinda, out)
    _source, server, _copies = library_source(melinda[:40], new_titles(160), page_size=10)
    try:
        whole, interrupted = tmp_path / "whole", tmp_path / "interrupted"
        for data in (whole, interrupted):
            _prepared(data, melinda_file)
        harvest = ["harvest", "--url", server.url, "--library", LIBRARY]

        done = _cli(*harvest, "--data-dir", str(whole))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "created 160, matched and merged 40" in done.stdout

        proc = subprocess.Popen(
            [*CLI, *harvest, "--data-dir", str(interrupted)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        committed = 0
        for line in proc.stdout:
            if line.startswith("committed "):
                committed = int(line.split()[1])
                if committed >= 60:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        assert 60 <= committed < 200  # killed in the middle

        resumed = _cli(*harvest, "--data-dir", str(interrupted))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "resuming harvest 1 after" in resumed.stdout
    finally:
        server.close()
    whole_store, whole_counts = _final_state(whole)
    resumed_store, resumed_counts = _final_state(interrupted)
    assert len(whole_store) == 60 + 160
    assert resumed_store == whole_store
    assert resumed_counts == whole_counts


def test_sigterm_stops_the_harvest_after_its_page_and_the_next_run_resumes(
    tmp_path: Path,
) -> None:
    melinda = list(matchable(10))
    melinda_file = tmp_path / "melinda.xml"
    with melinda_file.open("wb") as out:
        write_marcxml_collection(melinda, out)
    _source, server, _copies = library_source(melinda[:5], new_titles(55), page_size=5)
    data = tmp_path / "data"
    try:
        _prepared(data, melinda_file)
        harvest = ["harvest", "--url", server.url, "--library", LIBRARY, "--data-dir", str(data)]
        proc = subprocess.Popen(
            [*CLI, *harvest], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("committed "):
                proc.send_signal(signal.SIGTERM)
                break
        rest = proc.stdout.read()
        proc.wait(timeout=60)
        assert proc.returncode == 1  # not done
        assert ": stopped" in rest
        resumed = _cli(*harvest)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "resuming harvest 1 after" in resumed.stdout
        assert ": done" in resumed.stdout
    finally:
        server.close()
    _store, counts = _final_state(data)
    assert counts["seen"] == 60 and counts["created"] + counts["merged"] == 60
