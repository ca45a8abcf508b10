"""The machine the bench runs on and the processes it watches: cores, memory, versions, RSS, ports."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Final


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serving_pids(pid: int) -> list[int]:
    """The processes that serve: a `serve --workers N` supervisor's workers, else `pid` itself."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [int(child) for child in children] or [pid]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and every process under it, including children
    that have ended and been waited for (zebrasrv forks one per connection)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    waiting = [pid]
    while waiting:
        current = waiting.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        total += sum(int(value) for value in fields[11:15]) / ticks  # utime stime cutime cstime
        waiting.extend(int(child) for child in children)
    return total


def _proc_status_kb(pid: int, key: str) -> int | None:
    """The value from /proc status; for a supervisor of workers, the largest worker's."""
    found: list[int] = []
    for target in serving_pids(pid):
        try:
            text = Path(f"/proc/{target}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(key + ":"):
                found.append(int(line.split()[1]))
    return max(found) if found else None


def rss_mb(pid: int) -> float | None:
    """Resident set size now (VmRSS), or None when the process is gone."""
    kb = _proc_status_kb(pid, "VmRSS")
    return None if kb is None else kb / 1024


def anon_rss_mb(pid: int) -> float | None:
    """Anonymous resident memory (RssAnon): heap and caches, without file pages mapped in (the
    store's SQLite mmap counts in VmRSS as file pages the kernel can drop)."""
    kb = _proc_status_kb(pid, "RssAnon")
    return None if kb is None else kb / 1024


def peak_rss_mb(pid: int) -> float | None:
    """The process's high-water mark (VmHWM) since it started."""
    kb = _proc_status_kb(pid, "VmHWM")
    return None if kb is None else kb / 1024


class RssWatch:
    """Samples a process's RSS while a workload runs; `peak` is the largest sample, `peak_anon`
    the largest anonymous part."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak = self.peak_anon = 0.0
        self._task: asyncio.Task[None] | None = None

    def _sample(self) -> None:
        now, anon = rss_mb(self.pid), anon_rss_mb(self.pid)
        if now is not None:
            self.peak = max(self.peak, now)
        if anon is not None:
            self.peak_anon = max(self.peak_anon, anon)

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> RssWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._sample()
        if self._task is not None:
            self._task.cancel()


def dirty_mb() -> float:
    """Memory written but not yet on disk (the kernel's writeback still to do)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Dirty:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_through(path: Path) -> float:
    """Read every file under `path` once (into the page cache), discarding the bytes; MB read."""
    chunk = bytearray(4 << 20)
    total = 0
    for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
        with contextlib.suppress(OSError), file.open("rb", buffering=0) as handle:
            while read := handle.readinto(chunk):
                total += read
    return total / 1e6


# The host's speed at a moment: CPU milliseconds of a fixed loop of Python additions. It
# tells the core's speed (a like loop took 202-355 ms within a minute on this VM), not the
# memory side's, which moves more: the bench's own client CPU per request shows that one.
SPEED_LOOP: Final = 3_000_000


def python_loop_ms() -> float:
    """CPU milliseconds this thread spends on `SPEED_LOOP` additions (lower: a faster host)."""
    started = time.thread_time()
    total = 0
    for value in range(SPEED_LOOP):
        total += value
    return (time.thread_time() - started) * 1000


def directory_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _tool_version(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "cpu_model": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
    }


def versions() -> dict[str, Any]:
    # zebrasrv prints its version with -V; dpkg gives the Debian package version.
    return {
        "python": sys.version.split()[0],
        "melinda-gateway": _package_version("melinda-gateway"),
        "aiohttp": _package_version("aiohttp"),
        "lxml": _package_version("lxml"),
        "pymarc": _package_version("pymarc"),
        "sqlite": __import__("sqlite3").sqlite_version,
        "zebra": _tool_version(["dpkg-query", "-W", "-f", "${Version}", "idzebra-2.0"])
        if shutil.which("zebrasrv")
        else None,
    }


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def wait_for_port(port: int, alive: Any, timeout: float = 120.0) -> None:
    """Until something accepts on 127.0.0.1:port; `alive()` false means the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server exited before listening on port {port}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")
