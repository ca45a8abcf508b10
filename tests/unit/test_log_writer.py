"""The log writer: a stream nobody reads never makes a caller wait; lost lines are counted."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.emulator.log_writer import LogWriter


@pytest.fixture(autouse=True)
def root_level() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def test_logging_into_a_full_pipe_returns_at_once_and_the_loss_is_reported() -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w", buffering=1)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    writer = LogWriter(handler, backlog=100)
    writer.install("INFO")
    log = logging.getLogger("melinda.access")
    try:
        started = time.monotonic()
        for n in range(5000):  # some 250 KiB: four pipes' worth
            log.info("rivi %04d %s", n, "x" * 40)
        assert time.monotonic() - started < 5.0
        assert writer.enqueuer.dropped > 0
        received: list[bytes] = []
        reader = threading.Thread(target=_read_all, args=(read_end, received), daemon=True)
        reader.start()  # the stream is read again: the writer catches up
        deadline = time.monotonic() + 10
        while writer.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        log.info("viimeinen")
    finally:
        writer.stop()
        stream.close()
    reader.join(10)
    text = b"".join(received).decode()
    assert "rivi 0000" in text
    assert "log lines dropped" in text
    assert text.rstrip().endswith("melinda.access: viimeinen")


def test_stop_writes_the_backlog(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    with path.open("w") as stream:
        writer = LogWriter(logging.StreamHandler(stream))
        writer.install("INFO")
        for n in range(300):
            logging.getLogger("melinda.test").info("rivi %d", n)
        writer.stop()
    lines = path.read_text().splitlines()
    assert len(lines) == 300 and lines[-1] == "rivi 299"


def _read_all(fd: int, into: list[bytes]) -> None:
    while chunk := os.read(fd, 65536):
        into.append(chunk)


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_a_burst_of_lines_is_written_in_a_few_writes_in_order_as_logged() -> None:
    stream = _CountingStream()
    writer = LogWriter(logging.StreamHandler(stream))
    writer.install("INFO")
    log = logging.getLogger("melinda.access")
    changing = ["ennen"]
    try:
        log.info("arvo %s", changing)
        changing[0] = "jälkeen"  # the line says what the value was when it was logged
        for n in range(1000):
            log.info("rivi %d", n)
    finally:
        writer.stop()
    lines = stream.getvalue().splitlines()
    assert lines == ["arvo ['ennen']"] + [f"rivi {n}" for n in range(1000)]
    # a line a write (and a wake-up of the writer thread a line) cost more than the request
    assert stream.writes < 100, stream.writes
