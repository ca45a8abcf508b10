"""A harvest run: pages from the source, each record transformed and matched, each page saved with the run's progress."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
import pymarc

from gateway import matching, records, rules
from gateway.catalog import Catalog, HarvestedRef, ImportOp, ImportOutcome
from gateway.errors import GatewayError
from gateway.harvesting.oai import OaiClient, OaiError, Page, Politeness, SourceError
from gateway.harvesting.transform import TransformError, transform
from gateway.matching import reducers, validation
from gateway.model import Library, User

log = logging.getLogger("melinda.harvesting")

COUNTS: Final = (
    "pages",
    "seen",
    "created",
    "merged",
    "updated",
    "unchanged",
    "low_removed",
    "deleted_unknown",
    "rejected",
)
REJECTIONS_KEPT: Final = 200  # the report lists the first rejections; the count has them all
MATCH_CONCURRENCY: Final = 4  # candidate searches of a page in flight at once (readers: 3)
UNFINISHED: Final = ("running", "stopped", "failed")


class HarvestBusyError(GatewayError):
    """This harvest is already running."""


@dataclass(frozen=True, slots=True)
class HarvestSpec:
    """What to harvest: the source, the format, the selection and the joining library."""

    url: str
    library: str
    metadata_prefix: str = "marc21"
    set: str | None = None
    from_: str | None = None
    until: str | None = None

    def key(self) -> tuple[str, str, str, str]:
        return (self.library.upper(), self.url, self.metadata_prefix, self.set or "")


def _key_of(run: dict[str, Any]) -> tuple[str, str, str, str]:
    return (run["library"], run["url"], run["metadata_prefix"], run["set"] or "")


def import_user(library: Library) -> User:
    """The import user a harvest saves as: `IMP_<CODE>`, owning the library's LOWs."""
    code = library.code.upper()
    return User(f"IMP_{code}", code, library.level, frozenset({code, *library.lows}))


async def prepare_run(
    catalog: Catalog, spec: HarvestSpec, *, now: float | None = None
) -> dict[str, Any]:
    """The run to do: an unfinished run of the same harvest resumed, else a new one starting
    from the last datestamp the previous run saw (or `spec.from_`). Raises
    LibraryNotFoundError for an unknown library."""
    library = await catalog.library(spec.library)
    previous = next((r for r in await catalog.harvest_runs(1000) if _key_of(r) == spec.key()), None)
    started = time.time() if now is None else now
    if previous is not None and previous["state"] in UNFINISHED and spec.from_ is None:
        previous["state"] = "running"
        previous["resumed"] = previous.get("resumed", 0) + 1
        await catalog.save_harvest(previous)
        return previous
    from_ = spec.from_
    if from_ is None and previous is not None:
        from_ = previous.get("last_datestamp") or previous.get("from")
    run: dict[str, Any] = {
        "id": 0,
        "library": library.code,
        "url": spec.url,
        "metadata_prefix": spec.metadata_prefix,
        "set": spec.set,
        "from": from_,
        "until": spec.until,
        "state": "running",
        "token": None,
        "last_datestamp": None,
        "started": datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": None,
        "seconds": 0.0,
        "counts": dict.fromkeys(COUNTS, 0),
        "rejections": [],
        "token_fallbacks": 0,
        "retries": 0,
        "resumed": 0,
        "error": None,
    }
    await catalog.begin_harvest(run)
    return run


def report(run: dict[str, Any]) -> dict[str, Any]:
    """The run as its report: the counts, duration and records per second beside the state."""
    seconds = float(run.get("seconds") or 0.0)
    seen = int(run["counts"]["seen"])
    return {**run, "records_per_second": round(seen / seconds, 1) if seconds > 0 else None}


def digest(item_record: pymarc.Record) -> str:
    """The source record's fingerprint: equal means nothing to apply again."""
    return hashlib.sha1(records.record_to_marcxml(item_record), usedforsecurity=False).hexdigest()


class Harvester:
    """Runs one harvest run to its end, a stop request or a failure; resumable from the store."""

    def __init__(
        self,
        catalog: Catalog,
        run: dict[str, Any],
        *,
        session: aiohttp.ClientSession | None = None,
        politeness: Politeness | None = None,
        on_page: Callable[[dict[str, Any]], None] | None = None,
        today: Callable[[], datetime] | None = None,
    ) -> None:
        self.catalog = catalog
        self.run = run
        self._session = session
        self.politeness = politeness or Politeness()
        self.on_page = on_page
        self.stopping = asyncio.Event()
        self._today = today or (lambda: datetime.now(UTC))

    def stop(self) -> None:
        """Ask the run to stop after the page in hand (it stays resumable)."""
        self.stopping.set()

    async def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless a stop comes first (then False)."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def __call__(self) -> dict[str, Any]:
        session = self._session or aiohttp.ClientSession()
        try:
            return await self._harvest(session)
        finally:
            if self._session is None:
                await session.close()

    def _params(self) -> dict[str, str]:
        run = self.run
        if run["token"]:
            return {"verb": "ListRecords", "resumptionToken": run["token"]}
        params = {"verb": "ListRecords", "metadataPrefix": run["metadata_prefix"]}
        for name, key in (("set", "set"), ("from", "from"), ("until", "until")):
            if run.get(key):
                params[name] = str(run[key])
        return params

    async def _harvest(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        run = self.run
        library = await self.catalog.library(run["library"])
        user = import_user(library)
        client = OaiClient(session, run["url"], politeness=self.politeness, wait=self._wait)
        began = time.monotonic()
        base_seconds = float(run["seconds"])
        log.info("harvest %s of %s from %s", run["id"], library.code, run["url"])
        try:
            while True:
                if self.stopping.is_set():
                    run["state"] = "stopped"
                    break
                try:
                    page = await client.list_records(self._params(), run["counts"]["seen"] + 1)
                except OaiError as exc:
                    if exc.code == "badResumptionToken" and run["token"]:
                        # An expired token: the list again from the last datestamp seen.
                        run["token"] = None
                        run["from"] = run["last_datestamp"] or run["from"]
                        run["token_fallbacks"] += 1
                        log.warning("harvest %s: %s; again from %s", run["id"], exc, run["from"])
                        continue
                    if exc.code != "noRecordsMatch":
                        raise SourceError(str(exc)) from exc
                    page = Page()
                run["retries"] = client.retries_used
                await self._apply(page, library, user, began, base_seconds)
                if self.on_page is not None:
                    self.on_page(report(run))
                if page.token is None:
                    run["state"] = "done"
                    break
        except asyncio.CancelledError:
            run["state"] = "stopped"
        except (SourceError, GatewayError) as exc:
            run["state"] = "failed"
            run["error"] = str(exc)
            log.error("harvest %s failed: %s", run["id"], exc)
        run["seconds"] = round(base_seconds + time.monotonic() - began, 3)
        if run["state"] == "done":
            run["finished"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            run["token"] = None
        await self.catalog.save_harvest(run)
        return report(run)

    def _reject(self, position: str, identifier: str, reason: str) -> None:
        self.run["counts"]["rejected"] += 1
        if len(self.run["rejections"]) < REJECTIONS_KEPT:
            self.run["rejections"].append(
                {"position": position, "identifier": identifier, "reason": reason}
            )

    async def _apply(
        self, page: Page, library: Library, user: User, began: float, base_seconds: float
    ) -> None:
        """Plan the page's ops, then save them and the progress in one transaction."""
        run = self.run
        ids = [item.identifier for item in page.items if item.identifier]
        known = await self.catalog.harvested(library.code, ids) if ids else {}
        today = self._today().date()
        semaphore = asyncio.Semaphore(MATCH_CONCURRENCY)
        rejections: list[tuple[str, str, str]] = []
        unknown_deletions = 0
        unchanged = 0

        async def plan(index: int) -> ImportOp | None:
            nonlocal unknown_deletions, unchanged
            item = page.items[index]
            ref = known.get(item.identifier)
            if item.error is not None or (item.record is None and not item.deleted):
                rejections.append((item.position, item.identifier, item.error or "no record"))
                return None
            if item.deleted or (item.record is not None and str(item.record.leader)[5:6] == "d"):
                # A deleted header, or a record the library's system marks deleted (Leader/05).
                if ref is None:
                    unknown_deletions += 1
                    return None
                return ImportOp(
                    item.identifier, "", "remove", ref.record_id, change=_withdraw(library)
                )
            assert item.record is not None
            fingerprint = digest(item.record)
            if ref is not None and ref.digest == fingerprint:
                unchanged += 1
                return None
            try:
                incoming = transform(item.record, library, today)
            except TransformError as exc:
                rejections.append((item.position, item.identifier, str(exc)))
                return None
            errors = [p for p in rules.validate(incoming, is_new=ref is None) if p.is_error]
            if errors:
                reason = "; ".join(str(p) for p in errors)
                rejections.append((item.position, item.identifier, f"invalid: {reason}"))
                return None
            if ref is not None:
                return _update(item.identifier, fingerprint, ref, incoming, library)
            async with semaphore:
                return await self._match_or_create(item.identifier, fingerprint, incoming, library)

        planned = await asyncio.gather(*(plan(i) for i in range(len(page.items))))
        ops = [op for op in planned if op is not None]

        def progress(outcomes: list[ImportOutcome]) -> dict[str, Any]:
            counts = run["counts"]
            counts["pages"] += 1
            counts["seen"] += len(page.items)
            counts["unchanged"] += unchanged
            counts["deleted_unknown"] += unknown_deletions
            for position, identifier, reason in rejections:
                self._reject(position, identifier, reason)
            for outcome in outcomes:
                if outcome.error is not None:
                    self._reject(outcome.identifier, outcome.identifier, outcome.error)
                elif outcome.kind == "create":
                    counts["created"] += 1
                elif outcome.kind == "merge":
                    counts["merged"] += 1
                elif not outcome.changed:
                    counts["unchanged"] += 1
                elif outcome.kind == "update":
                    counts["updated"] += 1
                else:
                    counts["low_removed"] += 1
            stamps = [i.datestamp for i in page.items if i.datestamp]
            if stamps:
                run["last_datestamp"] = max([*stamps, run["last_datestamp"] or ""])
            run["token"] = page.token
            run["seconds"] = round(base_seconds + time.monotonic() - began, 3)
            return run

        await self.catalog.import_page(library.code, ops, user, progress)

    async def _match_or_create(
        self, identifier: str, fingerprint: str, incoming: pymarc.Record, library: Library
    ) -> ImportOp:
        """Melinda's record matching: the first acceptable match gains the record; none, create."""
        own = (library.sid_code.lower(), local_id_of(incoming, library))
        for candidate in await matching.find_matches(self.catalog, incoming):
            stored = (await self.catalog.get(candidate.id)).record()
            stored_sids = {(c.strip(), b.strip().lower()) for c, b in records.sids(stored)}
            if (own[1], own[0]) in stored_sids:
                # The record already carries this local id: the same record again.
                return ImportOp(
                    identifier,
                    fingerprint,
                    "update",
                    candidate.id,
                    change=_merge_into(incoming),
                    how="merged",
                )
            if records.has_low(stored, library.code):
                continue  # another of the library's own records: Melinda keeps them apart
            try:
                validation.check_record_pair(stored, incoming, internal=False)
            except validation.MergeRefusedError:
                continue
            return ImportOp(
                identifier,
                fingerprint,
                "merge",
                candidate.id,
                change=_merge_into(incoming),
                how="merged",
            )
        return ImportOp(identifier, fingerprint, "create", record=incoming)


def local_id_of(incoming: pymarc.Record, library: Library) -> str:
    """The library's local id in a transformed record (its SID $c)."""
    for c, b in records.sids(incoming):
        if b.strip().lower() == library.sid_code.lower():
            return c.strip()
    return ""


def _merge_into(incoming: pymarc.Record) -> Callable[[pymarc.Record], pymarc.Record]:
    def change(stored: pymarc.Record) -> pymarc.Record:
        validation.check_record_pair(stored, incoming, internal=False)
        return reducers.merge_fields(stored, incoming, None)

    return change


def _withdraw(library: Library) -> Callable[[pymarc.Record], pymarc.Record]:
    def change(stored: pymarc.Record) -> pymarc.Record:
        return rules.withdraw_title(stored, library.code, sid_code=library.sid_code)

    return change


def _update(
    identifier: str, fingerprint: str, ref: HarvestedRef, incoming: pymarc.Record, library: Library
) -> ImportOp:
    """A record harvested before, changed at the source: a record the harvest created takes
    the new version (what other libraries added stays, as the protection merge keeps it);
    one merged into Melinda's record gains what the new version brings."""
    if ref.how == "merged":
        return ImportOp(
            identifier,
            fingerprint,
            "update",
            ref.record_id,
            change=_merge_into(incoming),
            how="merged",
        )

    def change(stored: pymarc.Record) -> pymarc.Record:
        return rules.protection_merge(
            stored,
            incoming,
            library=library.code,
            owned_lows={library.code, *library.lows},
            sid_code=library.sid_code,
        )

    return ImportOp(identifier, fingerprint, "update", ref.record_id, change=change, how="created")


async def run_harvest(
    catalog: Catalog,
    spec: HarvestSpec,
    *,
    session: aiohttp.ClientSession | None = None,
    politeness: Politeness | None = None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Prepare (resume or start) the harvest `spec` and run it; returns its report."""
    run = await prepare_run(catalog, spec)
    harvester = Harvester(catalog, run, session=session, politeness=politeness, on_page=on_page)
    return await harvester()
