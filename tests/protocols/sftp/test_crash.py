"""Kill -9 in the middle of applying a 100,000-record file: all or nothing, then complete on restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.publishing import AlmaHolding, write_alma_publishing_file
from gateway.query import Relation, Term
from tests.protocols.sftp.conftest import LIBRARY, SID_CODE, client_key, load_records, run_sftp

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
FILE_RECORDS = 100_000
STORED = 3_000  # records of the file that exist in the store; the rest are unknown IDs


class GatewayProcess:
    """`melinda-gateway serve` as a child process, its output read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(process.stdout)),
            asyncio.create_task(self._read(process.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode(errors="replace"))
            self._changed.set()

    async def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                found = re.search(pattern, line)
                if found:
                    return found
            seen = len(self.lines)
            if self.process.returncode is not None:
                pytest.fail(
                    f"the gateway exited ({self.process.returncode}):\n{''.join(self.lines)}"
                )
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {pattern!r} from the gateway:\n{''.join(self.lines[-40:])}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await asyncio.gather(*self._readers)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()
        await asyncio.gather(*self._readers)


@contextlib.asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[tuple[GatewayProcess, int]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--data-dir",
        str(data_dir),
        "--no-demo",
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--z3950-port",
        "0",
        "--sftp-port",
        "0",
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    gateway = GatewayProcess(process)
    try:
        port = int((await gateway.wait_for(r"sftp://\S+:(\d+)")).group(1))
        yield gateway, port
    finally:
        await gateway.stop()


async def count_lows(store: Path) -> int:
    catalog = await Catalog.open(str(store))
    try:
        found = await catalog.search(Term("melinda.low", LIBRARY, Relation.EXACT), cap=1)
        return found.total
    finally:
        await catalog.close()


async def test_kill_9_while_applying_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "melinda.sqlite"
    key, public = client_key(tmp_path, "helka_key")
    catalog = await Catalog.open(str(store))
    try:
        await catalog.add_library(LIBRARY, sid_code=SID_CODE, lows=[LIBRARY], ssh_keys=[public])
        await load_records(catalog, range(1, STORED + 1))
    finally:
        await catalog.close()
    name = "helka_full_20261122.xml"
    upload = tmp_path / name
    await asyncio.to_thread(
        write_alma_publishing_file,
        upload,
        (AlmaHolding(f"99{n:08d}506253", n) for n in range(1, FILE_RECORDS + 1)),
    )
    incoming = data / "sftp" / LIBRARY / "incoming" / name
    report = data / "sftp" / LIBRARY / "reports" / f"{name}.report.json"

    async with serving(data) as (gateway, port):
        run = await run_sftp(port, "helka", key, [f"put {upload} incoming/{name}"])
        assert run.returncode == 0, run.stderr
        await gateway.wait_for(rf"applying {LIBRARY}/incoming/{re.escape(name)}")
        await asyncio.sleep(0.3)  # into the transaction
        await gateway.kill()

    assert incoming.exists(), "the file must stay in incoming/ until it is reported"
    assert not report.exists()
    after_kill = await count_lows(store)
    assert after_kill in (0, STORED), f"half-applied: {after_kill} of {STORED} LOWs"
    print(f"after kill -9: {after_kill} of {STORED} LOWs")

    async with serving(data) as (gateway, _):
        await gateway.wait_for(rf"re-processing {LIBRARY}/incoming/{re.escape(name)}")
        await gateway.wait_for(rf"{LIBRARY}/incoming/{re.escape(name)}: applied", timeout=300)

    assert not incoming.exists()
    assert (data / "sftp" / LIBRARY / "archive" / name).exists()
    result = json.loads(report.read_text())
    assert result["status"] == "applied"
    assert result["records"] == FILE_RECORDS
    assert result["counts"]["added"] == (STORED if after_kill == 0 else 0)
    assert result["counts"]["unchanged"] == (0 if after_kill == 0 else STORED)
    assert result["counts"]["rejected"] == FILE_RECORDS - STORED
    assert await count_lows(store) == STORED
    catalog = await Catalog.open(str(store))
    try:
        from gateway.records import lows, sids

        record = (await catalog.get(STORED)).record()
        assert lows(record) == [LIBRARY]
        assert sids(record) == [(f"99{STORED:08d}506253", SID_CODE)]
    finally:
        await catalog.close()
