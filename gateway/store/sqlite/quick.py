"""Quick reads on the event loop's own thread: an identifier lookup while nothing else is in flight.

Every other read runs on a reader connection's thread, so that the loop goes on serving while
SQLite works. For a lookup by Melinda ID or ISBN that hop costs more than the read: measured
on the 2-core benchmark machine, a Z39.50 Search + Present by Melinda ID took 370 µs of CPU
in-process with the hop and 150 µs without it (the read itself ~40 µs); the rest is waking a
thread, handing the GIL back and forth and waking the loop again. While no other read or write
of the file is in flight in this process, the loop has no one else's hop to wake up for, so
such a read runs here, on a connection of its own, within a time budget: a statement still
running past it is interrupted (SQLite's progress handler) and the read goes to a reader
thread after all. The connection waits for no lock either (busy_timeout 0): SQLITE_BUSY sends
the read to a thread too, whose connection waits as every reader does.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final, TypeVar

_T = TypeVar("_T")

# A quick read's budget on the loop's thread; past it the read is redone on a reader thread.
BUDGET: Final = 0.0005
_CHECK_EVERY: Final = 1000  # SQLite virtual-machine steps between looks at the clock
_CACHE_KIB: Final = 4096  # a lookup's index and record pages; the readers keep the big caches


class LoopReader:
    """The loop thread's read-only connection to the store file (opened on any thread, used
    only on `thread`: the loop's)."""

    def __init__(self, path: str, pragmas: Iterable[str], thread: int) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in pragmas:
            self._conn.execute(pragma)
        self._conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._conn.execute("PRAGMA busy_timeout = 0")
        self._conn.execute("PRAGMA query_only = ON")
        self._conn.set_progress_handler(self._past_budget, _CHECK_EVERY)
        self._deadline = 0.0
        self._thread = thread
        self.reads = 0  # quick reads answered here
        self.handed_on = 0  # quick reads that went to a reader thread after all

    def usable(self) -> bool:
        return self._thread == threading.get_ident()

    def _past_budget(self) -> bool:
        return time.perf_counter() > self._deadline

    def read(self, work: Callable[[sqlite3.Connection], _T]) -> tuple[bool, _T | None]:
        """(True, `work`'s result), or (False, None) when it ran past its budget or met a
        lock: then it is to be run on a reader thread (a read has nothing to undo)."""
        self._deadline = time.perf_counter() + BUDGET
        try:
            result = work(self._conn)
        except sqlite3.OperationalError:
            self.handed_on += 1
            return False, None
        self.reads += 1
        return True, result

    def close(self) -> None:
        self._conn.close()
