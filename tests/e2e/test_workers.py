"""`melinda-gateway serve --workers 2` as a subprocess, over the wire: the workers share one
store, X-server sessions and resets; a worker killed with SIGKILL loses no acknowledged write
and is restarted.

A request reaches a chosen worker this way: every HTTP response names the worker that made it
(`X-Melinda-Worker`), the kernel spreads new connections over the workers (SO_REUSEPORT), so a
client opens connections until one lands on the worker it wants and keeps that one alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from lxml import etree

from tests.conftest import ROOT
from tests.protocols.xserver.helpers import SUCCESS, Reply, XClient, book, saved_id

USER, PASSWORD = "HELKA", "helka-demo"
WORKER_HEADER = "X-Melinda-Worker"
SRU_NS = {"srw": "http://www.loc.gov/zing/srw/"}
# a request the group leaves unanswered fails in this many seconds, not aiohttp's 300
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Group:
    process: subprocess.Popen[str]
    http_url: str
    data_dir: Path
    lines: list[str]


def start_group(
    data_dir: Path, workers: int = 2, *, drain: bool = True, env: dict[str, str] | None = None
) -> Group:
    """The group, started; `drain`: its output read on (kept in `lines`) so that its
    processes never wait on a full pipe; `env`: settings besides the environment's."""
    env = {**os.environ, "MELINDA_GATEWAY_DEMO_COUNT": "50", **(env or {})}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gateway", "serve", "--workers", str(workers),
            "--data-dir", str(data_dir), "--http-port", "0", "--z3950-port", "0",
            "--sftp-port", "0",
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.match(r"\s+health\s+(http://\S+)/health", line)
        if found:
            if drain:
                threading.Thread(target=lines.extend, args=(process.stdout,), daemon=True).start()
            return Group(process, found.group(1), data_dir, lines)
    process.kill()
    raise AssertionError("the group did not start:\n" + "".join(lines))


def stop_group(group: Group) -> int:
    group.process.send_signal(signal.SIGTERM)
    try:
        return group.process.wait(timeout=60)
    finally:
        if group.process.poll() is None:
            group.process.kill()


def worker_pids(group: Group) -> dict[int, int]:
    """The group's worker processes (children of its supervisor): pid by worker index."""
    return workers_of(group.process.pid)


def workers_of(supervisor: int) -> dict[int, int]:
    # -ww: with its output piped, ps may cut lines at 80 columns, and a long checkout path
    # pushes the worker's module name past them
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    )
    found: dict[int, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if (
            len(parts) >= 6
            and int(parts[1]) == supervisor
            and parts[3:5] == ["-m", "gateway.emulator.workers"]
        ):
            found[int(parts[5])] = int(parts[0])
    return found


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    started = start_group(tmp_path_factory.mktemp("workers") / "data")
    yield started
    assert stop_group(started) == 0


async def pinned(base_url: str, worker: int, tries: int = 200) -> aiohttp.ClientSession:
    """A client whose one kept-alive connection is served by that worker."""
    for _ in range(tries):
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), timeout=CLIENT_TIMEOUT
        )
        async with http.get(f"{base_url}/health") as response:
            await response.read()
            if response.headers.get(WORKER_HEADER) == str(worker):
                return http
        await http.close()
    raise AssertionError(f"no connection reached worker {worker} in {tries} tries")


@pytest.fixture
async def on_worker(group: Group) -> AsyncIterator[list[aiohttp.ClientSession]]:
    """Two clients: [0] served by worker 0, [1] by worker 1."""
    clients = [await pinned(group.http_url, 0), await pinned(group.http_url, 1)]
    yield clients
    for client in clients:
        await client.close()


async def served_by(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[str, bytes]:
    async with http.get(url, params=params) as response:
        assert response.status == 200
        return response.headers[WORKER_HEADER], await response.read()


async def insert(client: XClient, title: str, isbn: str) -> str:
    reply = await client.update("000000000", book(title, isbn=isbn), user=USER, password=PASSWORD,
                                action="INSERT")  # fmt: skip
    last = reply.errors[-1] if reply.errors else ""
    match = SUCCESS.match(last)
    assert match, reply.errors
    return match.group(1)


async def sru_hits(http: aiohttp.ClientSession, base_url: str, query: str) -> tuple[str, int]:
    worker, body = await served_by(
        http, f"{base_url}/sru/bib", version="2.0", operation="searchRetrieve", query=query,
        maximumRecords="0",
    )  # fmt: skip
    root = etree.fromstring(body)
    count = root.findtext("{*}numberOfRecords")
    assert count is not None, body[:300]
    return worker, int(count)


async def test_a_write_through_one_worker_is_read_through_the_other_at_once(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    a, b = on_worker
    record_id = await insert(XClient(a, group.http_url), "Kuuden kuun kirja", "9789510000011")
    record = await XClient(b, group.http_url).find_doc(record_id)  # no wait in between
    assert record.tags("245")[0][0] == ("a", "Kuuden kuun kirja")
    worker, hits = await sru_hits(b, group.http_url, 'dc.title="kuuden kuun kirja"')
    assert (worker, hits) == ("1", 1)


async def test_an_xserver_session_opened_on_one_worker_serves_on_another(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    a, b = on_worker
    await insert(XClient(a, group.http_url), "Istuntojen kirja", "9789510000028")
    on_a = XClient(a, group.http_url)
    login = await on_a.get(op="user-auth", staff_user=USER, staff_pass=PASSWORD)
    assert not login.errors, login.errors
    found = await on_a.get(op="find", request="WTI=istuntojen", session_id=login.session_id)
    assert not found.errors, found.errors
    number = found.text("set_number")
    # worker 1 never saw this session: it must come from the state the workers share
    presented = await XClient(b, group.http_url).get(
        op="present", set_number=number, set_entry="1", session_id=login.session_id
    )
    assert not presented.errors, presented.errors
    assert presented.session_id == login.session_id
    ((_, record),) = presented.records()
    assert record.tags("245")[0][0] == ("a", "Istuntojen kirja")
    # the login is remembered there too: an update without re-checking works on worker 1
    assert presented.root.tag == "present"


async def test_a_session_both_workers_hold_serves_what_either_changed(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    """A worker serves find-doc and an update-doc by credentials it has verified from its
    own copy of the session; a set the other worker made meanwhile, and a refused login,
    still count on both."""
    a, b = on_worker
    on_a, on_b = XClient(a, group.http_url), XClient(b, group.http_url)
    record_id = await insert(on_a, "Kahden työläisen kirja", "9789510000066")
    login = await on_a.get(op="user-auth", staff_user=USER, staff_pass=PASSWORD)
    assert not login.errors, login.errors
    session = login.session_id

    async def update_on(client: XClient, password: str, note: str) -> Reply:
        found = await client.get(op="find-doc", doc_num=record_id, session_id=session)
        assert found.session_id == session  # held or taken up: the same session either way
        ((_, record),) = found.records()
        record = record.with_field("500", " ", " ", [("a", note)])
        return await client.post(
            op="update-doc", library="FIN01", doc_action="UPDATE", doc_num=record_id,
            user_name=USER, user_password=password, xml_full_req=record.find_doc(),
            session_id=session,
        )  # fmt: skip

    # worker 1 takes the session up (the login made on worker 0 lets it write), then holds it
    assert saved_id(await update_on(on_b, PASSWORD, "ensimmäinen")) == record_id
    assert saved_id(await update_on(on_b, PASSWORD, "toinen")) == record_id
    # worker 0 makes a result set in the session: worker 1, which holds the session, shows it
    found = await on_a.get(op="find", request="WTI=työläisen", session_id=session)
    assert not found.errors, found.errors
    presented = await on_b.get(
        op="present", set_number=found.text("set_number"), set_entry="1", session_id=session
    )
    assert not presented.errors, presented.errors
    assert presented.session_id == session
    # a wrong password is refused on a worker that holds the session's verified login,
    wrong = await update_on(on_a, "väärä-salasana", "kolmas")
    assert not SUCCESS.match(wrong.errors[-1] if wrong.errors else ""), wrong.errors
    # and the right one still writes on either worker
    assert saved_id(await update_on(on_b, PASSWORD, "neljäs")) == record_id
    assert saved_id(await update_on(on_a, PASSWORD, "viides")) == record_id
    record = await on_b.find_doc(record_id)
    notes = [sf[1] for field in record.tags("500") for sf in field if sf[0] == "a"]
    assert notes[-4:] == ["ensimmäinen", "toinen", "neljäs", "viides"]


async def test_a_hundred_concurrent_writers_across_workers_lose_nothing(group: Group) -> None:
    served: dict[str, int] = {}

    async def one(n: int) -> tuple[str, str]:
        # a connection of its own each: the kernel spreads them over both workers
        form = {
            "op": "update-doc", "library": "FIN01", "doc_action": "INSERT",
            "doc_num": "000000000", "user_name": USER, "user_password": PASSWORD,
            "xml_full_req": book(f"Rinnakkainen kirjoittaja {n:03d}",
                                 isbn="9789510000035").find_doc(),
        }  # fmt: skip
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.post(f"{group.http_url}/X", data=form) as response,
        ):
            worker = response.headers[WORKER_HEADER]
            root = etree.fromstring(await response.read())
        served[worker] = served.get(worker, 0) + 1
        last = [e.text or "" for e in root.findall("error")][-1]
        match = SUCCESS.match(last)
        assert match, last
        return worker, match.group(1)

    results = await asyncio.gather(*(one(n) for n in range(100)))
    ids = [record_id for _, record_id in results]
    assert len(set(ids)) == 100
    assert set(served) == {"0", "1"}, served  # both workers wrote
    async with aiohttp.ClientSession() as http:
        for n in (0, 37, 99):
            _, hits = await sru_hits(
                http, group.http_url, f'dc.title="rinnakkainen kirjoittaja {n:03d}"'
            )
            assert hits == 1
        _, total = await sru_hits(http, group.http_url, 'dc.title="rinnakkainen kirjoittaja"')
        assert total == 100
    for client_worker in (0, 1):
        http = await pinned(group.http_url, client_worker)
        try:
            for record_id in ids[::10]:
                record = await XClient(http, group.http_url).find_doc(record_id)
                assert record.tags("245")[0][0][1].startswith("Rinnakkainen kirjoittaja")
        finally:
            await http.close()


async def test_kill_9_of_a_worker_loses_no_acknowledged_write_and_the_group_recovers(
    group: Group,
) -> None:
    before = worker_pids(group)
    assert sorted(before) == [0, 1], before
    acknowledged: list[tuple[str, str]] = []
    failed = 0
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        nonlocal failed
        n = 0
        while not stop.is_set():
            n += 1
            title = f"Kestava kirja {w} {n}"
            try:
                async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(force_close=True), timeout=CLIENT_TIMEOUT
                ) as http:
                    record_id = await insert(XClient(http, group.http_url), title, "9789510000042")
            except (aiohttp.ClientError, AssertionError, TimeoutError):
                failed += 1  # not acknowledged: the worker died under it
                continue
            acknowledged.append((record_id, title))

    writers = [asyncio.create_task(writer(w)) for w in range(8)]
    await asyncio.sleep(1.5)
    os.kill(before[0], signal.SIGKILL)
    await asyncio.sleep(3.0)
    stop.set()
    await asyncio.gather(*writers)
    assert len(acknowledged) > 20, (len(acknowledged), failed)
    # the group recovers: a new worker 0 (another process) answers
    deadline = time.monotonic() + 60
    while True:
        after = worker_pids(group)
        if after.get(0) not in (None, before[0]):
            break
        assert time.monotonic() < deadline, after
        await asyncio.sleep(0.2)
    http = await pinned(group.http_url, 0)
    try:
        async with http.get(f"{group.http_url}/health") as response:
            health: dict[str, Any] = await response.json()
        assert health["worker"] == 0 and health["pid"] == after[0] != before[0]
        assert after[1] == before[1]  # the other worker served on throughout
        client = XClient(http, group.http_url)
        for record_id, title in acknowledged:
            try:
                record = await client.find_doc(record_id)
            except TimeoutError:
                raise AssertionError(
                    f"worker 0 left find-doc {record_id} unanswered for "
                    f"{CLIENT_TIMEOUT.total} s; the group said:\n" + "".join(group.lines[-40:])
                ) from None
            assert record.tags("245")[0][0] == ("a", title)
    finally:
        await http.close()


async def test_a_reset_is_seen_by_every_worker_at_once(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    a, b = on_worker
    _, hits = await sru_hits(b, group.http_url, 'dc.title="kuuden kuun kirja"')
    assert hits == 1
    async with a.post(f"{group.http_url}/_admin/reset") as response:
        assert response.status == 200, await response.text()
        assert response.headers[WORKER_HEADER] == "0"
    worker, hits = await sru_hits(b, group.http_url, 'dc.title="kuuden kuun kirja"')
    assert (worker, hits) == ("1", 0)
    async with b.get(f"{group.http_url}/health") as response:
        assert (await response.json())["records"] == 0
    # and the worker that did not reset writes on from the emptied store's counters
    record_id = await insert(XClient(b, group.http_url), "Uusi alku", "9789510000059")
    assert int(record_id) == 1
    record = await XClient(a, group.http_url).find_doc(record_id)
    assert record.tags("245")[0][0] == ("a", "Uusi alku")


async def test_faults_and_the_journal_are_every_workers(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    a, b = on_worker
    async with a.delete(f"{group.http_url}/_admin/journal") as response:
        assert response.status == 200
    fault = {"interface": "sru", "kind": "error", "message": "Huoltokatko kaikissa"}
    async with a.post(f"{group.http_url}/_admin/faults", json=fault) as response:
        assert response.status == 200, await response.text()
        assert response.headers[WORKER_HEADER] == "0"
    # worker 1 takes the rule up within its sync interval
    deadline = time.monotonic() + 10
    while True:
        async with b.get(
            f"{group.http_url}/sru/bib",
            params={"version": "2.0", "operation": "searchRetrieve", "query": "dc.title=kirja"},
        ) as response:
            assert response.headers[WORKER_HEADER] == "1"
            if "Huoltokatko kaikissa" in await response.text():
                break
        assert time.monotonic() < deadline, "worker 1 never applied worker 0's fault"
        await asyncio.sleep(0.1)
    async with b.delete(f"{group.http_url}/_admin/faults") as response:
        assert (await response.json())["faults"] == []
    # the journal read through worker 0 holds worker 1's SRU requests
    async with a.get(f"{group.http_url}/_admin/journal", params={"interface": "sru"}) as response:
        journal = await response.json()
    assert response.headers[WORKER_HEADER] == "0"
    assert journal["count"] >= 1
    assert all(e["interface"] == "sru" for e in journal["entries"])
    deadline = time.monotonic() + 10
    while True:  # and the cleared rules reach worker 0
        async with a.get(
            f"{group.http_url}/sru/bib",
            params={"version": "2.0", "operation": "searchRetrieve", "query": "dc.title=kirja"},
        ) as response:
            if "Huoltokatko kaikissa" not in await response.text():
                break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def test_a_snapshot_restore_is_refused_with_several_workers(
    group: Group, on_worker: list[aiohttp.ClientSession]
) -> None:
    a, _ = on_worker
    async with a.post(f"{group.http_url}/_admin/snapshots/before") as response:
        assert response.status == 200, await response.text()
    async with a.post(f"{group.http_url}/_admin/snapshots/before/restore") as response:
        assert response.status == 409
        assert "one process" in (await response.json())["error"]


async def test_a_worker_whose_log_output_nobody_reads_serves_on(tmp_path: Path) -> None:
    # an unread pipe holds 64 KiB, some 500 access lines: writing the next one used to stop
    # the worker's event loop for good
    quiet = start_group(tmp_path / "data", drain=False)
    try:
        async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http:
            for n in range(1500):
                try:
                    _, body = await served_by(
                        http, f"{quiet.http_url}/X", op="find-doc", doc_num="000000001"
                    )
                except TimeoutError:
                    raise AssertionError(f"request {n} went unanswered") from None
                assert b"<record>" in body, body[:300]
    finally:
        quiet.process.kill()
        quiet.process.wait()


async def test_a_single_process_whose_log_output_nobody_reads_serves_on(tmp_path: Path) -> None:
    # the same for plain `serve` (one process): its access lines go through the writer thread
    quiet = start_group(tmp_path / "data", workers=1, drain=False)
    try:
        async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http:
            for n in range(1500):
                try:
                    async with http.get(
                        f"{quiet.http_url}/X", params={"op": "find-doc", "doc_num": "000000001"}
                    ) as response:
                        body = await response.read()
                except TimeoutError:
                    raise AssertionError(f"request {n} went unanswered") from None
                assert b"<record>" in body, body[:300]
    finally:
        quiet.process.kill()
        quiet.process.wait()


async def test_a_supervisor_whose_output_nobody_reads_still_stops_its_workers(
    tmp_path: Path,
) -> None:
    # The group's output goes into a pipe that is then filled to the last byte and never
    # read: the supervisor's own line on stopping used to wait on it for good, before it had
    # stopped a single worker.
    read_end, write_end = os.pipe()
    env = {**os.environ, "MELINDA_GATEWAY_DEMO_COUNT": "50"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gateway", "serve", "--workers", "2",
            "--data-dir", str(tmp_path / "data"), "--http-port", "0", "--z3950-port", "0",
            "--sftp-port", "0",
        ],
        cwd=ROOT, env=env, stdout=write_end, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output = os.fdopen(read_end, "rb", buffering=0)
    try:
        seen = b""
        deadline = time.monotonic() + 120
        while b"Stop with Ctrl-C." not in seen and time.monotonic() < deadline:
            chunk = await asyncio.to_thread(output.read, 4096)
            assert chunk, seen
            seen += chunk
        workers = set(workers_of(process.pid).values())
        assert len(workers) == 2
        # a write end of its own (not the group's, which must stay blocking) fills the pipe
        filler = os.open(f"/proc/self/fd/{write_end}", os.O_WRONLY | os.O_NONBLOCK)
        filled = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                filled += os.write(filler, b"x")
        os.close(filler)
        assert filled > 0
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while workers and time.monotonic() < deadline:
            workers = {pid for pid in workers if pid_alive(pid)}
            await asyncio.sleep(0.2)
        assert not workers, "the workers were not stopped while the output went unread"
        os.close(write_end)
        rest = await asyncio.to_thread(output.read)  # read now: the supervisor can end
        assert await asyncio.to_thread(process.wait, 60) == 0
        assert b"Stopping: the workers finish requests in flight" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
        with contextlib.suppress(OSError):
            os.close(write_end)


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs still (a zombie, dead but not yet waited for, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def test_workers_log_json_lines_naming_the_worker_when_asked(tmp_path: Path) -> None:
    group = start_group(tmp_path / "data", env={"MELINDA_GATEWAY_LOG_FORMAT": "json"})
    try:
        seen: set[str] = set()
        async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http:
            for _ in range(40):
                async with http.get(f"{group.http_url}/X", params={"op": "find-doc",
                                    "doc_num": "000000001"}) as response:  # fmt: skip
                    seen.add(response.headers[WORKER_HEADER])
                    await response.read()
                if len(seen) == 2:
                    break
        assert stop_group(group) == 0
    finally:
        if group.process.poll() is None:
            group.process.kill()
    logged = [line for line in group.lines if re.search(r"melinda\.(access|cli|workers)", line)]
    assert logged, group.lines
    parsed = []
    for line in logged:
        assert line.startswith("{"), line  # not a text line
        parsed.append(json.loads(line))
    access = [p for p in parsed if p["logger"] == "melinda.access"]
    assert {str(p["worker"]) for p in access} == seen  # each worker names itself
    assert all(p["interface"] == "xserver" and p["operation"] == "find-doc" for p in access)
    # the supervisor's own lines are JSON too, and name no worker
    assert any("Stopping" in p["message"] and "worker" not in p for p in parsed)


def test_the_group_stops_cleanly_and_its_workers_end_with_the_supervisor(tmp_path: Path) -> None:
    first = start_group(tmp_path / "one")
    try:
        workers = set(worker_pids(first).values())
        assert len(workers) == 2
        assert stop_group(first) == 0
    finally:
        _kill(first)  # a failed assertion leaves no group running (its workers go with it)
    assert not workers & _running(workers)
    with sqlite3.connect(tmp_path / "one" / "melinda.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # a supervisor killed outright takes its workers with it (their stdin pipe closes)
    second = start_group(tmp_path / "two")
    try:
        workers = set(worker_pids(second).values())
        assert len(workers) == 2
    finally:
        _kill(second)
    deadline = time.monotonic() + 30
    while _running(workers):
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _kill(group: Group) -> None:
    if group.process.poll() is None:
        group.process.kill()
        group.process.wait()


def _running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.add(pid)
    return alive


def test_workers_auto_is_the_cores_and_a_bad_count_is_a_usage_error(tmp_path: Path) -> None:
    from gateway.emulator.workers import resolve_workers

    assert resolve_workers("auto") == (os.cpu_count() or 1)
    assert resolve_workers("3") == 3
    bad = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--workers", "many", "--data-dir",
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--workers: 'many' is not a number or auto" in bad.stderr
