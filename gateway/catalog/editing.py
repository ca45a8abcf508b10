"""A large publication's tail edits in a process of their own.

Applying a LOW-publishing file of 100,000 records, one process spends about half its time
editing tails in Python (`tails.add_low_sid_tails`) and the rest reading and writing the
slices in SQLite; both need the GIL, so they take turns and the second core idles. A helper
process edits each slice as soon as it is read, while this one writes the slice before it:
both cores work (a publication of one slice, or a machine of one core, edits in a thread).
The helper starts with the publication and ends with it: no idle process is kept between
files, and its start (~0.3 s) overlaps the publication's first look-ups (and, when those
could not tell a file of many slices, its first slices, edited in a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Final

from gateway.records import splice, tails
from gateway.store import TailRow

_READY: Final = "ready"
log = logging.getLogger("melinda.publishing")


def spare_core() -> bool:
    """Whether this process may run on more than one core."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) > 1


def serve(conn: Connection) -> None:
    """The helper process: edit each slice that comes down the pipe, until None or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the gateway's to handle
    conn.send(_READY)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the publishing process is gone
            return
        if request is None:
            return
        forms, local_ids, code, sid_code, stamp = request
        conn.send(
            tails.add_low_sid_tails(forms, local_ids, code=code, sid_code=sid_code, stamp=stamp)
        )


class Helper:
    """The helper process and this side of its pipe; one slice in it at a time."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()  # its end only: EOF here when it is gone
        self._lock = threading.Lock()
        self._ready = False
        self.broken = False

    def ready(self) -> bool:
        """Whether it is up (waits only for a slice it is editing)."""
        with self._lock:
            if not self._ready and not self.broken:
                try:
                    if self._conn.poll():
                        self._ready = self._conn.recv() == _READY
                except (EOFError, OSError):
                    self.broken = True
            return self._ready and not self.broken

    def wait_ready(self, seconds: float) -> bool:
        """Wait until it is up (blocks); False if it is not in `seconds`."""
        with self._lock:
            try:
                if not self._ready and self._conn.poll(seconds):
                    self._ready = self._conn.recv() == _READY
            except (EOFError, OSError):
                self.broken = True
        return self.ready()

    def edit(self, request: tuple[Any, ...]) -> list[tails.TailEdit | None] | None:
        """The helper's edits (blocks: run in a thread); None when it is gone."""
        with self._lock:
            try:
                self._conn.send(request)
                edited: list[tails.TailEdit | None] = self._conn.recv()
            except (EOFError, OSError):
                self.broken = True
                return None
            return edited

    def stop(self) -> None:
        """Let it end (or end it) and wait for it (blocks)."""
        if not self.ready():  # still starting, given nothing: no need to wait for its imports
            self.process.kill()
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._conn.close()


class TailEditor:
    """Edits a publication's tails: in the helper process once it is up, else in a thread."""

    def __init__(self) -> None:
        self.helper: Helper | None = None
        self.in_process = 0  # slices edited in the helper (what the tests look at)
        self.slices = 0

    async def start_helper(self, *, wait: bool = False) -> None:
        """Start the helper process, once (with `wait`, until it is up: every slice after
        this is edited there); slices go to it once it is up."""
        if self.helper is None:
            self.helper = await asyncio.to_thread(Helper)  # starting a process writes to pipes
        if wait:
            await asyncio.to_thread(self.helper.wait_ready, 60.0)

    async def add_low_sid_tails(
        self,
        forms: Sequence[tails.TailForms],
        local_ids: Sequence[str | None],
        *,
        code: str,
        sid_code: str,
        stamp: splice.SaveStamp,
    ) -> list[tails.TailEdit | None]:
        self.slices += 1
        helper = self.helper
        if helper is not None and await asyncio.to_thread(helper.ready):
            request = (list(forms), list(local_ids), code, sid_code, stamp)
            edited = await asyncio.to_thread(helper.edit, request)
            if edited is not None:
                self.in_process += 1
                return edited
            # the helper died (killed): this slice and the rest in a thread
        return await asyncio.to_thread(
            functools.partial(
                tails.add_low_sid_tails,
                forms,
                local_ids,
                code=code,
                sid_code=sid_code,
                stamp=stamp,
            )
        )


@contextlib.asynccontextmanager
async def tail_editor() -> AsyncIterator[TailEditor]:
    """A `TailEditor` for one publication, editing in a thread until its helper process is
    started (`TailEditor.start_helper`) and up; the helper ends with the publication."""
    editor = TailEditor()
    try:
        yield editor
    finally:
        started = editor.helper
        if started is not None:
            await asyncio.to_thread(started.stop)
            log.info(
                "tails of %d of %d slices edited in a helper process%s",
                editor.in_process,
                editor.slices,
                " (it died: the rest in a thread)" if started.broken else "",
            )


def tail_forms(
    tail_rows: dict[int, TailRow], part: Sequence[tuple[int, str | None, bool]]
) -> tuple[dict[int, tails.TailEdit | None], list[int], list[tails.TailForms], list[str | None]]:
    """Which of a slice's LOW additions are made on records' tails (`records.tails`): those
    declined at once (None: forms to make anew, or none to make: the whole row's way), and
    the ids, forms and local ids of the others."""
    declined: dict[int, tails.TailEdit | None] = {}
    ids: list[int] = []
    forms: list[tails.TailForms] = []
    local_ids: list[str | None] = []
    for rid, local_id, add in part:
        row = tail_rows.get(rid)
        if not add or row is None or row.tail is None:
            continue
        if row.iso_tail is None or row.oai_sets is None:
            declined[rid] = None
            continue
        ids.append(rid)
        forms.append((row.tail, row.iso_tail, row.oai_sets))
        local_ids.append(local_id)
    return declined, ids, forms, local_ids


async def edit_tails(
    editor: TailEditor,
    tail_rows: dict[int, TailRow],
    part: Sequence[tuple[int, str | None, bool]],
    code: str,
    sid_code: str,
    stamp: splice.SaveStamp | None,
) -> dict[int, tails.TailEdit | None]:
    """The LOW additions of a slice made on records' tails, None for those the tail splice
    declines (their whole rows take the full way)."""
    if stamp is None:
        return {}
    edited, ids, forms, local_ids = tail_forms(tail_rows, part)
    if forms:
        made = await editor.add_low_sid_tails(
            forms, local_ids, code=code, sid_code=sid_code, stamp=stamp
        )
        edited.update(zip(ids, made, strict=True))
    return edited
