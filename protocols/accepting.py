"""Accepting on a listening socket every worker process shares, so that long-lived connections
spread evenly: a worker holding more connections than another leaves a new one to it.

With one socket per worker and SO_REUSEPORT, the kernel picks the worker by a hash of the
connection's addresses and ports, blind to load: 20 Z39.50 associations, which live for the
whole session of a client, often split 12 to 8 or worse, and the busier worker sets the pace
while the other idles. Here every worker watches the same socket; the kernel wakes them all
for a new connection, a worker holding more than the least loaded one steps back for DEFER
seconds, and takes the connection itself only if it is still waiting then (the other may be
busy or gone), so a connection is never left unaccepted.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Final

from protocols.host import ListenerShare

log = logging.getLogger("melinda.gateway")

# seconds a busier worker leaves a new connection to a less busy one: long enough for that one
# to finish the turn of its event loop under way on a busy machine, short beside a session
DEFER: Final = 0.05
ACCEPT_BATCH: Final = 16  # connections taken in one wake-up at most
_PAUSE_ON_ERROR: Final = 1.0  # out of descriptors: stop accepting this long


class SharedAcceptor:
    """Accepts connections from `sock` into protocols made by `factory`, in step with the
    other workers through `share`; `held()` counts the connections this worker serves."""

    def __init__(
        self,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        share: ListenerShare,
        held: Callable[[], int],
    ) -> None:
        self.sock = sock
        self.factory = factory
        self.share = share
        self.held = held
        self.pending = 0  # accepted, not yet handed to a protocol
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watching = False
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.changed()
        self._watch()

    def changed(self) -> None:
        """Tell the others how many connections this worker holds now."""
        self.share.hold(self.held() + self.pending)

    def _watch(self) -> None:
        assert self._loop is not None
        if not self._watching:
            self._loop.add_reader(self.sock.fileno(), self._readable)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching and self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._watching = False

    def _readable(self) -> None:
        if self.share.busier_than_another():
            self._step_back(DEFER)
            return
        self._accept()

    def _accept(self) -> None:
        assert self._loop is not None
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # another worker took it, or none is left
            except OSError as exc:  # e.g. out of file descriptors: let the others serve
                log.warning("accepting a connection failed: %s", exc)
                self._step_back(_PAUSE_ON_ERROR)
                return
            conn.setblocking(False)
            self.pending += 1
            self.changed()
            task = self._loop.create_task(self._connect(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if self.share.busier_than_another():
                return  # the next one may go to a less busy worker

    def _step_back(self, seconds: float) -> None:
        assert self._loop is not None
        self._unwatch()
        self._timer = self._loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        """After stepping back: what is still waiting was left to nobody, so take it."""
        self._timer = None
        self._watch()
        self._accept()

    async def _connect(self, conn: socket.socket) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(self.factory, conn)
        except OSError:  # the peer left before its connection was set up
            conn.close()
        finally:
            self.pending -= 1
            self.changed()

    async def close(self) -> None:
        """Stop accepting; connections already accepted are set up (and their protocols
        see the listener close like the rest)."""
        self._unwatch()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.wait(list(self._tasks))
