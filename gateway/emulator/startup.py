"""What `serve` says and puts right at start-up: a port it cannot have, the store it serves, demo keys."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import socket
from pathlib import Path

from gateway.catalog import Catalog
from gateway.emulator.demo import DEMO_LIBRARIES, demo_key_path, generate_demo_keys
from gateway.emulator.host import ListenError
from gateway.emulator.settings import ENV_PREFIX, Settings

# What each listener serves, for the message about a port it cannot have.
_SERVES = {
    "http": "HTTP (SRU, X-server, OAI-PMH, admin)",
    "z3950": "Z39.50",
    "sftp": "SFTP LOW publishing",
}


def listen_failure(exc: ListenError) -> str:
    """One message naming the port, what wanted it, and every way to choose another."""
    setting = f"{exc.interface}_port"
    flag = "--" + setting.replace("_", "-")
    what = _SERVES.get(exc.interface, exc.interface)
    # asyncio's own text repeats the address; the system's is the reason alone
    reason = os.strerror(exc.cause.errno) if exc.cause.errno else str(exc.cause)
    text = (
        f"cannot listen on {exc.host}:{exc.port} for {what}: {reason}. "
        f"Choose another port with {flag} P, the setting {setting} in a --config file, "
        f"or the environment variable {ENV_PREFIX}{setting.upper()}"
    )
    if exc.cause.errno == errno.EADDRNOTAVAIL:
        text += f"; or another address with --host, the setting host or {ENV_PREFIX}HOST"
    return text + "."


LISTENERS = ("http", "z3950", "sftp")


def first_taken_port(settings: Settings) -> ListenError | None:
    """Try each configured port the way asyncio will bind it (SO_REUSEADDR) and let it go: a
    port that is taken is found before any protocol is imported or the store opened, so
    `serve` ends within the interpreter's start-up. Blocking: call it off the event loop.
    (The real listen reports the same error should the port be taken in between.)"""
    for name in LISTENERS:
        port = int(getattr(settings, f"{name}_port"))
        if port == 0:
            continue
        try:
            addresses = socket.getaddrinfo(
                settings.host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except OSError:
            return None  # an address that does not resolve: the real listen says so
        for family, kind, proto, _name, address in addresses:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    probe.bind(address)
                except OSError as exc:
                    return ListenError(name, settings.host, port, exc)
    return None


def store_line(settings: Settings, live: int, deleted: int) -> str:
    where = settings.store_file if settings.store_is_file else without_password(settings.store)
    return f"Store: {where} ({live:,} records, {deleted:,} deleted)"


def without_password(url: str) -> str:
    """A database URL fit for a log line: any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


async def renew_demo_keys(catalog: Catalog, keys_dir: Path) -> list[str]:
    """Make the demo libraries' SSH keys missing from `keys_dir` (a new clone, `git clean`)
    and register the new public keys with those demo libraries the store has; returns the
    codes of the libraries whose key was made."""
    made = await asyncio.to_thread(generate_demo_keys, keys_dir)
    if not made:
        return []
    known = {library.code for library in await catalog.libraries()}
    renewed = []
    for library in DEMO_LIBRARIES:
        path = demo_key_path(keys_dir, library.code)
        if path not in made:
            continue
        renewed.append(library.code)
        if library.code not in known:
            continue  # loaded with the demo data, if it is loaded
        key = (await asyncio.to_thread(path.with_suffix(".pub").read_text)).strip()
        await catalog.add_library(
            library.code,
            name=library.name,
            sid_code=library.sid_code,
            lows=library.lows,
            ssh_keys=[key],
            privileged=library.privileged,
        )
    return renewed
