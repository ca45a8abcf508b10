"""The SSH listener: public-key logins per library, SFTP only, a persistent host key.

A library logs in with its code as user name (any case) and one of the SSH keys stored for it
(`melinda-gateway library add CODE --ssh-key FILE.pub`). There is no password or
keyboard-interactive login, no shell, exec, SCP, port or agent forwarding: only the SFTP
subsystem, confined to the library's directory (directory.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

import asyncssh

from gateway.catalog import Catalog
from gateway.errors import LibraryNotFoundError
from protocols.host import Gateway, Settings
from protocols.sftp.controls import JournaledDirectory
from protocols.sftp.directory import LibraryDirectory
from protocols.sftp.inbox import PublishingInbox

log = logging.getLogger("melinda.sftp")

HOST_KEY_NAME = "ssh_host_ed25519_key"
LOGIN_TIMEOUT = 60  # seconds to authenticate


class LibraryLogin(asyncssh.SSHServer):
    """One SSH connection: which library logs in, and with which keys."""

    def __init__(self, catalog: Catalog, connections: set[asyncssh.SSHServerConnection]) -> None:
        self.catalog = catalog
        self.connections = connections
        self.library = ""
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self.connections.discard(self._conn)

    async def begin_auth(self, username: str) -> bool:
        """Load the library's keys; an unknown library gets none, so every key is refused."""
        code = username.strip().upper()
        keys: tuple[str, ...] = ()
        if code:
            try:
                library = await self.catalog.library(code)
            except LibraryNotFoundError:
                log.info("SFTP login as unknown library %r refused", username)
            else:
                code = library.code
                keys = library.ssh_keys
        assert self._conn is not None
        # A client may change its user name between attempts: the keys always follow the name.
        self._conn.set_authorized_keys(_authorized_keys(code, keys))
        self.library = code if keys else ""
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def auth_completed(self) -> None:
        log.info("SFTP login: library %s", self.library)


def _authorized_keys(code: str, lines: tuple[str, ...]) -> asyncssh.SSHAuthorizedKeys:
    """The library's keys; a line that does not parse is skipped (and logged), not fatal."""
    good: list[str] = []
    for line in lines:
        try:
            asyncssh.import_authorized_keys(line)
        except (ValueError, asyncssh.KeyImportError) as exc:
            log.warning("library %s has an SSH key that cannot be read: %s", code, exc)
            continue
        good.append(line)
    if not good:
        return asyncssh.SSHAuthorizedKeys()  # nothing matches
    return asyncssh.import_authorized_keys("\n".join(good) + "\n")


def load_host_key(data_dir: Path) -> asyncssh.SSHKey:
    """The gateway's host key, generated into the data dir on first start. Blocking."""
    path = data_dir / HOST_KEY_NAME
    if path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="melinda-gateway")
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    (data_dir / f"{HOST_KEY_NAME}.pub").write_bytes(key.export_public_key())
    log.info("generated the SFTP host key %s", path)
    return key


class SftpListener:
    """The running SFTP service: the SSH acceptor and the publishing inbox behind it."""

    def __init__(
        self,
        acceptor: asyncssh.SSHAcceptor,
        inbox: PublishingInbox,
        connections: set[asyncssh.SSHServerConnection],
    ) -> None:
        self.acceptor = acceptor
        self.inbox = inbox
        self.connections = connections

    @property
    def port(self) -> int:
        return int(self.acceptor.get_port())

    async def close(self) -> None:
        self.acceptor.close()
        for conn in list(self.connections):
            conn.close()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.acceptor.wait_closed(), 5)
        await self.inbox.close()


async def start_sftp(gateway: Gateway) -> SftpListener:
    """Start the SFTP listener on the configured host and port, and the publishing inbox."""
    settings: Settings = gateway.settings
    inbox = PublishingInbox(
        gateway.catalog, settings.data_dir, max_files=settings.sftp_max_files, journal=gateway.journal
    )
    host_key = await asyncio.to_thread(load_host_key, settings.data_dir)
    connections: set[asyncssh.SSHServerConnection] = set()

    async def open_directory(chan: asyncssh.SSHServerChannel[bytes]) -> LibraryDirectory:
        login = chan.get_connection().get_owner()
        assert isinstance(login, LibraryLogin)
        root = await inbox.prepare_library(login.library)
        return JournaledDirectory(
            chan,
            journal=gateway.journal,
            faults=gateway.faults,
            library=login.library,
            root=root,
            inbox=inbox,
            max_file_bytes=settings.sftp_max_file_bytes,
            max_files=settings.sftp_max_files,
        )

    handed = gateway.listening_socket("sftp")  # a worker of `serve --workers`
    acceptor = await asyncssh.listen(
        "" if handed is not None else settings.host,
        () if handed is not None else settings.sftp_port,
        sock=handed,
        server_factory=lambda: LibraryLogin(gateway.catalog, connections),
        server_host_keys=[host_key],
        sftp_factory=open_directory,
        sftp_version=3,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
        login_timeout=LOGIN_TIMEOUT,
    )
    await inbox.start()
    log.info("SFTP LOW publishing listening on port %d", acceptor.get_port())
    return SftpListener(acceptor, inbox, connections)
