"""Z39.50 under `serve --workers 2`: associations spread evenly over the workers (every worker
accepts on one socket, the least loaded first), and each serves Search and Present to a real
origin (zoomsh).

Which worker serves a connection is read off /proc: the worker process that holds the socket
of the connection's server end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.emulator import loops
from gateway.emulator.settings import Settings, SettingsError
from protocols.z3950 import pdu
from protocols.z3950.ber import Element, decode_prefix
from tests.e2e.test_workers import Group, start_group, stop_group, worker_pids
from tests.protocols.z3950.conftest import zoomsh

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads connections off Linux's /proc"
)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    started = start_group(tmp_path_factory.mktemp("workers-z3950") / "data")
    yield started
    assert stop_group(started) == 0


def z3950_port(group: Group) -> int:
    # The address is printed after the health line the group was started on; the thread
    # draining its output may not have read it yet.
    deadline = time.monotonic() + 30
    while True:
        for line in list(group.lines):
            found = re.match(r"\s+z3950\s+\S+:(\d+)/fin01$", line)
            if found:
                return int(found.group(1))
        if time.monotonic() > deadline:
            raise AssertionError("the group printed no Z39.50 address:\n" + "".join(group.lines))
        time.sleep(0.05)


def connections_of(group: Group, port: int) -> dict[int, int]:
    """Established connections to `port`: the worker (index) serving each, by the client's port."""
    clients: dict[str, int] = {}  # socket inode of the server end -> the client's port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                clients[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    served: dict[int, int] = {}
    for index, pid in worker_pids(group).items():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in clients:
                served[clients[target[8:-1]]] = index
    return served


def served_by(group: Group, port: int) -> Counter[int]:
    """Established connections to `port`, counted by the worker (index) holding them."""
    return Counter(connections_of(group, port).values())


async def quiet(group: Group, port: int) -> None:
    """Wait until the associations of earlier tests have ended on the workers' side too."""
    deadline = asyncio.get_running_loop().time() + 10
    while served_by(group, port) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert not served_by(group, port)


def live_record(group: Group) -> int:
    with contextlib.closing(sqlite3.connect(group.data_dir / "melinda.sqlite")) as db:
        return int(db.execute("SELECT min(id) FROM records WHERE deleted = 0").fetchone()[0])


def pdu_bytes(element: Element) -> bytes:
    """Every primitive content of a decoded PDU, joined (to look for a record's text)."""
    if not element.constructed:
        return element.content
    return b"".join(pdu_bytes(child) for child in element.children)


class Origin:
    """One association: send a PDU, read the answering one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()

    @classmethod
    async def initialised(cls, port: int) -> Origin:
        origin = cls(*await asyncio.open_connection("127.0.0.1", port))
        answer = await origin.ask(pdu.init_request())
        assert answer.number == pdu.PduTag.INIT_RESPONSE
        return origin

    async def ask(self, request: bytes) -> Element:
        self.writer.write(request)
        async with asyncio.timeout(30):
            while True:
                found = decode_prefix(self.buffer, 1 << 24)
                if found is not None:
                    del self.buffer[: found[1]]
                    return found[0]
                chunk = await self.reader.read(1 << 16)
                assert chunk, "the target closed the association"
                self.buffer += chunk

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_associations_opened_one_after_another_are_served_half_by_each_worker(
    group: Group,
) -> None:
    # By a hash of addresses and ports (SO_REUSEPORT), 40 connections split exactly 20/20
    # about one time in eight; accepted by the least loaded worker, always.
    port = z3950_port(group)
    melinda_id = f"{live_record(group):09d}"
    await quiet(group, port)
    origins = [await Origin.initialised(port) for _ in range(40)]
    try:
        counts = served_by(group, port)
        assert sorted(counts.values()) == [20, 20], counts
        # every association is served where it landed: a search and its record on each
        for origin in origins:
            found = await origin.ask(pdu.search_request(pdu.rpn_term_query(12, melinda_id)))
            hits = found.child(23)
            assert hits is not None and hits.integer() > 0
            present = await origin.ask(pdu.present_request(1, 1))
            returned = present.child(24)
            assert returned is not None and returned.integer() == 1
            assert melinda_id.encode() in pdu_bytes(present)
    finally:
        for origin in origins:
            await origin.close()


async def test_new_associations_go_where_closed_ones_made_room(group: Group) -> None:
    port = z3950_port(group)
    await quiet(group, port)
    origins = [await Origin.initialised(port) for _ in range(10)]
    try:
        assert sorted(served_by(group, port).values()) == [5, 5]
        # the five of worker 0 end; the next five all go to it (hashed: one time in 32)
        served = connections_of(group, port)
        on_first = [o for o in origins if served[o.writer.get_extra_info("sockname")[1]] == 0]
        assert len(on_first) == 5
        for origin in on_first:
            await origin.ask(pdu.close_request())
            await origin.close()
            origins.remove(origin)
        deadline = asyncio.get_running_loop().time() + 10
        while served_by(group, port).get(0, 0) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)  # worker 0 sees its associations end
        fresh = [await Origin.initialised(port) for _ in range(5)]
        origins.extend(fresh)
        served = connections_of(group, port)
        assert [served[o.writer.get_extra_info("sockname")[1]] for o in fresh] == [0] * 5
    finally:
        for origin in origins:
            await origin.close()


async def test_zoomsh_searches_and_presents_through_the_group(group: Group) -> None:
    port = z3950_port(group)
    melinda_id = f"{live_record(group):09d}"
    output = await zoomsh(
        f"connect 127.0.0.1:{port}/fin01",
        f"find @attr 1=12 {melinda_id}",
        "set preferredRecordSyntax usmarc",
        "show 0 1",
    )
    assert "fin01: 1 hits" in output, output
    assert f"001 {melinda_id}" in output, output


def test_the_workers_run_on_uvloop(group: Group) -> None:
    for pid in worker_pids(group).values():
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "uvloop/loop." in maps, f"worker {pid} has no uvloop mapped"


def test_the_event_loop_setting_names_uvloop_or_asyncio() -> None:
    import uvloop

    assert loops.loop_factory("uvloop") is uvloop.new_event_loop
    assert loops.loop_factory("asyncio") is None
    assert Settings.load(environ={"MELINDA_GATEWAY_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="event_loop: 'trio' is not one of uvloop, asyncio"):
        Settings.load(environ={"MELINDA_GATEWAY_EVENT_LOOP": "trio"})
