"""The real `melinda-gateway` command as a subprocess: run a verb, or start a server and read its URLs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

CLI = [sys.executable, "-m", "gateway"]


def run_cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
        env=env,
    )


@dataclass
class Server:
    """A `serve` process, what it printed before it was ready, and its interfaces' URLs."""

    process: subprocess.Popen[str]
    banner: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def stop(self) -> str:
        """SIGTERM, wait, and return what it wrote after the banner (its log lines)."""
        self.process.send_signal(signal.SIGTERM)
        rest, _ = self.process.communicate(timeout=30)
        return rest or ""

    @property
    def http(self) -> str:
        return self.urls["health"].removesuffix("/health")

    @property
    def sftp_port(self) -> int:
        return int(self.urls["sftp"].rsplit(":", 1)[1])


def stop(process: subprocess.Popen[Any]) -> None:
    """Ask a server to stop (SIGTERM, as Ctrl-C would), and kill it if it has not in 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_URL_LINE = re.compile(r"^\s+(\w+)\s+(\S+://\S+|\S+:\d+/\S+)$")


@contextmanager
def serving(data: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`serve` on free ports over `data`; stopped with SIGTERM at the end."""
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    ports = ["--http-port", "0", "--z3950-port", "0", "--sftp-port", "0"]
    process = subprocess.Popen(
        [*CLI, "serve", "--data-dir", str(data), *ports, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=environ,
    )
    server = Server(process)
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    try:
        for line in process.stdout:
            server.banner.append(line.rstrip("\n"))
            match = _URL_LINE.match(line.rstrip("\n"))
            if match:
                server.urls[match.group(1)] = match.group(2)
            if line.startswith("Stop with Ctrl-C"):
                break
            if time.monotonic() > deadline:
                raise AssertionError("the server did not start in time")
        else:
            raise AssertionError("the server ended: " + "\n".join(server.banner))
        yield server
    finally:
        if process.poll() is None:
            stop(process)
        if process.stdout is not None and not process.stdout.closed:
            process.stdout.close()


def new_record(title: str) -> str:
    """An X-server update-doc body (oai_marc) of a new book titled `title`."""
    return (
        "<find-doc><record><metadata><oai_marc>"
        '<fixfield id="LDR">00000nam a2200000 i 4500</fixfield>'
        '<fixfield id="008">200101s2020    fi ||||| |||| 00| 0 fin d</fixfield>'
        f'<varfield id="245" i1="1" i2="0"><subfield label="a">{title}</subfield></varfield>'
        '<varfield id="264" i1=" " i2="1"><subfield label="b">Otava,</subfield></varfield>'
        '<varfield id="300" i1=" " i2=" "><subfield label="a">10 sivua</subfield></varfield>'
        '<varfield id="336" i1=" " i2=" "><subfield label="b">txt</subfield></varfield>'
        '<varfield id="337" i1=" " i2=" "><subfield label="b">n</subfield></varfield>'
        '<varfield id="338" i1=" " i2=" "><subfield label="b">nc</subfield></varfield>'
        "</oai_marc></metadata></record></find-doc>"
    )
