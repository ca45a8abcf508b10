"""Log lines written by a thread of their own, so that a slow or unread stderr (a full pipe)
never stalls the event loop: past a bounded backlog lines are dropped and counted, not waited on.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import queue
import sys
import threading
from typing import Final

BACKLOG: Final = 10_000  # records held while the writer waits on its stream
STOP_WAIT: Final = 5.0  # seconds an ending process waits for its last lines to be written
DROPPED: Final = logging.getLogger("melinda.logs")


class _Enqueuer(logging.handlers.QueueHandler):
    """Formats on the caller's thread, hands the line on, never waits."""

    def __init__(self, backlog: queue.Queue[logging.LogRecord | None]) -> None:
        super().__init__(backlog)
        self.dropped = 0
        self._count_lock = threading.Lock()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            with self._count_lock:
                self.dropped += 1


class _Writer(logging.handlers.QueueListener):
    """Writes the lines in order and, once the stream takes lines again, how many were lost."""

    def __init__(
        self,
        backlog: queue.Queue[logging.LogRecord | None],
        handler: logging.Handler,
        enqueuer: _Enqueuer,
    ) -> None:
        super().__init__(backlog, handler, respect_handler_level=True)
        self._lines = backlog
        self._enqueuer = enqueuer
        self._reported = 0

    def handle(self, record: logging.LogRecord) -> None:
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
            super().handle(note)
        super().handle(record)

    @property
    def waiting(self) -> int:
        return self._lines.qsize()

    def stop_within(self, wait: float) -> None:
        # the thread is a daemon: a stream nobody reads must not keep the process alive
        with contextlib.suppress(queue.Full):
            self._lines.put(None, timeout=wait)  # None: QueueListener's end-of-lines mark
        if self._thread is not None:
            self._thread.join(wait)
            self._thread = None


class LogWriter:
    """`install(level)` puts the handler, behind the thread, on the root logger; `stop()`
    writes what is left and ends the thread (call it before the process exits)."""

    def __init__(self, handler: logging.Handler, backlog: int = BACKLOG) -> None:
        lines: queue.Queue[logging.LogRecord | None] = queue.Queue(backlog)
        self.enqueuer = _Enqueuer(lines)
        self.enqueuer.setLevel(handler.level)
        self._writer = _Writer(lines, handler, self.enqueuer)

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


def stderr_writer(fmt: str) -> LogWriter:
    """A LogWriter for plain text lines on stderr in `fmt`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    return LogWriter(handler)
