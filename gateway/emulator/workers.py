"""`serve --workers N`: one supervising process binds the listening sockets and runs N worker
processes over one store, restarting any that dies; each worker is a whole gateway.

HTTP: the supervisor binds one socket per worker on the same port with SO_REUSEPORT (the
kernel spreads connections over them) and keeps them open, so connections that arrive while a
worker is being restarted wait in its socket's backlog, not refused. Z39.50: one socket every
worker accepts on, the least loaded first (its associations last a client's whole session, and
a hash of addresses spreads a few of them unevenly; balancing.py, protocols/accepting.py).
SFTP: one socket every worker is handed; only the holder of the singleton lock serves it
(host.py).
Each worker's stdin is a pipe from the supervisor: its first line is the settings, its end
(the supervisor gone, even by SIGKILL) stops the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from gateway.emulator import logs, loops
from gateway.emulator.balancing import GONE, LoadTable
from gateway.emulator.settings import Settings

log = logging.getLogger("melinda.workers")

SPREAD: Final = ("http",)  # listeners with a socket per worker, spread by the kernel
BALANCED: Final = ("z3950",)  # one socket every worker accepts on, the least loaded first
SINGLE: Final = ("sftp", *BALANCED)  # listeners whose one socket every worker is handed
READY_TIMEOUT: Final = 120.0  # seconds a worker may take to open the store and listen
STOP_GRACE: Final = 20.0  # seconds workers have to finish requests in flight
QUICK_CRASH: Final = 2.0  # a worker that dies this soon after starting is restarted after a pause
RESTART_PAUSE: Final = 1.0


def resolve_workers(text: str | int) -> int:
    """`auto` (or 0) is the machine's cores; otherwise a positive count."""
    if isinstance(text, str) and text.strip().lower() == "auto":
        return os.cpu_count() or 1
    count = int(text)
    if count < 0:
        raise ValueError("the number of workers must be positive or auto")
    return count or (os.cpu_count() or 1)


def bind_listeners(settings: Settings, count: int) -> dict[str, list[socket.socket]]:
    """Listening sockets: `count` on each spread port (one port each), one for the others."""
    ports = {"http": settings.http_port, "z3950": settings.z3950_port, "sftp": settings.sftp_port}
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    out: dict[str, list[socket.socket]] = {}
    try:
        for name in (*SPREAD, *SINGLE):
            port = ports[name]
            made: list[socket.socket] = []
            out[name] = made
            for _ in range(count if name in SPREAD else 1):
                sock = socket.socket(family, socket.SOCK_STREAM)
                made.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if name in SPREAD:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((settings.host, port))
                port = sock.getsockname()[1]  # port 0: the rest take the port the first got
                sock.listen(1024)
                sock.setblocking(False)
    except BaseException:
        for made in out.values():
            for sock in made:
                sock.close()
        raise
    return out


def settings_line(settings: Settings) -> bytes:
    data = {
        k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()
    }
    return json.dumps(data).encode() + b"\n"


def settings_from_line(line: bytes) -> Settings:
    return Settings().with_overrides(json.loads(line))


@dataclasses.dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    started: float
    pid: int


class Supervisor:
    """Starts, watches, restarts and stops the worker processes of one gateway."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.count = count
        self.sockets: dict[str, list[socket.socket]] = {}
        self.workers: dict[int, _Worker] = {}
        self.load: LoadTable | None = None  # each worker's connections on the BALANCED ports
        self.restarts = 0
        self._stopping = False
        self._ready: dict[int, asyncio.Event] = {}
        self._status_read = -1
        self._status_write = -1
        self._status_task: asyncio.Task[None] | None = None

    @property
    def ports(self) -> dict[str, int]:
        return {name: int(socks[0].getsockname()[1]) for name, socks in self.sockets.items()}

    def bind(self) -> None:
        """Take the ports (before anything slow: a taken port ends the run at once)."""
        self.sockets = bind_listeners(self.settings, self.count)
        if self.load is None:
            self.load = LoadTable.create(self.count)

    async def start(self) -> None:
        if not self.sockets:
            self.bind()
        self._status_read, self._status_write = os.pipe()
        self._status_task = asyncio.create_task(self._read_status(), name="worker-status")
        for index in range(self.count):
            await self._spawn(index)
        ready = asyncio.create_task(self._all_ready())
        exits = [asyncio.create_task(w.process.wait()) for w in self.workers.values()]
        try:
            await asyncio.wait(
                [ready, *exits], timeout=READY_TIMEOUT, return_when="FIRST_COMPLETED"
            )
            if not all(self._ready[i].is_set() for i in range(self.count)):
                raise RuntimeError("a worker failed to start (see its messages above)")
        finally:
            for task in [ready, *exits]:
                task.cancel()

    async def _all_ready(self) -> None:
        for index in range(self.count):
            await self._ready[index].wait()

    async def _spawn(self, index: int) -> None:
        fds = {name: self.sockets[name][index].fileno() for name in SPREAD}
        fds.update({name: self.sockets[name][0].fileno() for name in SINGLE})
        handed = ",".join(f"{name}={fd}" for name, fd in fds.items())
        assert self.load is not None
        self.load.set(index, GONE)  # its successor, once listening, counts afresh
        self._ready[index] = asyncio.Event()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.emulator.workers",
            str(index),
            handed,
            str(self._status_write),
            f"{self.load.fd}:{self.count}",
            stdin=asyncio.subprocess.PIPE,
            pass_fds=[*fds.values(), self._status_write, self.load.fd],
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops the workers
        )
        assert process.stdin is not None
        process.stdin.write(settings_line(self.settings))
        await process.stdin.drain()  # the pipe stays open: its end tells the worker to stop
        self.workers[index] = _Worker(index, process, time.monotonic(), process.pid)

    async def _read_status(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(self._status_read, "rb")
        )
        while line := await reader.readline():
            parts = line.decode().split()
            if len(parts) == 3 and parts[0] == "ready" and int(parts[1]) in self._ready:
                self._ready[int(parts[1])].set()

    async def watch(self, stop: asyncio.Event) -> None:
        """Restart workers that end until `stop` is set."""
        stopped = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                exits = {asyncio.create_task(w.process.wait()): w for w in self.workers.values()}
                done, _ = await asyncio.wait([stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
                for task in exits:
                    if task not in done:
                        task.cancel()
                if stop.is_set():
                    break
                for task in done:
                    worker = exits.get(task)
                    if worker is None:
                        continue
                    code = worker.process.returncode
                    if self.load is not None:
                        self.load.set(worker.index, GONE)  # the others stop leaving it connections
                    log.warning(
                        "worker %d (pid %d) ended with %s; restarting",
                        worker.index,
                        worker.pid,
                        code,
                    )
                    if time.monotonic() - worker.started < QUICK_CRASH:
                        await asyncio.sleep(RESTART_PAUSE)
                    self.restarts += 1
                    await self._spawn(worker.index)
        finally:
            stopped.cancel()

    async def stop(self) -> None:
        """SIGTERM to every worker (each finishes its requests, closes the store), then wait."""
        self._stopping = True
        running = [w for w in self.workers.values() if w.process.returncode is None]
        for worker in running:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        if running:
            await asyncio.wait(
                [asyncio.create_task(w.process.wait()) for w in running], timeout=STOP_GRACE
            )
            for worker in running:
                if worker.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
                    await worker.process.wait()
        for worker in self.workers.values():
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        if self._status_task is not None:
            self._status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._status_task
        if self._status_write >= 0:
            with contextlib.suppress(OSError):
                os.close(self._status_write)
        for socks in self.sockets.values():
            for sock in socks:
                sock.close()
        if self.load is not None:
            self.load.close()
            self.load = None


# --- the worker process ------------------------------------------------------------------
def _handed_sockets(text: str) -> dict[str, socket.socket]:
    out: dict[str, socket.socket] = {}
    for part in text.split(","):
        name, _, fd = part.partition("=")
        sock = socket.socket(fileno=int(fd))
        sock.setblocking(False)
        out[name] = sock
    return out


async def run_worker(
    settings: Settings,
    index: int,
    sockets: dict[str, socket.socket],
    status_fd: int,
    load: LoadTable | None = None,
) -> int:
    from gateway.emulator.app import create_gateway

    shares = {name: load.share(index) for name in BALANCED} if load is not None else {}
    gateway = await create_gateway(settings, worker=index, sockets=sockets, shares=shares)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _watch_lifeline(loop, stop.set)
    await gateway.start()
    loops.settle_heap()
    await asyncio.to_thread(os.write, status_fd, f"ready {index} {os.getpid()}\n".encode())
    await stop.wait()
    loop.remove_reader(sys.stdin.fileno())
    await gateway.stop()
    return 0


def _watch_lifeline(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """Stop when the supervisor's end of stdin closes."""
    fd = sys.stdin.fileno()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if not data:
            loop.remove_reader(fd)
            stop()

    loop.add_reader(fd, readable)


def worker_main(argv: Sequence[str]) -> int:
    """`python -m gateway.emulator.workers INDEX NAME=FD,... STATUS_FD LOAD_FD:COUNT`, settings
    on stdin."""
    index, handed, status_fd = int(argv[0]), argv[1], int(argv[2])
    load_fd, _, count = argv[3].partition(":")
    load = LoadTable(int(load_fd), int(count))
    line = sys.stdin.buffer.readline()
    if not line:
        return 1  # the supervisor is gone already
    settings = settings_from_line(line)
    # stderr is the supervisor's, often a pipe: a full one must not stop the worker serving
    writer = logs.configure(settings.log_level, settings.log_format, threaded=True, worker=index)
    try:
        return loops.run(
            run_worker(settings, index, _handed_sockets(handed), status_fd, load),
            settings.event_loop,
        )
    finally:
        if writer is not None:
            writer.stop()


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
