"""One library's SFTP view: its own root with `incoming/` (write) and `reports/`, `archive/` (read).

Every client path is resolved here, never by asyncssh's `chroot` (which follows a symlink
that already exists inside the root): the path is normalised against the virtual root `/`
(so `..` stops there and an absolute path means the library's root), joined to the library's
directory, and its real path must stay inside that directory. Symlinks and hard links cannot
be created, and files are opened with O_NOFOLLOW, so a planted link leads nowhere. What may
be done is decided on the real location: reading anywhere in the three areas, writing only
to plain files directly in `incoming/`. All file system work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import posixpath
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncssh
from asyncssh import (
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_READ,
    FXF_TRUNC,
    FXF_WRITE,
    SFTPAttrs,
    SFTPFailure,
    SFTPName,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
)

from gateway.publishing import is_partial_upload
from protocols.sftp.inbox import AREAS, INCOMING, PublishingInbox, waits_for_processing

T = TypeVar("T")

FILE_MODE = 0o640
_READ_ONLY = "{} is read-only: upload publishing files to /" + INCOMING + "/"
_WRITE_FLAGS = FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC | FXF_EXCL


@dataclass(frozen=True, slots=True)
class Place:
    """Where a client path leads inside the library's root: `()`, `(area,)` or `(area, name)`."""

    virtual: str
    real: Path
    parts: tuple[str, ...]

    @property
    def area(self) -> str:
        return self.parts[0] if self.parts else ""

    @property
    def is_incoming_file(self) -> bool:
        return len(self.parts) == 2 and self.parts[0] == INCOMING


class OpenFile:
    """An open file of the library: a descriptor and what the session may do with it."""

    def __init__(
        self, fd: int, place: Place, *, writable: bool, size: int, append: bool = False
    ) -> None:
        self.fd = fd
        self.place = place
        self.writable = writable
        self.append = append  # O_APPEND: every write lands at the end, whatever its offset
        self.size = size  # for the size limit: the largest offset written so far
        self.written = False
        self.refused = False  # a write went over the size limit: the upload is void

    # asyncssh's sparse-range extension seeks on the object it gets back from open()
    def fileno(self) -> int:
        return self.fd

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self.fd, offset, whence)


class LibraryDirectory(asyncssh.SFTPServer):
    """The SFTP server of one session, confined to one library's root."""

    def __init__(
        self,
        chan: asyncssh.SSHServerChannel[bytes],
        *,
        library: str,
        root: Path,
        inbox: PublishingInbox,
        max_file_bytes: int,
        max_files: int,
    ) -> None:
        super().__init__(chan)
        self.library = library
        self.real_root = root  # already resolved: every client path must stay inside it
        self.inbox = inbox
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self._ended = False
        self._completed: list[str] = []

    # --- paths ---------------------------------------------------------------------------
    def virtual_path(self, path: bytes) -> str:
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            raise SFTPNoSuchFile("File names are UTF-8") from None
        if "\0" in text:
            raise SFTPNoSuchFile("No such file")
        return posixpath.normpath(posixpath.join("/", text.replace("\\", "/")))

    def locate(self, path: bytes, *, writing: bool = False) -> Place:
        """Resolve a client path; blocking (realpath), so call it in a worker thread."""
        virtual = self.virtual_path(path)
        if virtual.startswith("//"):  # posixpath keeps a leading "//"
            virtual = "/" + virtual.lstrip("/")
        candidate = self.real_root.joinpath(*[p for p in virtual.split("/") if p])
        real = Path(os.path.realpath(candidate))
        if real != self.real_root and self.real_root not in real.parents:
            raise SFTPPermissionDenied(f"{virtual} leads outside your directory")
        parts = real.relative_to(self.real_root).parts
        if parts and (parts[0] not in AREAS or len(parts) > 2):
            if writing:
                raise SFTPPermissionDenied(_READ_ONLY.format(virtual))
            raise SFTPNoSuchFile(f"No such file: {virtual}")
        return Place(virtual, real, parts)

    async def _in_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    # asyncssh's own mapping is never used: every method below resolves through locate()
    def map_path(self, path: bytes) -> bytes:
        raise SFTPPermissionDenied("Path mapping is not available")

    def reverse_map_path(self, path: bytes) -> bytes:
        raise SFTPPermissionDenied("Path mapping is not available")

    def format_user(self, uid: int | None) -> str:
        return self.library.lower()

    def format_group(self, gid: int | None) -> str:
        return "melinda"

    # --- files ---------------------------------------------------------------------------
    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> OpenFile:
        writing = bool(pflags & _WRITE_FLAGS)
        return await self._in_thread(lambda: self._open(path, pflags, writing))

    def _open(self, path: bytes, pflags: int, writing: bool) -> OpenFile:
        place = self.locate(path, writing=writing)
        if len(place.parts) < 2 and writing:
            raise SFTPPermissionDenied(f"{place.virtual} is a directory")
        if writing:
            self._check_writable(place)
        flags = os.O_NOFOLLOW | os.O_CLOEXEC
        if writing:
            flags |= os.O_RDWR if pflags & FXF_READ else os.O_WRONLY
            if pflags & FXF_CREAT:
                flags |= os.O_CREAT
                if not os.path.lexists(place.real):
                    self._check_room()
            for sftp_flag, os_flag in (
                (FXF_TRUNC, os.O_TRUNC),
                (FXF_EXCL, os.O_EXCL),
                (FXF_APPEND, os.O_APPEND),
            ):
                if pflags & sftp_flag:
                    flags |= os_flag
        else:
            flags |= os.O_RDONLY
        fd = _open_fd(place.real, flags)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise SFTPPermissionDenied(f"{place.virtual} is not a file")
        return OpenFile(
            fd, place, writable=writing, size=info.st_size, append=bool(flags & os.O_APPEND)
        )

    def _check_writable(self, place: Place) -> None:
        if not place.is_incoming_file:
            raise SFTPPermissionDenied(_READ_ONLY.format(place.virtual))
        if place.parts[1].startswith("."):
            raise SFTPPermissionDenied("File names starting with a dot are reserved")
        if self.inbox.is_busy(self.library, place.parts[1]):
            raise SFTPFailure(
                f"{place.virtual} is being processed; try again when its report is in /reports/"
            )

    def _check_room(self) -> None:
        incoming = self.real_root / INCOMING
        count = sum(1 for _ in os.scandir(incoming))
        if count >= self.max_files:
            raise SFTPFailure(
                f"Too many files in /{INCOMING}/: at most {self.max_files} may wait for processing"
            )

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        handle = _handle(file_obj)
        return await self._in_thread(lambda: os.pread(handle.fd, size, offset))

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        handle = _handle(file_obj)
        if not handle.writable:
            raise SFTPPermissionDenied("The file was opened for reading")
        end = (handle.size if handle.append else offset) + len(data)
        if end > self.max_file_bytes:
            if not handle.refused:
                # an upload cut off at the size limit is no file to apply, and must not take
                # up one of the waiting places either: it goes now (the descriptor stays valid)
                handle.refused = True
                with contextlib.suppress(FileNotFoundError):
                    await self._in_thread(lambda: os.unlink(handle.place.real))
            raise SFTPFailure(
                f"File too large: a publishing file may be at most {self.max_file_bytes} bytes"
            )
        handle.size = max(handle.size, end)
        handle.written = True
        return await self._in_thread(lambda: os.pwrite(handle.fd, data, offset))

    def close(self, file_obj: object) -> None:
        handle = _handle(file_obj)
        # Closing a descriptor does not wait on the disk; this stays on the event loop so
        # that the hand-over below is scheduled before a session's exit() can run.
        os.close(handle.fd)
        if handle.refused:  # removed when it went over the size limit
            return
        if handle.writable and waits_for_processing(handle.place.parts[1]):
            self._completed.append(handle.place.parts[1])
            asyncio.get_running_loop().call_soon(self._hand_over)

    def _hand_over(self) -> None:
        """Files the client closed are complete; those closed because the session died are not."""
        completed, self._completed = self._completed, []
        if self._ended:
            return
        for name in completed:
            self.inbox.submit(self.library, name)

    def exit(self) -> None:
        # asyncssh closes the files a vanished client left open, then calls exit() at once.
        self._ended = True

    async def fstat(self, file_obj: object) -> os.stat_result:
        handle = _handle(file_obj)
        return await self._in_thread(lambda: os.fstat(handle.fd))

    async def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        handle = _handle(file_obj)
        if not handle.writable:
            raise SFTPPermissionDenied("The file was opened for reading")
        await self._in_thread(lambda: _set_times(handle.fd, attrs))

    async def fsync(self, file_obj: object) -> None:
        handle = _handle(file_obj)
        await self._in_thread(lambda: os.fsync(handle.fd))

    # --- names ---------------------------------------------------------------------------
    def realpath(self, path: bytes) -> bytes:
        return self.virtual_path(path).encode()

    async def stat(self, path: bytes) -> os.stat_result:
        return await self._in_thread(lambda: os.stat(self.locate(path).real))

    async def lstat(self, path: bytes) -> os.stat_result:
        # locate() already refused anything that is or passes through a link leading out
        return await self._in_thread(lambda: os.stat(self.locate(path).real))

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._in_thread(lambda: self._setstat(path, attrs))

    def _setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        place = self.locate(path, writing=True)
        self._check_writable(place)
        fd = _open_fd(place.real, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            _set_times(fd, attrs)
        finally:
            os.close(fd)

    async def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self.setstat(path, attrs)

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        names = await self._in_thread(lambda: self._listing(path))
        for name in names:
            yield name

    def _listing(self, path: bytes) -> list[SFTPName]:
        place = self.locate(path)
        if len(place.parts) == 2:
            raise SFTPFailure(f"{place.virtual} is not a directory")
        parent = self.real_root if place.parts else place.real
        names = [
            SFTPName(b".", attrs=SFTPAttrs.from_local(os.stat(place.real))),
            SFTPName(b"..", attrs=SFTPAttrs.from_local(os.stat(parent))),
        ]
        with os.scandir(place.real) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue  # our own temporaries
                info = entry.stat(follow_symlinks=False)
                if place.parts:
                    shown = stat.S_ISREG(info.st_mode)
                else:
                    shown = entry.name in AREAS and stat.S_ISDIR(info.st_mode)
                if shown:  # links and anything planted stay invisible
                    names.append(SFTPName(entry.name.encode(), attrs=SFTPAttrs.from_local(info)))
        return names

    async def remove(self, path: bytes) -> None:
        await self._in_thread(lambda: self._remove(path))

    def _remove(self, path: bytes) -> None:
        place = self.locate(path, writing=True)
        self._check_writable(place)
        os.unlink(place.real)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._in_thread(lambda: self._rename(oldpath, newpath, replace=False))
        self._after_rename(newpath)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._in_thread(lambda: self._rename(oldpath, newpath, replace=True))
        self._after_rename(newpath)

    def _rename(self, oldpath: bytes, newpath: bytes, *, replace: bool) -> None:
        old = self.locate(oldpath, writing=True)
        new = self.locate(newpath, writing=True)
        self._check_writable(old)
        self._check_writable(new)
        if not os.path.lexists(old.real):
            raise SFTPNoSuchFile(f"No such file: {old.virtual}")
        if os.path.islink(old.real) or not os.path.isfile(old.real):
            raise SFTPPermissionDenied(f"{old.virtual} is not a file")
        if replace:
            os.replace(old.real, new.real)
        else:
            # SFTP v3 rename must not replace; link() fails when the target exists
            try:
                os.link(old.real, new.real, follow_symlinks=False)
            except FileExistsError:
                raise SFTPFailure(f"{new.virtual} already exists") from None
            os.unlink(old.real)

    def _after_rename(self, newpath: bytes) -> None:
        name = posixpath.basename(self.virtual_path(newpath))
        # Renaming `x.xml.part` to `x.xml` is how a client says the upload is complete.
        if not is_partial_upload(name):
            self.inbox.submit(self.library, name)

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        raise SFTPPermissionDenied("Directories cannot be created here")

    async def rmdir(self, path: bytes) -> None:
        raise SFTPPermissionDenied("Directories cannot be removed here")

    async def readlink(self, path: bytes) -> bytes:
        raise SFTPPermissionDenied("Symbolic links are not available")

    async def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise SFTPPermissionDenied("Symbolic links cannot be created")

    async def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise SFTPPermissionDenied("Links cannot be created")

    async def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        raise SFTPOpUnsupported("statvfs is not available")

    async def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise SFTPOpUnsupported("fstatvfs is not available")


def _handle(file_obj: object) -> OpenFile:
    if not isinstance(file_obj, OpenFile):
        raise SFTPFailure("Not a file of this session")
    return file_obj


def _open_fd(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise SFTPPermissionDenied("Links are not followed") from None
        if exc.errno == errno.EISDIR:
            raise SFTPPermissionDenied("That is a directory") from None
        raise


def _set_times(fd: int, attrs: SFTPAttrs) -> None:
    """Only the modification time of an upload may be set (`put -p`); modes stay ours."""
    if attrs.atime is not None and attrs.mtime is not None:
        os.utime(fd, (attrs.atime, attrs.mtime))
