"""The Z39.50 listener: frames BER PDUs off each connection and runs one association per connection.

Each connection is served by one task that reads a whole PDU (definite or indefinite
length), asks its Association for the reply, and writes it. Idle time and total lifetime
are bounded per association, the number of associations is capped, and a malformed PDU
ends only its own association, with a Close PDU (protocolError). A connection that opens
with HTTP is handed to the HTTP bridge (SRU on the Z39.50 port).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final, cast

from protocols.accepting import SharedAcceptor
from protocols.host import Gateway
from protocols.z3950 import controls
from protocols.z3950 import pdu as z
from protocols.z3950.association import Association, ProtocolError
from protocols.z3950.ber import CONTEXT, BerError, Element, decode_prefix, has_indefinite_length
from protocols.z3950.http_bridge import HttpBridge, looks_like_http

log = logging.getLogger("melinda.z3950")

MAX_REQUEST_SIZE: Final = 1024 * 1024  # a request PDU is a few hundred octets; refuse floods
# Connections not yet in an association (waiting for their Init, under the Init deadline) may
# outnumber the association cap this many times before new ones are turned away at once.
CONNECTIONS_PER_ASSOCIATION: Final = 4
# After a Close for a bad PDU, what the origin still sends is read and dropped until it has
# been quiet this long (or for at most _LINGER_MAX), so closing does not reset the connection
# and lose the Close on its way.
_LINGER_QUIET: Final = 1.0
_LINGER_MAX: Final = 10.0
_SHUTDOWN_GRACE: Final = 5.0
_ALARM_SLACK: Final = 0.002  # a timer may ring this early (the loop counts milliseconds)
_BUSY_TEXT: Final = b"too many connections on the Z39.50 port; retry later\n"
_HTTP_BUSY: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT)
)


class _Ended(Exception):
    """The peer went away (EOF or a reset) while we waited on it."""


class _TimedOut(Exception):
    def __init__(self, reason: z.CloseReason, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


class Z3950Listener:
    """The running listener (`.port`, `close()`), as Gateway.add_server expects."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.settings = gateway.settings
        self.http = HttpBridge(gateway)
        self.connections: set[_Connection] = set()
        self.associations: set[_Connection] = set()  # initialised (or initialising) ones
        self._server: asyncio.Server | None = None
        # a worker of several accepting on one socket, the least loaded first
        self._acceptor: SharedAcceptor | None = None

    @property
    def port(self) -> int:
        if self._acceptor is not None:
            return int(self._acceptor.sock.getsockname()[1])
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handed = self.gateway.listening_socket("z3950")  # a worker of `serve --workers`
        share = self.gateway.listener_share("z3950")
        if handed is not None and share is not None:
            self._acceptor = SharedAcceptor(
                handed, lambda: _Connection(self), share, lambda: len(self.connections)
            )
            self._acceptor.start()
        elif handed is not None:
            self._server = await loop.create_server(lambda: _Connection(self), sock=handed)
        else:
            self._server = await loop.create_server(
                lambda: _Connection(self), self.settings.host, self.settings.z3950_port
            )

    def add(self, connection: _Connection) -> None:
        self.connections.add(connection)
        if self._acceptor is not None:
            self._acceptor.changed()

    def discard(self, connection: _Connection) -> None:
        """`connection` is no longer served here (ended, or handed to the HTTP bridge)."""
        self.associations.discard(connection)
        if connection in self.connections:
            self.connections.discard(connection)
            if self._acceptor is not None:
                self._acceptor.changed()

    def refusal_for(self, connection: _Connection) -> str | None:
        """Why an Init from `connection` cannot start an association now, or None."""
        cap = self.settings.z3950_max_associations
        if len(self.associations) >= cap:
            return "too many associations"
        share = max(1, cap * self.settings.z3950_address_share // 100)
        same = sum(1 for other in self.associations if other.address == connection.address)
        if same >= share:
            return f"too many associations from {connection.address}"
        return None

    def crowded(self) -> bool:
        cap = self.settings.z3950_max_associations
        return (
            len(self.associations) >= cap
            or len(self.connections) >= CONNECTIONS_PER_ASSOCIATION * cap
        )

    async def close(self) -> None:
        """Stop accepting, end every association with Close(shutdown), stop the bridge."""
        if self._server is not None:
            self._server.close()
        if self._acceptor is not None:
            await self._acceptor.close()
        connections = list(self.connections)
        for connection in connections:
            connection.shut_down()
        tasks = [c.task for c in connections if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE)
        await self.http.close()
        if self._server is not None:
            await self._server.wait_closed()


class _Connection(asyncio.Protocol):
    """One TCP connection: its buffered input, flow control and the task serving it."""

    def __init__(self, listener: Z3950Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self._buffer = bytearray()
        self._arrived = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._eof = False
        self._lost = False
        self._in_association = False
        self.address = ""
        self.client = ""  # the peer as the journal names it
        # One alarm per connection, moved only earlier, bounds every wait for input: a timeout
        # context per wait (a timer set and cancelled twice a search) cost ~14 µs each.
        self._alarm: asyncio.TimerHandle | None = None
        self._waiting = False
        self._wait_ends = 0.0  # when the wait under way gives up, in the loop's time
        self._timed_out = False

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.client = controls.peer_of(transport)
        over_cap = self.listener.crowded()
        self.listener.add(self)
        self.task = asyncio.get_running_loop().create_task(self._serve(over_cap))

    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        self._arrived.set()
        if len(self._buffer) > MAX_REQUEST_SIZE and self.transport is not None:
            self.transport.pause_reading()  # the task resumes it once it has caught up

    def eof_received(self) -> bool:
        self._eof = True
        self._arrived.set()
        return True  # keep the transport: replies to what already arrived still go out

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._arrived.set()
        self._writable.set()
        self.listener.discard(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # --- serving ---------------------------------------------------------------------

    def shut_down(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _serve(self, over_cap: bool) -> None:
        settings = self.listener.settings
        deadline = time.monotonic() + settings.z3950_max_lifetime
        try:
            await self._wait_for_input(settings.z3950_init_timeout, deadline)
            if looks_like_http(bytes(self._buffer[:1])):
                self._hand_to_http(over_cap)
                return
            self._in_association = True
            association = Association(
                self.listener.gateway.catalog,
                refuse_reason="too many associations" if over_cap else None,
            )
            await self._run_association(association, deadline)
        except _TimedOut as timeout:
            self._close_association(timeout.reason, timeout.message)
        except (_Ended, ConnectionError):
            pass
        except asyncio.CancelledError:
            self._close_association(z.CloseReason.SHUTDOWN, "the gateway is stopping")
            raise
        except Exception:  # a bug must cost one association, not the listener
            log.exception("Z39.50 association failed")
            self._close_association(z.CloseReason.SYSTEM_PROBLEM, "internal error")
        finally:
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = None
            if self.transport is not None and self.transport.get_protocol() is self:
                self.transport.close()
            self.listener.discard(self)

    async def _run_association(self, association: Association, deadline: float) -> None:
        settings = self.listener.settings
        init_deadline = time.monotonic() + settings.z3950_init_timeout
        while True:
            try:
                if association.initialised:
                    request = await self._next_pdu(settings.z3950_idle_timeout, deadline)
                else:
                    request = await self._next_init(init_deadline, deadline)
                    self._admit(association, request)
                reply = await controls.answer(
                    self.listener.gateway, association, request, self.client
                )
                if not association.initialised:
                    self.listener.associations.discard(self)
            except (BerError, ProtocolError) as exc:
                log.info("Z39.50 protocol error: %s", exc)
                self._close_association(z.CloseReason.PROTOCOL_ERROR, str(exc)[:200])
                await self._linger()
                return
            if reply is None:  # an injected fault: hang up without a word
                self._in_association = False
                return
            await self._send(reply.pdu)
            if reply.close:
                return

    async def _next_init(self, init_deadline: float, deadline: float) -> Element:
        """The first PDU, which must come before the Init deadline."""
        try:
            return await self._next_pdu(max(0.0, init_deadline - time.monotonic()), deadline)
        except _TimedOut as timeout:
            if timeout.reason is z.CloseReason.LACK_OF_ACTIVITY:
                seconds = self.listener.settings.z3950_init_timeout
                raise _TimedOut(timeout.reason, f"no Init request within {seconds} s") from None
            raise

    def _admit(self, association: Association, request: Element) -> None:
        """An Init counts against the cap from now on, unless it is refused for the cap."""
        if association.initialised or not request.is_tag(CONTEXT, z.PduTag.INIT_REQUEST):
            return
        if association.refuse_reason is None:
            association.refuse_reason = self.listener.refusal_for(self)
        if association.refuse_reason is None:
            self.listener.associations.add(self)

    async def _linger(self) -> None:
        """Read and drop what the origin still sends, so that closing sends no reset."""
        if self.transport is None or self._lost:
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the Close goes out first, then our end of the stream
        end = time.monotonic() + _LINGER_MAX
        while not (self._eof or self._lost):
            self._buffer.clear()
            if not self.transport.is_reading():
                self.transport.resume_reading()
            wait = min(_LINGER_QUIET, end - time.monotonic())
            if wait <= 0:
                return
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                return

    def _hand_to_http(self, over_cap: bool) -> None:
        assert self.transport is not None
        self.listener.discard(self)
        if over_cap:
            self.transport.write(_HTTP_BUSY)
            return
        self.listener.http.take_over(self.transport, bytes(self._buffer), self._eof)
        self._buffer.clear()

    async def _wait_for_input(self, idle: float, deadline: float) -> None:
        while not self._buffer:
            if self._eof or self._lost:
                raise _Ended
            await self._wait_arrival(idle, deadline)

    async def _wait_arrival(self, idle: float, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _TimedOut(z.CloseReason.RESOURCES, "the association's lifetime is over")
        self._arrived.clear()
        self._wait_ends = asyncio.get_running_loop().time() + min(idle, remaining)
        self._timed_out = False
        self._arm(self._wait_ends)
        self._waiting = True
        try:
            await self._arrived.wait()
        finally:
            self._waiting = False
        if self._timed_out:
            if idle < remaining:
                raise _TimedOut(z.CloseReason.LACK_OF_ACTIVITY, "idle too long")
            raise _TimedOut(z.CloseReason.RESOURCES, "the association's lifetime is over")

    def _arm(self, at: float) -> None:
        """The alarm rings at `at` or earlier (an earlier one stays)."""
        alarm = self._alarm
        if alarm is not None:
            if alarm.when() <= at:
                return
            alarm.cancel()
        self._alarm = asyncio.get_running_loop().call_at(at, self._ring)

    def _ring(self) -> None:
        """The wait under way has timed out, or the alarm moves on to when it will."""
        self._alarm = None
        if not self._waiting:
            return  # the next wait sets it again
        if asyncio.get_running_loop().time() >= self._wait_ends - _ALARM_SLACK:
            self._timed_out = True
            self._arrived.set()
        else:
            self._arm(self._wait_ends)

    async def _next_pdu(self, idle: float, deadline: float) -> Element:
        if time.monotonic() >= deadline:
            raise _TimedOut(z.CloseReason.RESOURCES, "the association's lifetime is over")
        tried_upto = 0  # buffer length at the last attempt that found the PDU incomplete
        while True:
            if self._buffer and self._could_be_complete(tried_upto):
                found = decode_prefix(self._buffer, MAX_REQUEST_SIZE)
                if found is not None:
                    element, length = found
                    del self._buffer[:length]
                    if self.transport is not None and not self.transport.is_reading():
                        self.transport.resume_reading()
                    return element
                tried_upto = len(self._buffer)
            if self._eof or self._lost:
                raise _Ended
            await self._wait_arrival(idle, deadline)

    def _could_be_complete(self, tried_upto: int) -> bool:
        """Skip re-parsing an indefinite-length PDU until an end-of-contents could have arrived.

        Without this a peer trickling a large PDU byte by byte costs a full parse per byte.
        """
        if not tried_upto or not has_indefinite_length(self._buffer):
            return True
        return self._buffer.find(b"\x00\x00", tried_upto - 1) != -1

    async def _send(self, data: bytes) -> None:
        if self._lost or self.transport is None:
            raise _Ended
        self.transport.write(data)
        await self._writable.wait()
        if self._lost:
            raise _Ended

    def _close_association(self, reason: z.CloseReason, message: str) -> None:
        """Tell the origin why the association ends, when there is still someone to tell."""
        if self._in_association and not self._lost and self.transport is not None:
            self.transport.write(z.close_pdu(reason, message))


async def start_listener(gateway: Gateway) -> Z3950Listener:
    listener = Z3950Listener(gateway)
    await listener.start()
    return listener
