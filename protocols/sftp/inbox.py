"""The libraries' publishing directories: files arriving in `incoming/` are applied and archived.

Each library's SFTP root is `<data_dir>/sftp/<CODE>/` with `incoming/` (Alma writes here),
`reports/` (one `<file>.report.json` and `.report.txt` per processed file) and `archive/`
(processed files). Files are applied one at a time, in the order they arrived, each in one
catalog transaction. A file stays in `incoming/` until its report is written and it has been
moved to `archive/`, so a crash at any point leaves it there and the next start applies it
again; the catalog's publishing is idempotent, so a file whose transaction had already
committed changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.catalog import Catalog
from gateway.errors import GatewayError
from gateway.publishing import (
    DEFAULT_MAX_REMOVAL_RATIO,
    MalformedPublishingFileError,
    PublishingFile,
    is_partial_upload,
    is_publishing_file_name,
    publishing_report,
    read_publishing_file,
    report_json,
    report_name,
    report_text,
)
from protocols.host import Journal, Timer

log = logging.getLogger("melinda.sftp")

INCOMING = "incoming"
REPORTS = "reports"
ARCHIVE = "archive"
AREAS = (INCOMING, REPORTS, ARCHIVE)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A complete file in a library's `incoming/`, waiting to be applied."""

    library: str
    name: str


def waits_for_processing(name: str) -> bool:
    """Files under these names are left alone: uploads still arriving, our own temporaries."""
    return not (name.startswith(".") or is_partial_upload(name))


class PublishingInbox:
    """Applies the files libraries publish, one at a time, and keeps their directories."""

    def __init__(
        self, catalog: Catalog, data_dir: Path, *, max_files: int, journal: Journal | None = None
    ) -> None:
        self.catalog = catalog
        self.journal = journal  # each file applied is one entry, with its outcome
        self.root = data_dir / "sftp"
        self.max_files = max_files
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue()
        self._waiting: set[Arrival] = set()
        self._current: Arrival | None = None
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    # --- directories -------------------------------------------------------------------
    def library_root(self, code: str) -> Path:
        return self.root / code.upper()

    async def prepare_library(self, code: str) -> Path:
        """Create the library's root and its three areas; returns the root's real path."""
        return await asyncio.to_thread(_make_areas, self.library_root(code))

    # --- the queue -----------------------------------------------------------------------
    def is_busy(self, library: str, name: str) -> bool:
        """True while a file waits or is being applied: it may not be replaced or removed."""
        arrival = Arrival(library.upper(), name)
        return arrival in self._waiting or arrival == self._current

    def submit(self, library: str, name: str) -> None:
        """A complete file arrived in `incoming/`; apply it after those before it."""
        arrival = Arrival(library.upper(), name)
        if not waits_for_processing(name) or self.is_busy(arrival.library, name):
            return
        self._waiting.add(arrival)
        self._idle.clear()
        self._queue.put_nowait(arrival)

    async def start(self) -> None:
        """Queue the files a previous run left in `incoming/`, oldest first, and start working."""
        for library, name in await asyncio.to_thread(_unfinished, self.root):
            log.info("re-processing %s/incoming/%s left by the previous run", library, name)
            self.submit(library, name)
        self._worker = asyncio.create_task(self._work(), name="sftp-publishing")

    async def close(self) -> None:
        # A cancelled transaction rolls back; the file stays in incoming/ for the next start.
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def wait_idle(self) -> None:
        """Until every submitted file has been applied (or rejected) and reported."""
        await self._idle.wait()

    async def _work(self) -> None:
        while True:
            arrival = await self._queue.get()
            self._waiting.discard(arrival)
            self._current = arrival
            try:
                await self.apply(arrival)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad file must not stop the inbox; it stays for the next start
                log.exception("applying %s/incoming/%s failed", arrival.library, arrival.name)
            finally:
                self._current = None
                if self._queue.empty():
                    self._idle.set()

    # --- one file --------------------------------------------------------------------------
    async def apply(self, arrival: Arrival) -> None:
        """Read, apply in one transaction, write the report, archive the file."""
        root = self.library_root(arrival.library)
        path = root / INCOMING / arrival.name
        received = await asyncio.to_thread(_received, path)
        if received is None:  # removed or renamed before its turn, or not a plain file
            return
        log.info("processing %s/incoming/%s", arrival.library, arrival.name)
        timer = Timer()
        publishing: PublishingFile | None = None
        error = ""
        outcome = None
        if not is_publishing_file_name(arrival.name):
            error = (
                f"{arrival.name} is not a publishing file: the name must end in "
                ".xml, .xml.gz or .tar.gz"
            )
        else:
            try:
                publishing = await asyncio.to_thread(read_publishing_file, path, arrival.name)
            except MalformedPublishingFileError as exc:
                error = str(exc)
        if publishing is not None:
            log.info(
                "applying %s/incoming/%s: %d records, %d held, %d withdrawn",
                arrival.library,
                arrival.name,
                publishing.records,
                len(publishing.present),
                len(publishing.withdrawn),
            )
            try:
                outcome = await self.catalog.publish_lows(
                    arrival.library,
                    publishing.holdings,
                    publishing.withdrawn_ids,
                    full=publishing.full,
                    max_removal_ratio=DEFAULT_MAX_REMOVAL_RATIO,
                    # one upload = one name + arrival time: a file applied just before a crash
                    # is not applied again on restart, and its report keeps the real counts
                    file_key=f"{arrival.name}@{received.isoformat()}",
                )
            except GatewayError as exc:
                error = str(exc)
        report = publishing_report(
            publishing,
            file_name=arrival.name,
            library=arrival.library,
            outcome=outcome,
            error=error,
            received=received,
        )
        await asyncio.to_thread(
            _file_away,
            root,
            arrival.name,
            report_json(report),
            report_text(report),
            self.max_files,
        )
        counts = ", ".join(f"{name} {n}" for name, n in report["counts"].items())
        log.info("%s/incoming/%s: %s, %s", arrival.library, arrival.name, report["status"], counts)
        if self.journal is not None:
            reason = error or str(report["held_reason"])
            because = f" ({reason})" if reason else ""
            self.journal.record(
                "sftp",
                "apply",
                parameters={
                    "file": arrival.name,
                    "records": publishing.records if publishing is not None else 0,
                    "full": publishing.full if publishing is not None else False,
                },
                outcome=f"{report['status']}: {counts}{because}",
                duration_ms=timer.ms,
                user=arrival.library,
            )


# --- blocking helpers (always run in a worker thread) ---------------------------------


def _make_areas(root: Path) -> Path:
    for area in AREAS:
        (root / area).mkdir(parents=True, exist_ok=True)
    return root.resolve()


def _unfinished(sftp_root: Path) -> list[tuple[str, str]]:
    """(library, name) of complete files still in some `incoming/`, oldest first."""
    found: list[tuple[float, str, str]] = []
    if not sftp_root.is_dir():
        return []
    for library_dir in sftp_root.iterdir():
        incoming = library_dir / INCOMING
        if library_dir.is_symlink() or not incoming.is_dir() or incoming.is_symlink():
            continue
        for entry in os.scandir(incoming):
            if waits_for_processing(entry.name) and entry.is_file(follow_symlinks=False):
                arrived = entry.stat(follow_symlinks=False).st_mtime
                found.append((arrived, library_dir.name, entry.name))
    return [(library, name) for _, library, name in sorted(found)]


def _received(path: Path) -> datetime | None:
    """When the file arrived; None when it is gone or is not a plain file (a planted link)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return datetime.fromtimestamp(info.st_mtime, UTC)


def _file_away(root: Path, name: str, json_report: bytes, text_report: bytes, keep: int) -> None:
    """Write both reports (atomically), then move the file from incoming/ to archive/."""
    base = report_name(name)
    _write_atomically(root / REPORTS / f"{base}.json", json_report)
    _write_atomically(root / REPORTS / f"{base}.txt", text_report)
    target = _free_name(root / ARCHIVE, name)
    os.replace(root / INCOMING / name, target)
    _fsync_dir(root / INCOMING)
    _fsync_dir(root / ARCHIVE)
    _prune_archive(root / ARCHIVE, keep)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_name(directory: Path, name: str) -> Path:
    """`archive/<name>`, or `<name>.1`, `<name>.2`… when a file of that name was archived before."""
    for candidate in _candidates(name):
        path = directory / candidate
        if not os.path.lexists(path):
            return path
    raise AssertionError("unreachable")


def _candidates(name: str) -> Iterator[str]:
    yield name
    n = 1
    while True:
        yield f"{name}.{n}"
        n += 1


def _prune_archive(archive: Path, keep: int) -> None:
    """Keep the newest `keep` archived files; a library's daily uploads must not fill the disk."""
    entries = [e for e in os.scandir(archive) if e.is_file(follow_symlinks=False)]
    if len(entries) <= keep:
        return
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime)
    for entry in entries[: len(entries) - keep]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
