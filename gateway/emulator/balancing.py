"""The connection counts of `serve --workers N`: one small table in memory every worker maps,
a slot per worker, so that a listener every worker accepts on goes to the least loaded one
(protocols/accepting.py).

The supervisor makes the table (an anonymous memory file) and hands its descriptor to each
worker; a worker writes only its own slot. A worker that has ended gets GONE in its slot, so
the others do not wait for it to take connections; its successor writes its own count again.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from typing import Final

SLOT: Final = 8  # octets of one worker's count
GONE: Final = 2**62  # in the slot of a worker that is not running


class LoadTable:
    """The mapped table: `count` slots of signed 64-bit counts."""

    def __init__(self, fd: int, count: int) -> None:
        self.fd = fd
        self.count = count
        self._map = mmap.mmap(fd, count * SLOT)
        self._slots = memoryview(self._map).cast("q")

    @classmethod
    def create(cls, count: int) -> LoadTable:
        """A new table, every slot GONE until its worker starts (workers get its descriptor)."""
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("melinda-gateway-load", 0)
        else:  # no anonymous memory files (macOS): an unlinked temporary file serves as well
            with tempfile.TemporaryFile() as held:
                fd = os.dup(held.fileno())
        os.ftruncate(fd, count * SLOT)
        table = cls(fd, count)
        for index in range(count):
            table.set(index, GONE)
        return table

    def set(self, index: int, connections: int) -> None:
        self._slots[index] = connections

    def get(self, index: int) -> int:
        return int(self._slots[index])

    def share(self, index: int) -> WorkerShare:
        return WorkerShare(self, index)

    def close(self) -> None:
        self._slots.release()
        self._map.close()
        os.close(self.fd)


class WorkerShare:
    """One worker's view of the table (protocols.host.ListenerShare)."""

    def __init__(self, table: LoadTable, index: int) -> None:
        self.table = table
        self.index = index

    def hold(self, connections: int) -> None:
        self.table.set(self.index, connections)

    def busier_than_another(self) -> bool:
        mine = self.table.get(self.index)
        return any(
            self.table.get(other) < mine for other in range(self.table.count) if other != self.index
        )
