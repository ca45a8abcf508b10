"""The journal and the injected faults of `serve --workers N`, kept in step across the workers
through their shared state: each worker hands its new journal entries on and picks up fault
rules another worker's admin API changed, every SYNC_SECONDS and whenever the admin API reads.

Faults set through one worker reach the others within SYNC_SECONDS; a counted rule (`count`)
counts per worker. The last worker to change the rules sets them for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import fields
from typing import Final

from gateway.emulator.faults import Fault, Faults
from gateway.emulator.journal import Entry, Journal
from gateway.emulator.shared import SharedStore

log = logging.getLogger("melinda.workers")

SYNC_SECONDS: Final = 0.25
TRIM_EVERY: Final = 8  # hand-ons between trims of the shared journal (readers cut it anyway)
FAULTS_KEY: Final = "faults"
FAULTS_VERSION: Final = "faults-version"
_FOREVER: Final = 10.0 * 365 * 86400
_FAULT_FIELDS: Final = frozenset(f.name for f in fields(Fault))
# An entry handed on is the list of its fields in this order (the number is given on reading):
# one json.dumps of a batch of lists and one insert cost a third of a dict and a row an entry.
_HANDED_ON: Final = tuple(f.name for f in fields(Entry) if f.name != "number")


class WorkerSync:
    """One worker's side of the shared journal and fault rules."""

    def __init__(self, shared: SharedStore, journal: Journal, faults: Faults, worker: int) -> None:
        self.shared = shared
        self.journal = journal
        self.faults = faults
        self.worker = worker
        self._sent = 0  # the number of the last local journal entry handed on
        self._hand_ons = 0
        self._faults_version = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="worker-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # the last entries, if the state is still open
            await self.flush_journal()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                await self.flush_journal()
                await self.pull_faults()
            except Exception:  # a busy shared file must not end the worker's syncing
                log.exception("worker %d: syncing the journal and faults failed", self.worker)

    # --- journal ---------------------------------------------------------------------------
    async def flush_journal(self) -> None:
        async with self._lock:
            fresh = self.journal.after(self._sent)
            if not fresh:
                return
            batch = json.dumps(
                {
                    "worker": self.worker,
                    "entries": [[getattr(e, name) for name in _HANDED_ON] for e in fresh],
                }
            )
            self._hand_ons += 1
            await self.shared.append_journal(
                batch,
                len(fresh),
                keep=self.journal.size,
                trim=self._hand_ons % TRIM_EVERY == 1,
            )
            self._sent = fresh[-1].number

    async def whole_journal(self) -> Journal:
        """Every worker's entries, in the order they were handed on, numbered in that order."""
        await self.flush_journal()
        merged = Journal(self.journal.size)  # a ring: the newest `size` entries stay
        number = 0
        for batch in await self.shared.journal():
            for values in json.loads(batch)["entries"]:
                number += 1
                merged.adopt(Entry(number, **dict(zip(_HANDED_ON, values, strict=True))))
        return merged

    async def clear_journal(self) -> None:
        async with self._lock:
            self._sent = max((e.number for e in self.journal.entries()), default=self._sent)
            self.journal.clear()
            await self.shared.clear_journal()

    # --- faults ----------------------------------------------------------------------------
    async def publish_faults(self) -> None:
        """After this worker's admin API changed the rules: they become every worker's."""
        rules = json.dumps([f.as_json() for f in self.faults.rules()]).encode()
        await self.shared.put("emulator", FAULTS_KEY, rules, ttl=_FOREVER)
        self._faults_version = await self.shared.next_number(FAULTS_VERSION, wrap=2**62)

    async def pull_faults(self) -> None:
        version = await self.shared.counter(FAULTS_VERSION)
        if version == self._faults_version:
            return
        value = await self.shared.get("emulator", FAULTS_KEY)
        rules = json.loads(value) if value else []
        self.faults.replace(
            [Fault(**{k: v for k, v in rule.items() if k in _FAULT_FIELDS}) for rule in rules]
        )
        self._faults_version = version
