"""The gateway's journal and injected faults for SFTP: one entry per file operation.

An error fault answers the operation with SSH_FX_FAILURE; a drop fault aborts the SSH
connection; latency delays the answer. Reads and writes of an open file are not journaled
one by one (a file is hundreds of them): its open and close are.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import asyncssh
from asyncssh import SFTPAttrs, SFTPError, SFTPFailure, SFTPName

from protocols.host import Fault, Faults, Journal, Timer
from protocols.sftp.directory import LibraryDirectory, OpenFile

T = TypeVar("T")

INTERFACE: Final = "sftp"
DEFAULT_TEXT: Final = "Failure (injected by the gateway's admin API)"


def _text(path: bytes) -> str:
    return path.decode("utf-8", "replace")


class JournaledDirectory(LibraryDirectory):
    """A library's SFTP directory whose operations are journaled and may be made to fail."""

    def __init__(
        self,
        chan: asyncssh.SSHServerChannel[bytes],
        *,
        journal: Journal,
        faults: Faults,
        **options: Any,
    ) -> None:
        super().__init__(chan, **options)
        self._journal = journal
        self._faults = faults
        peer = self.connection.get_extra_info("peername")
        self._client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""

    def _note(self, operation: str, parameters: dict[str, Any], outcome: str, ms: float) -> None:
        self._journal.record(
            INTERFACE,
            operation,
            client=self._client,
            parameters={"library": self.library, **parameters},
            outcome=outcome,
            duration_ms=ms,
            user=self.library,
        )

    def _refuse(
        self, operation: str, parameters: dict[str, Any], fault: Fault, timer: Timer
    ) -> None:
        """Apply an error or drop fault: raise the SFTP failure the client will see."""
        if fault.kind == "drop":
            self._note(operation, parameters, "fault: connection dropped", timer.ms)
            self.connection.abort()
            raise SFTPFailure("Connection dropped")
        self._note(operation, parameters, "fault: SSH_FX_FAILURE", timer.ms)
        raise SFTPFailure(fault.message or DEFAULT_TEXT)

    async def _run(
        self, operation: str, parameters: dict[str, Any], work: Callable[[], Awaitable[T]]
    ) -> T:
        timer = Timer()
        fault = self._faults.match(INTERFACE, operation)
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault is not None:
            self._refuse(operation, parameters, fault, timer)
        try:
            result = await work()
        except SFTPError as exc:
            self._note(operation, parameters, f"{type(exc).__name__}: {exc.reason}", timer.ms)
            raise
        except Exception as exc:
            self._note(operation, parameters, f"failed: {type(exc).__name__}", timer.ms)
            raise
        outcome = f"fault: latency {fault.latency_ms} ms; ok" if fault else "ok"
        self._note(operation, parameters, outcome, timer.ms)
        return result

    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> OpenFile:
        mode = "write" if pflags & asyncssh.FXF_WRITE else "read"
        return await self._run(
            "open",
            {"path": _text(path), "mode": mode},
            lambda: LibraryDirectory.open(self, path, pflags, attrs),
        )

    def close(self, file_obj: object) -> Awaitable[None] | None:  # type: ignore[override]
        """The file is closed (and handed over) first, whatever the fault: as the parent
        says, the hand-over must be scheduled before the session's exit() can run."""
        timer = Timer()
        path = file_obj.place.virtual if isinstance(file_obj, OpenFile) else ""
        parameters = {"path": path}
        fault = self._faults.match(INTERFACE, "close")
        try:
            LibraryDirectory.close(self, file_obj)
        except SFTPError as exc:
            self._note("close", parameters, f"{type(exc).__name__}: {exc.reason}", timer.ms)
            raise
        if fault is None:
            self._note("close", parameters, "ok", timer.ms)
            return None
        if fault.kind != "latency":
            self._refuse("close", parameters, fault, timer)

        async def late() -> None:
            await asyncio.sleep(fault.latency_ms / 1000)
            self._note("close", parameters, f"fault: latency {fault.latency_ms} ms; ok", timer.ms)

        return late()

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._run(
            "rename",
            {"from": _text(oldpath), "to": _text(newpath)},
            lambda: LibraryDirectory.rename(self, oldpath, newpath),
        )

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._run(
            "rename",
            {"from": _text(oldpath), "to": _text(newpath), "posix": "yes"},
            lambda: LibraryDirectory.posix_rename(self, oldpath, newpath),
        )

    async def remove(self, path: bytes) -> None:
        await self._run(
            "remove", {"path": _text(path)}, lambda: LibraryDirectory.remove(self, path)
        )

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._run(
            "mkdir", {"path": _text(path)}, lambda: LibraryDirectory.mkdir(self, path, attrs)
        )

    async def rmdir(self, path: bytes) -> None:
        await self._run("rmdir", {"path": _text(path)}, lambda: LibraryDirectory.rmdir(self, path))

    async def stat(self, path: bytes) -> os.stat_result:
        return await self._run(
            "stat", {"path": _text(path)}, lambda: LibraryDirectory.stat(self, path)
        )

    async def lstat(self, path: bytes) -> os.stat_result:
        return await self._run(
            "lstat", {"path": _text(path)}, lambda: LibraryDirectory.lstat(self, path)
        )

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._run(
            "setstat", {"path": _text(path)}, lambda: LibraryDirectory.setstat(self, path, attrs)
        )

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        async def listing() -> list[SFTPName]:
            return [name async for name in LibraryDirectory.scandir(self, path)]

        for name in await self._run("opendir", {"path": _text(path)}, listing):
            yield name
