"""What a protocol needs from the process that runs it, as interfaces: the emulator's Gateway,
Settings, Journal and Faults satisfy them structurally, so protocols never import the emulator.

`Gateway.start` hands the concrete gateway to each listener's `ServerStarter`, which is where
the type checker holds the emulator to these interfaces.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from gateway.catalog import Catalog


class Settings(Protocol):
    """The settings protocols read (the emulator's Settings has these and more)."""

    @property
    def host(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def secret(self) -> str: ...
    @property
    def oai_repository_name(self) -> str: ...
    @property
    def oai_admin_email(self) -> str: ...
    @property
    def oai_identifier_prefix(self) -> str: ...
    @property
    def oai_page_size(self) -> int: ...
    @property
    def oai_token_ttl(self) -> int: ...
    @property
    def xserver_max_request_chars(self) -> int: ...
    @property
    def xserver_session_ttl(self) -> int: ...
    @property
    def z3950_port(self) -> int: ...
    @property
    def z3950_idle_timeout(self) -> int: ...
    @property
    def z3950_max_lifetime(self) -> int: ...
    @property
    def z3950_max_associations(self) -> int: ...
    @property
    def z3950_init_timeout(self) -> int: ...
    @property
    def z3950_address_share(self) -> int: ...
    @property
    def sftp_port(self) -> int: ...
    @property
    def sftp_max_file_bytes(self) -> int: ...
    @property
    def sftp_max_files(self) -> int: ...
    @property
    def ill_agencies(self) -> str: ...
    @property
    def ill_default_profile(self) -> str: ...
    @property
    def ill_delay_ms(self) -> int: ...
    @property
    def ill_retry_base_ms(self) -> int: ...
    @property
    def ill_retry_limit(self) -> int: ...
    @property
    def ill_timeout_ms(self) -> int: ...
    @property
    def ill_loan_days(self) -> int: ...
    @property
    def ill_lending_fee(self) -> str: ...
    @property
    def ill_public_url(self) -> str: ...
    @property
    def iso18626_schema(self) -> str: ...


class Fault(Protocol):
    """An injected fault as a protocol answers it: what kind, how long, what to say."""

    @property
    def kind(self) -> str: ...  # "latency", "error" or "drop"
    @property
    def latency_ms(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def retry_after(self) -> int: ...


class Faults(Protocol):
    """The source of injected faults: the one to apply to a request, if any."""

    def match(self, interface: str, operation: str) -> Fault | None: ...


class Journal(Protocol):
    """Where each request is noted (the journal masks secret parameters itself)."""

    def record(
        self,
        interface: str,
        operation: str,
        *,
        client: str = "",
        parameters: Mapping[str, Any] | None = None,
        outcome: str = "ok",
        duration_ms: float = 0.0,
        user: str | None = None,
    ) -> object: ...


class SharedState(Protocol):
    """State the worker processes of one gateway share (`serve --workers N`): keyed values
    with an expiry and counters taken once across processes."""

    async def get(self, space: str, key: str) -> bytes | None: ...
    async def put(self, space: str, key: str, value: bytes, *, ttl: float) -> None: ...
    async def next_number(self, name: str, *, wrap: int) -> int: ...


class Timer:
    """Milliseconds since construction (for a journal entry's duration)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000


class RunningServer(Protocol):
    """A started listener: the port it bound, and how to stop it."""

    @property
    def port(self) -> int: ...

    async def close(self) -> None: ...


# A protocol's non-HTTP listener (Z39.50, SFTP), started with the gateway.
ServerStarter = Callable[["Gateway"], Awaitable[RunningServer]]
# An HTTP protocol's error in its own form: (request, operation, fault) -> response.
FaultRenderer = Callable[[web.Request, str, Fault], Awaitable[web.StreamResponse]]
# A protocol whose requests may arrive as an XML body (SRW's SOAP envelopes) says how to read
# their parameters, so the journal and fault matching see the real operation.
BodyParameterReader = Callable[[bytes], Mapping[str, str]]


class ListenerShare(Protocol):
    """This worker's part in a listening socket every worker process accepts on: each tells
    how many connections it holds, and one holding more than another worker leaves a new
    connection to that one for a moment (protocols/accepting.py)."""

    def hold(self, connections: int) -> None: ...

    def busier_than_another(self) -> bool: ...


class Gateway(Protocol):
    """The running gateway as a protocol sees it when installed and while it serves."""

    @property
    def catalog(self) -> Catalog: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def http(self) -> web.Application: ...
    @property
    def http_url(self) -> str: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def faults(self) -> Faults: ...
    @property
    def fault_renderers(self) -> MutableMapping[str, FaultRenderer]: ...
    @property
    def body_parameter_readers(self) -> MutableMapping[str, BodyParameterReader]: ...

    @property
    def shared(self) -> SharedState | None: ...  # None: one process, state stays in memory

    def add_server(self, name: str, start: ServerStarter) -> None: ...

    def add_singleton_job(
        self, name: str, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
    ) -> None: ...  # background work one process of several runs (the ILL outbox)

    def listening_socket(self, name: str) -> socket.socket | None:
        """The socket a worker process was handed for that listener (None: bind the port)."""
        ...

    def listener_share(self, name: str) -> ListenerShare | None:
        """How this worker shares the handed socket of that listener with the others (None:
        it does not, or the kernel spreads the connections)."""
        ...


# The running gateway in the HTTP application, for handlers that reach it through a request.
GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("protocols.gateway")
