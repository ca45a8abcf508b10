"""Log lines written by a thread of their own, so that a slow or unread stderr (a full pipe)
never stalls the event loop: past a bounded backlog lines are dropped and counted, not waited on.

The caller only formats the message and appends the record; the writer thread wakes when lines
arrive after a quiet spell, lingers a moment to gather what follows, and writes them all in one
write. A thread woken per line (a queue's condition, one write and flush each) cost ~35 µs of
CPU a line, more than a Z39.50 search's own Python work on a busy machine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Final

BACKLOG: Final = 10_000  # records held while the writer waits on its stream
STOP_WAIT: Final = 5.0  # seconds an ending process waits for its last lines to be written
LINGER: Final = 0.01  # seconds the writer gathers lines after the first before it writes
DROPPED: Final = logging.getLogger("melinda.logs")


class _Enqueuer(logging.Handler):
    """Formats the message on the caller's thread, hands the record on, never waits."""

    def __init__(self, backlog: int) -> None:
        super().__init__()
        self.lines: deque[logging.LogRecord] = deque()
        self.backlog = backlog
        self.dropped = 0
        self.arrived = threading.Event()
        self._count_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if len(self.lines) >= self.backlog:
                with self._count_lock:
                    self.dropped += 1
                return
            self.lines.append(self._prepared(record))
            if not self.arrived.is_set():  # a wake-up only after a quiet spell, not per line
                self.arrived.set()
        except Exception:
            self.handleError(record)

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        # The message (and traceback) formatted now, while its arguments are as logged; a copy,
        # so that other handlers of the same record still see it whole.
        message = self.format(record)
        copy = logging.LogRecord.__new__(type(record))
        copy.__dict__.update(record.__dict__)
        copy.message = copy.msg = message
        copy.args = None
        copy.exc_info = None
        copy.exc_text = None
        return copy


class _Writer:
    """Writes the lines in order and, once the stream takes lines again, how many were lost."""

    def __init__(self, handler: logging.Handler, enqueuer: _Enqueuer) -> None:
        self._handler = handler
        self._enqueuer = enqueuer
        self._reported = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        enqueuer = self._enqueuer
        while True:
            enqueuer.arrived.wait()
            if not self._stopping:
                time.sleep(LINGER)
            enqueuer.arrived.clear()  # before the drain: a line after it wakes the next round
            batch: list[logging.LogRecord] = []
            while enqueuer.lines:
                batch.append(enqueuer.lines.popleft())
            if batch:
                self._write(batch)
            if self._stopping and not enqueuer.lines:
                return

    def _write(self, batch: list[logging.LogRecord]) -> None:
        dropped = self._enqueuer.dropped
        if dropped != self._reported:
            note = DROPPED.makeRecord(
                DROPPED.name,
                logging.WARNING,
                __file__,
                0,
                "%d log lines dropped: the log stream was not read fast enough",
                (dropped - self._reported,),
                None,
            )
            self._reported = dropped
            batch.insert(0, note)
        handler = self._handler
        wanted = [record for record in batch if record.levelno >= handler.level]
        if not isinstance(handler, logging.StreamHandler):
            for record in wanted:
                handler.handle(record)
            return
        text: list[str] = []
        for record in wanted:
            try:
                text.append(handler.format(record) + handler.terminator)
            except Exception:
                handler.handleError(record)
        if not text:
            return
        with handler.lock or _NO_LOCK:
            try:
                handler.stream.write("".join(text))
                handler.flush()
            except Exception:
                handler.handleError(wanted[-1])

    @property
    def waiting(self) -> int:
        return len(self._enqueuer.lines)

    def stop_within(self, wait: float) -> None:
        # the thread is a daemon: a stream nobody reads must not keep the process alive
        self._stopping = True
        self._enqueuer.arrived.set()
        if self._thread is not None:
            self._thread.join(wait)
            self._thread = None


_NO_LOCK: Final = threading.Lock()


class LogWriter:
    """`install(level)` puts the handler, behind the thread, on the root logger; `stop()`
    writes what is left and ends the thread (call it before the process exits)."""

    def __init__(self, handler: logging.Handler, backlog: int = BACKLOG) -> None:
        self.enqueuer = _Enqueuer(backlog)
        self.enqueuer.setLevel(handler.level)
        self._writer = _Writer(handler, self.enqueuer)

    def install(self, level: str) -> None:
        root = logging.getLogger()
        root.addHandler(self.enqueuer)
        root.setLevel(level.upper())
        self._writer.start()

    @property
    def waiting(self) -> int:
        """Lines not yet written."""
        return self._writer.waiting

    def stop(self, wait: float = STOP_WAIT) -> None:
        """Write the backlog, waiting at most `wait` seconds for a stalled stream."""
        logging.getLogger().removeHandler(self.enqueuer)
        self._writer.stop_within(wait)
