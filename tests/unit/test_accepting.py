"""Accepting on one socket shared by workers (protocols/accepting.py) over the load table the
workers map (gateway/emulator/balancing.py): real sockets, two acceptors in one process
standing for two workers."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.emulator.balancing import GONE, LoadTable
from protocols.accepting import DEFER, SharedAcceptor


class Held(asyncio.Protocol):
    """A connection a worker took: it stays in its worker's list until it is lost."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.worker.held.append(self)
        self.worker.acceptor.changed()
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.held.remove(self)
        self.worker.acceptor.changed()


class Worker:
    """`earlier`: connections it holds from before the test."""

    def __init__(self, sock: socket.socket, table: LoadTable, index: int, earlier: int = 0) -> None:
        self.held: list[Held] = []
        self.acceptor = SharedAcceptor(
            sock, lambda: Held(self), table.share(index), lambda: earlier + len(self.held)
        )


@pytest.fixture
async def listening() -> AsyncIterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


async def connect(sock: socket.socket) -> asyncio.StreamWriter:
    _reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
    return writer


def taken(workers: list[Worker], count: int) -> bool:
    return sum(len(w.held) for w in workers) == count


async def settle(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def test_connections_one_after_another_alternate_between_two_workers(
    listening: socket.socket,
) -> None:
    table = LoadTable.create(2)
    # one socket, two descriptors: two workers' event loops each watch their own
    workers = [Worker(listening, table, 0), Worker(listening.dup(), table, 1)]
    for worker in workers:
        worker.acceptor.start()
    clients = []
    try:
        for n in range(10):
            clients.append(await connect(listening))
            await settle(functools.partial(taken, workers, n + 1))
        assert [len(w.held) for w in workers] == [5, 5]
        assert [table.get(0), table.get(1)] == [5, 5]
        # the connections of worker 1 end: the next three all go to it
        for held in list(workers[1].held):
            held.transport.close()
        await settle(lambda: not workers[1].held)
        for _ in range(3):
            clients.append(await connect(listening))
        await settle(lambda: sum(len(w.held) for w in workers) == 8)
        assert [len(w.held) for w in workers] == [5, 3]
    finally:
        for client in clients:
            client.close()
        for worker in workers:
            await worker.acceptor.close()
        workers[1].acceptor.sock.close()
        table.close()


async def test_a_connection_a_less_loaded_worker_leaves_waiting_is_taken_after_a_moment(
    listening: socket.socket,
) -> None:
    table = LoadTable.create(2)
    table.set(1, 0)  # worker 1 holds nothing but never accepts (stuck, or slow to wake)
    busy = Worker(listening, table, 0, earlier=3)
    busy.acceptor.start()
    clients = []
    try:
        assert busy.acceptor.share.busier_than_another()
        started = time.monotonic()
        clients.append(await connect(listening))
        await settle(lambda: len(busy.held) == 1)
        assert len(busy.held) == 1
        assert time.monotonic() - started >= DEFER  # it stepped back first
    finally:
        for client in clients:
            client.close()
        await busy.acceptor.close()
        table.close()


async def test_a_worker_that_has_ended_is_not_waited_for(listening: socket.socket) -> None:
    table = LoadTable.create(2)
    assert table.get(1) == GONE  # a new table: no worker has started
    worker = Worker(listening, table, 0)
    worker.acceptor.start()
    clients = []
    try:
        for n in range(5):
            clients.append(await connect(listening))
            await settle(functools.partial(taken, [worker], n + 1))
        assert len(worker.held) == 5
        assert not worker.acceptor.share.busier_than_another()
    finally:
        for client in clients:
            client.close()
        await worker.acceptor.close()
        table.close()


@pytest.mark.parametrize("memfd", [True, False])
def test_a_worker_mapping_the_table_by_its_descriptor_sees_the_others_counts(
    memfd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not memfd:  # as on a system without anonymous memory files (macOS)
        monkeypatch.delattr(os, "memfd_create", raising=False)
    table = LoadTable.create(2)
    worker = LoadTable(os.dup(table.fd), 2)  # what a worker maps from its inherited descriptor
    try:
        table.set(0, 3)
        worker.share(1).hold(1)
        assert worker.get(0) == 3 and table.get(1) == 1
        assert table.share(0).busier_than_another()
        assert not worker.share(1).busier_than_another()
    finally:
        worker.close()
        table.close()
