"""Several gateway processes over one catalog, as subprocesses over the wire: on PostgreSQL,
independent `serve` processes and `serve --workers` groups share X-server sessions, faults
and the journal through the database; singleton work (the SFTP inbox, the ILL outbox) runs in
exactly one process and another takes it over when its holder is killed with SIGKILL; a
source's harvest runs in one process and another resumes it once that one is gone."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from gateway.catalog import Catalog
from gateway.publishing import AlmaHolding, write_alma_publishing_file
from tests.conftest import ROOT
from tests.harvesting.helpers import LIBRARY as HARVEST_LIBRARY
from tests.harvesting.helpers import (
    library_source,
    matchable,
    melinda_with_library,
    new_titles,
    wait_for_harvest,
)
from tests.protocols.iso18626.support import (
    ADMIN,
    AGENCIES,
    HELD_BY_HELKA,
    HUL,
    admin,
    book,
    seed,
    wait_status,
)
from tests.protocols.sftp.conftest import LIBRARY, SID_CODE, client_key, load_records, run_sftp
from tests.protocols.sftp.test_crash import GatewayProcess
from tests.protocols.xserver.helpers import XClient
from tests.stores import fresh_database

pytestmark = pytest.mark.e2e

CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60)
OUTBOX_LINE = r"(worker \d+|this process) runs [^\n]*ill-outbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve(
    data_dir: Path, *extra: str, store_url: str = "", sftp_port: int = 0
) -> AsyncIterator[tuple[GatewayProcess, str]]:
    """`serve` as a subprocess: the process (its output read as it comes) and its HTTP URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MELINDA_GATEWAY_ILL_AGENCIES": AGENCIES}
    env["MELINDA_GATEWAY_ILL_DELAY_MS"] = "0"
    if store_url:
        env["MELINDA_GATEWAY_STORE_URL"] = store_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "serve", "--data-dir", str(data_dir), "--no-demo",
        "--host", "127.0.0.1", "--http-port", "0", "--z3950-port", "0",
        "--sftp-port", str(sftp_port), *extra,
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    gateway = GatewayProcess(process)
    try:
        found = await gateway.wait_for(r"health\s+(http://\S+)/health")
        yield gateway, found.group(1)
    finally:
        await gateway.stop()


async def until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def outbox_holders(gateway: GatewayProcess) -> list[str]:
    return [m.group(1) for line in gateway.lines if (m := re.search(OUTBOX_LINE, line))]


def worker_pid(group: GatewayProcess, name: str) -> int:
    """The pid of worker `name` ("worker 1") of a `serve --workers` group."""
    index = int(name.split()[1])
    # -ww: with its output piped, ps may cut lines at 80 columns, and a long checkout path
    # pushes the worker's module name past them
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        parts = line.split()
        if int(parts[1]) == group.process.pid and parts[3:6] == [
            "-m", "gateway.emulator.workers", str(index)
        ]:  # fmt: skip
            return int(parts[0])
    raise AssertionError(f"no {name} under {group.process.pid}")


async def loan_completes(http_url: str) -> None:
    """A loan between two libraries of the gateway runs to LoanCompleted: every message
    went through the outbox."""
    gw = SimpleNamespace(http_url=http_url)
    status, created = await admin(
        gw,  # type: ignore[arg-type]
        "POST",
        "/requests",
        {
            "library": "TAY",
            "supplier": HUL,
            "supplier_url": f"{http_url}/iso18626",
            "record": HELD_BY_HELKA,
        },
    )
    assert status == 201, created
    number = int(created["id"])
    await wait_status(gw, number, "Loaned", timeout=60)  # type: ignore[arg-type]


async def test_workers_on_sqlite_run_one_ill_outbox_taken_over_after_kill_9(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    catalog = await Catalog.open(str(data / "melinda.sqlite"))
    try:
        await seed(SimpleNamespace(catalog=catalog))  # type: ignore[arg-type]
    finally:
        await catalog.close()
    async with serve(data, "--workers", "2") as (group, http_url):
        await group.wait_for(OUTBOX_LINE)
        await loan_completes(http_url)
        await asyncio.sleep(1.0)  # a second outbox would have said so by now
        (holder,) = outbox_holders(group)
        os.kill(worker_pid(group, holder), signal.SIGKILL)
        await group.wait_for(rf"{holder} \(pid \d+\) ended", timeout=30)

        async def taken_over() -> bool:
            return len(outbox_holders(group)) == 2

        await until(taken_over, "another worker to take the outbox over")
        await loan_completes(http_url)


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


async def test_processes_on_postgresql_share_sessions_faults_and_journal(
    tmp_path: Path, database: str
) -> None:
    catalog = await Catalog.open(database)
    try:
        await catalog.add_library("HELKA", password="helka-pw", sid_code="helka", lows=["HELKA"])
        await catalog.create(book("Istuntojen kirja.", "Kivi, Aleksis.", "", ["HELKA"]), user=ADMIN)
    finally:
        await catalog.close()
    async with AsyncExitStack() as stack:
        # a group of two workers and a process of its own, on one database
        _, group_url = await stack.enter_async_context(
            serve(tmp_path / "a", "--workers", "2", store_url=database)
        )
        _, single_url = await stack.enter_async_context(serve(tmp_path / "b", store_url=database))
        on_group = await stack.enter_async_context(aiohttp.ClientSession(timeout=CLIENT_TIMEOUT))
        on_single = await stack.enter_async_context(aiohttp.ClientSession(timeout=CLIENT_TIMEOUT))
        group_x, single_x = XClient(on_group, group_url), XClient(on_single, single_url)
        login = await group_x.get(op="user-auth", staff_user="HELKA", staff_pass="helka-pw")
        assert not login.errors, login.errors
        found = await group_x.get(op="find", request="WTI=istuntojen", session_id=login.session_id)
        number = found.text("set_number")
        assert number, found.root
        # the other process never saw this session: it comes from the database
        again = await single_x.get(
            op="present", set_number=number, set_entry="1", session_id=login.session_id
        )
        assert not again.errors, again.errors
        assert again.session_id == login.session_id
        ((_, record),) = again.records()
        assert record.tags("245")[0][0] == ("a", "Istuntojen kirja.")
        unknown = await single_x.get(
            op="present", set_number=number, set_entry="1", session_id="NOSUCHSESSION"
        )
        assert unknown.errors  # a session nobody opened is refused: the check can fail

        # a fault set through the single process reaches the group's workers
        fault = {"interface": "sru", "kind": "error", "message": "Huoltokatko kaikkialla"}
        async with on_single.post(f"{single_url}/_admin/faults", json=fault) as response:
            assert response.status == 200, await response.text()

        async def group_has_fault() -> bool:
            async with on_group.get(
                f"{group_url}/sru/bib",
                params={"version": "2.0", "operation": "searchRetrieve", "query": "dc.title=a"},
            ) as response:
                return "Huoltokatko kaikkialla" in await response.text()

        await until(group_has_fault, "the group to apply the single process's fault")
        # the journal read through the single process comes to hold the group's SRU requests
        # (it answered none itself); a worker hands its entries on within SYNC_SECONDS, so the
        # request that saw the fault may not be there yet at the first look
        journal: dict[str, Any] = {}

        async def single_has_group_requests() -> bool:
            nonlocal journal
            async with on_single.get(
                f"{single_url}/_admin/journal", params={"interface": "sru"}
            ) as response:
                journal = await response.json()
            return bool(journal["count"] >= 1)

        await until(single_has_group_requests, "the group's SRU requests in the shared journal")
        assert journal["count"] >= 1
        assert all(e["interface"] == "sru" for e in journal["entries"])


async def test_the_sftp_inbox_has_one_owner_on_postgresql_taken_over_after_kill_9(
    tmp_path: Path, database: str
) -> None:
    data = tmp_path / "data"  # one publishing area, as a shared file system gives hosts
    data.mkdir()
    key, public = client_key(tmp_path, "helka_key")
    catalog = await Catalog.open(database)
    try:
        await catalog.add_library(LIBRARY, sid_code=SID_CODE, lows=[LIBRARY], ssh_keys=[public])
        await load_records(catalog, range(1, 21))
    finally:
        await catalog.close()
    first_port, second_port = free_port(), free_port()

    async def publish(port: int, name: str, ids: range) -> dict[str, Any]:
        upload = tmp_path / name
        await asyncio.to_thread(
            write_alma_publishing_file, upload, [AlmaHolding(f"99{n:08d}506253", n) for n in ids]
        )
        run = await run_sftp(port, "helka", key, [f"put {upload} incoming/{name}"])
        assert run.returncode == 0, run.stderr
        report = data / "sftp" / LIBRARY / "reports" / f"{name}.report.json"
        await until(lambda: asyncio.to_thread(report.exists), f"the report of {name}", 60)
        return dict(json.loads(await asyncio.to_thread(report.read_text)))

    async with serve(data, store_url=database, sftp_port=first_port) as (first, _):
        await first.wait_for(r"this process runs sftp")
        async with serve(data, store_url=database, sftp_port=second_port) as (second, _):
            await asyncio.sleep(1.0)
            assert not any("runs sftp" in line for line in second.lines)
            refused = await run_sftp(second_port, "helka", key, ["ls"])
            assert refused.returncode != 0  # one owner: the second process does not listen
            assert (await publish(first_port, "helka_1.xml", range(1, 11)))["status"] == "applied"

            await first.kill()
            await second.wait_for(r"this process runs sftp", timeout=60)
            report = await publish(second_port, "helka_2.xml", range(11, 21))
            assert report["status"] == "applied"
            assert report["counts"]["added"] == 10


async def test_a_harvest_runs_in_one_process_on_postgresql_and_another_resumes_it_after_kill_9(
    tmp_path: Path, database: str
) -> None:
    melinda = list(matchable(5))
    catalog = await Catalog.open(database)
    try:
        await melinda_with_library(catalog, copy.deepcopy(melinda))
    finally:
        await catalog.close()
    _, server, _ = library_source(melinda[:2], new_titles(6), page_size=3)
    server.faults.unavailable, server.faults.retry_after = 3, "3"  # the first pages wait
    spec = {"url": server.url, "library": HARVEST_LIBRARY}
    try:
        async with (
            serve(tmp_path / "a", store_url=database) as (first, first_url),
            serve(tmp_path / "b", store_url=database) as (_, second_url),
            aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http,
        ):
            async with http.post(f"{first_url}/_admin/harvests", json=spec) as response:
                assert response.status == 202, await response.text()
                harvest_id = (await response.json())["id"]
            async with http.post(f"{second_url}/_admin/harvests", json=spec) as response:
                assert response.status == 409, await response.text()
                assert "another gateway process" in (await response.json())["error"]
            await first.kill()
            async with http.post(f"{second_url}/_admin/harvests", json=spec) as response:
                assert response.status == 202, await response.text()
                assert (await response.json())["id"] == harvest_id  # resumed, not begun anew
            report = await wait_for_harvest(http, second_url, harvest_id)
            assert report["state"] == "done", report
            assert report["counts"]["created"] == 6 and report["counts"]["merged"] == 2
    finally:
        server.close()


async def test_on_postgresql_one_process_sends_every_processs_loans_and_another_takes_over(
    tmp_path: Path, database: str
) -> None:
    catalog = await Catalog.open(database)
    try:
        await seed(SimpleNamespace(catalog=catalog))  # type: ignore[arg-type]
    finally:
        await catalog.close()
    async with serve(tmp_path / "a", store_url=database) as (first, _):
        await first.wait_for(OUTBOX_LINE)
        async with serve(tmp_path / "b", store_url=database) as (second, second_url):
            # asked of the second process, sent by the first one's outbox
            await loan_completes(second_url)
            assert outbox_holders(second) == []
            await first.kill()
            await second.wait_for(OUTBOX_LINE, timeout=60)
            await loan_completes(second_url)


async def test_on_postgresql_a_taken_sftp_port_is_a_listen_error_naming_it(
    tmp_path: Path, database: str
) -> None:
    from gateway.emulator.app import create_gateway
    from gateway.emulator.host import ListenError
    from tests.conftest import test_settings

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        settings = test_settings(tmp_path / "d", store_url=database, sftp_port=taken)
        gateway = await create_gateway(settings)
        with pytest.raises(ListenError) as refused:
            await gateway.start()  # the singleton work starts at once where the lock is free
    assert (refused.value.interface, refused.value.port) == ("sftp", taken)
    assert gateway.servers == {}
