"""Work only one gateway process runs at a time (the SFTP inbox, the ILL outbox): the holder of
the singleton lock runs it; when the holder dies the lock is freed and another process takes
over. Workers of one gateway on SQLite lock a file in the data directory; processes on one
PostgreSQL database, on one host or several, take an advisory lock in it."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import Final, Protocol

from gateway.store import Store
from gateway.store.postgresql import PostgresStore, advisory_lock

SINGLETON_LOCK: Final = "singletons.lock"


class SingletonLock(Protocol):
    async def try_take(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        ...

    async def still_held(self) -> bool:
        """False once the lock was lost (on PostgreSQL: its connection ended)."""
        ...

    async def release(self) -> None: ...


class FileLock:
    """An exclusive lock on a file, held by an open descriptor: the kernel frees it when the
    process ends, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_take(self) -> bool:
        if self._fd is None:
            self._fd = await asyncio.to_thread(_try_lock, str(self.path))
        return self._fd is not None

    async def still_held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _try_lock(path: str) -> int | None:
    """An open descriptor holding an exclusive lock on `path`, or None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def shares_database(store: Store) -> bool:
    """Whether other gateway processes, on any host, may serve the same catalog."""
    return isinstance(store, PostgresStore)


def singleton_lock(store: Store, data_dir: Path, name: str = "singletons") -> SingletonLock:
    """The lock of singleton work `name`: in the database on PostgreSQL, else a file."""
    if isinstance(store, PostgresStore):
        return advisory_lock(store, name)
    return FileLock(data_dir / (SINGLETON_LOCK if name == "singletons" else f"{name}.lock"))
