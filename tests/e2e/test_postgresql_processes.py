"""Several gateway processes on one PostgreSQL database, over the wire: a write through one is
read through the other at once; concurrent writers, kill -9 and a database restart lose no
acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ROOT
from tests.e2e.cli_support import Server, new_record, run_cli, serving
from tests.stores import PG_DIR_VARIABLE, fresh_database

pytestmark = pytest.mark.e2e

SRU_NS = {"srw": "http://docs.oasis-open.org/ns/search-ws/sruResponse"}


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
    return body


def create(server: Server, title: str) -> str:
    """update-doc of a new record; its Melinda ID once the gateway acknowledged it."""
    params = {
        "op": "update-doc",
        "library": "FIN01",
        "doc_action": "UPDATE",
        "doc_num": "000000000",
        "user_name": "KIRJA",
        "user_password": "salasana",
        "xml_full_req": new_record(title),
    }
    body = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(f"{server.http}/X", data=body, timeout=60) as response:
        reply = response.read().decode()
    assert "updated successfully" in reply, reply
    return reply.split("Document: ")[1][:9]


def sru_count(server: Server, query: str, timeout: float = 30) -> int:
    url = f"{server.http}/sru/bib?" + urllib.parse.urlencode(
        {"operation": "searchRetrieve", "version": "2.0", "query": query, "maximumRecords": "0"}
    )
    root = etree.fromstring(get(url, timeout))
    found = root.findtext("srw:numberOfRecords", namespaces=SRU_NS)
    assert found is not None, etree.tostring(root)
    return int(found)


@pytest.fixture
def database() -> Iterator[str]:
    import asyncio

    holder: dict[str, str] = {}
    started, finish = threading.Event(), threading.Event()

    async def hold() -> None:
        async with fresh_database() as url:
            holder["url"] = url
            started.set()
            await asyncio.to_thread(finish.wait)

    runner = threading.Thread(target=lambda: asyncio.run(hold()), daemon=True)
    runner.start()
    started.wait(60)
    if "url" not in holder:
        runner.join(60)  # the skip or failure (no cluster) was raised in the thread
        from tests.stores import cluster_url

        cluster_url()
    try:
        yield holder["url"]
    finally:
        finish.set()
        runner.join(60)


@contextmanager
def two_gateways(tmp_path: Path, url: str) -> Iterator[tuple[Server, Server]]:
    env = {"MELINDA_GATEWAY_STORE_URL": url}
    added = run_cli(
        "library", "add", "KIRJA", "--password", "salasana",
        "--data-dir", str(tmp_path / "cli"),
        env={**os.environ, **env},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    with ExitStack() as stack:
        first = stack.enter_context(serving(tmp_path / "a", "--no-demo", env=env))
        second = stack.enter_context(serving(tmp_path / "b", "--no-demo", env=env))
        yield first, second


def test_an_update_through_one_process_is_found_by_sru_through_the_other_in_the_same_second(
    tmp_path: Path, database: str
) -> None:
    with two_gateways(tmp_path, database) as (first, second):
        assert first.http != second.http
        assert sru_count(second, 'dc.title="Kahden prosessin kirja"') == 0
        record_id = create(first, "Kahden prosessin kirja")
        acknowledged = time.monotonic()
        assert sru_count(second, 'dc.title="Kahden prosessin kirja"') == 1
        assert sru_count(second, f"rec.id={record_id}") == 1
        assert time.monotonic() - acknowledged < 1.0


def test_a_hundred_concurrent_writers_over_both_processes_lose_no_update(
    tmp_path: Path, database: str
) -> None:
    with two_gateways(tmp_path, database) as servers:
        with ThreadPoolExecutor(100) as pool:
            ids = list(
                pool.map(lambda n: create(servers[n % 2], f"Kirjoittaja {n} nide"), range(100))
            )
        assert len(set(ids)) == 100  # each write its own record, none overwritten
        for server in servers:
            assert sru_count(server, 'dc.title="nide"') == 100
        for n in (0, 37, 99):
            assert sru_count(servers[(n + 1) % 2], f'dc.title="Kirjoittaja {n} nide"') == 1


def _write_until(server: Server, stop: threading.Event, done: list[str], tag: str) -> None:
    """Create records until told to stop; note each title the gateway acknowledged."""
    n = 0
    while not stop.is_set():
        title = f"Kuorma {tag} {n}"
        n += 1
        try:
            create(server, title)
        except (OSError, urllib.error.URLError, AssertionError):
            continue  # not acknowledged: may or may not have landed
        done.append(title)


def test_kill_9_of_one_process_mid_load_loses_no_acknowledged_write(
    tmp_path: Path, database: str
) -> None:
    with two_gateways(tmp_path, database) as (first, second):
        stop = threading.Event()
        through_first: list[str] = []
        through_second: list[str] = []
        writers = [
            threading.Thread(target=_write_until, args=(first, stop, through_first, f"a{i}"))
            for i in range(4)
        ] + [
            threading.Thread(target=_write_until, args=(second, stop, through_second, f"b{i}"))
            for i in range(4)
        ]
        for writer in writers:
            writer.start()
        time.sleep(3)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        time.sleep(2)
        stop.set()
        for writer in writers:
            writer.join(60)
        assert through_first and through_second
        acknowledged = through_first + through_second
        missing = [t for t in acknowledged if sru_count(second, f'dc.title="{t}"') != 1]
        assert missing == []
        assert create(second, "Kuoleman jälkeen") != ""  # the survivor goes on writing


def test_a_database_restart_mid_load_loses_no_acknowledged_write(
    tmp_path: Path, database: str
) -> None:
    cluster = os.environ.get(PG_DIR_VARIABLE)
    if not cluster:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_DIR_VARIABLE} is not set; .ci/run starts the cluster")
        pytest.skip(f"{PG_DIR_VARIABLE} is not set: the test cluster is not one to restart")
    with two_gateways(tmp_path, database) as (first, second):
        stop = threading.Event()
        done: list[str] = []
        writers = [
            threading.Thread(target=_write_until, args=(server, stop, done, f"r{i}"))
            for i, server in enumerate((first, second, first, second))
        ]
        for writer in writers:
            writer.start()
        time.sleep(2)
        before = len(done)
        restarted = subprocess.run(
            [str(ROOT / "scripts" / "pg-temp"), "restart", cluster],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert restarted.returncode == 0, restarted.stderr
        time.sleep(3)
        stop.set()
        for writer in writers:
            writer.join(90)
        assert before > 0 and len(done) > before  # writes went on after the restart
        for server in (first, second):
            missing = [t for t in done if sru_count(server, f'dc.title="{t}"', 30) != 1]
            assert missing == []
