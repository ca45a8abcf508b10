"""The `melinda-gateway` command: serve, load, export, library, reset, match, merge, harvest.

Exit codes: 0 success, 1 the work failed (or some records were rejected), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import pymarc

from gateway.catalog import Catalog
from gateway.emulator import logs, loops
from gateway.emulator.settings import ENV_PREFIX, Settings, SettingsError
from gateway.errors import GatewayError, MalformedRecordError
from gateway.loading import Message, PreparedRecord, read_batches, send_batches, shareable
from gateway.model import View
from gateway.records import parse_marcxml

log = logging.getLogger("melinda.cli")

LOAD_BATCH = 2000
GC_BATCHES = 8  # load batches between the cycle collector's runs


class CliError(Exception):
    """A failure to report on stderr with exit code 1."""


class NoStoreError(Exception):
    """A verb that only reads or changes an existing store, given a data dir without one: exit 2."""


def _add_store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (see examples/)")
    parser.add_argument(
        "--data-dir", metavar="DIR", help=setting_help("data_dir", "where the store lives")
    )
    parser.add_argument(
        "--store-url",
        metavar="URL",
        help=setting_help("store_url", "sqlite:///path or postgresql://user@host:port/db"),
    )


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return number


BASES = ("fin01", "fin11")  # the bibliographic base and Asteri's name authorities


def asteri_ids_of(records: Sequence[pymarc.Record]) -> list[int]:
    """The Asteri numbers loaded authorities carry in 001."""
    found = []
    for record in records:
        fields = record.get_fields("001")
        data = (fields[0].data or "").strip() if fields else ""
        if data.isdigit() and int(data) > 0:
            found.append(int(data))
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="melinda-gateway",
        description="A local stand-in for Melinda: SRU, Z39.50, X-server, OAI-PMH and SFTP over one store.",
        epilog=settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def add_verb(name: str, help_text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=settings_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    serve = add_verb("serve", "run the gateway (loads the demo data into an empty store)")
    _add_store_args(serve)
    serve.add_argument("--host", help=setting_help("host", "address to bind"))
    serve.add_argument(
        "--http-port",
        type=int,
        metavar="P",
        help=setting_help("http_port", "SRU, X-server, OAI-PMH, admin"),
    )
    serve.add_argument(
        "--z3950-port", type=int, metavar="P", help=setting_help("z3950_port", "Z39.50")
    )
    serve.add_argument(
        "--sftp-port", type=int, metavar="P", help=setting_help("sftp_port", "SFTP LOW publishing")
    )
    serve.add_argument(
        "--no-demo",
        action="store_true",
        help=setting_help("demo", "do not load the demo data (sets demo = false)"),
    )
    serve.add_argument(
        "--demo-keys-dir",
        metavar="DIR",
        help=setting_help("demo_keys_dir", "the demo libraries' SSH keys (scripts/serve: certs/)"),
    )
    serve.add_argument(
        "--workers",
        metavar="N",
        help=setting_help(
            "workers", "worker processes over one store: a number or auto (one per core)"
        ),
    )

    load = add_verb("load", "load MARCXML, ISO 2709 or Aleph sequential files (.gz too)")
    _add_store_args(load)
    load.add_argument("files", nargs="+", metavar="FILE")
    load.add_argument(
        "--base", choices=BASES, default="fin01", help="fin01 (bibliographic) or fin11 (Asteri)"
    )
    load.add_argument(
        "--processes",
        type=_positive,
        metavar="N",
        help="processes preparing records (default: one per core but the writing one, 1 to 8)",
    )

    export = add_verb("export", "write every record out, streaming")
    _add_store_args(export)
    export.add_argument(
        "--format",
        choices=("marcxml", "iso2709", "alephseq"),
        default="marcxml",
        help="default: %(default)s",
    )
    export.add_argument(
        "--view", choices=("fin01", "fin01alma"), default="fin01", help="default: %(default)s"
    )
    export.add_argument(
        "--base", choices=BASES, default="fin01", help="fin11: Asteri's authorities (no views)"
    )
    export.add_argument("--output", metavar="FILE", help="default: standard output")

    library = add_verb("library", "manage libraries, their staff users, LOWs and keys")
    library_verbs = library.add_subparsers(dest="library_verb", required=True, metavar="ACTION")

    def add_library_verb(name: str, help_text: str) -> argparse.ArgumentParser:
        return library_verbs.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=settings_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    add = add_library_verb("add", "add or update a library")
    _add_store_args(add)
    add.add_argument("code", help="library code, also the staff user name (e.g. HELKA)")
    add.add_argument("--password", help="the staff user's password (X-server, Basic auth)")
    add.add_argument(
        "--ssh-key", action="append", default=[], metavar="FILE.pub", help="SFTP public key"
    )
    add.add_argument("--sid-code", help="the library's SID $b code (default: code in lower case)")
    add.add_argument(
        "--low", action="append", default=[], metavar="CODE", help="an OWN LOW code (repeatable)"
    )
    add.add_argument("--name", default="", help="the library's name")
    add.add_argument("--level", type=int, default=30, help="cataloguing level (default 30)")
    add.add_argument(
        "--privileged", action="store_true", help="may see CAT over OAI-PMH, touch any LOW"
    )
    listing = add_library_verb("list", "list libraries")
    _add_store_args(listing)
    remove = add_library_verb("remove", "remove a library")
    _add_store_args(remove)
    remove.add_argument("code")

    match = add_verb("match", "Melinda's record matching: each record's candidates in the store")
    _add_store_args(match)
    match.add_argument("file", metavar="FILE", help="MARCXML, ISO 2709 or Aleph sequential")

    merge = add_verb("merge", "merge record OTHER into PREFERRED (the Merge program)")
    _add_store_args(merge)
    merge.add_argument("preferred", type=int, help="the Melinda ID of the record kept")
    merge.add_argument("other", type=int, help="the Melinda ID of the record merged away")
    merge.add_argument("--user", required=True, metavar="CODE", help="the library user merging")

    harvest = add_verb(
        "harvest", "harvest a joining library's records over OAI-PMH into the store"
    )
    _add_store_args(harvest)
    harvest.add_argument("--url", required=True, help="the library's OAI-PMH base URL")
    harvest.add_argument("--library", required=True, metavar="CODE", help="the joining library")
    harvest.add_argument("--set", metavar="S", help="an OAI-PMH set")
    harvest.add_argument("--from", dest="from_", metavar="DATE", help="from this datestamp")
    harvest.add_argument("--until", metavar="DATE", help="until this datestamp")
    harvest.add_argument(
        "--metadata-prefix", default="marc21", metavar="P", help="marc21 (default) or marcxml"
    )

    check_links = add_verb("check-links", "report bib headings whose $0 names no Asteri authority")
    _add_store_args(check_links)

    copy = add_verb(
        "copy-store", "copy a whole catalog into an empty store (SQLite <-> PostgreSQL)"
    )
    copy.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="sqlite:///path or postgresql://..."
    )
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="an empty store")

    reset = add_verb("reset", "empty the store (libraries stay)")
    _add_store_args(reset)
    reset.add_argument("--yes", action="store_true", help="do not ask")
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("melinda-gateway")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _shown(name: str, value: Any) -> str:
    """A setting's default as it would be written in the TOML file."""
    if name == "data_dir":
        return "$XDG_DATA_HOME/melinda-gateway"
    if name == "secret":
        return "(generated into the data dir)"
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def setting_help(name: str, text: str) -> str:
    """A flag's help: what it does, the setting's default and its environment variable."""
    shown = _shown(name, getattr(Settings(), name))
    return f"{text} (setting {name}, default {shown}; env {ENV_PREFIX}{name.upper()})".replace(
        "%", "%%"
    )


def settings_epilog() -> str:
    """Every setting with its default and environment variable, for the end of --help."""
    lines = [
        "settings (defaults < TOML file via --config < environment < flags):",
        f"  {'name':26} {'default':36} environment variable",
    ]
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        shown = _shown(f.name, getattr(defaults, f.name))
        lines.append(f"  {f.name:26} {shown:36} {ENV_PREFIX}{f.name.upper()}")
    lines.append("With shared = true, demo is false unless set explicitly.")
    return "\n".join(lines).replace("%", "%%")


def settings_from(args: argparse.Namespace) -> Settings:
    flags: dict[str, Any] = {
        "data_dir": getattr(args, "data_dir", None),
        "store_url": getattr(args, "store_url", None),
    }
    if args.verb == "serve":
        flags.update(
            host=args.host,
            http_port=args.http_port,
            z3950_port=args.z3950_port,
            sftp_port=args.sftp_port,
            demo_keys_dir=args.demo_keys_dir,
        )
        if args.workers is not None:
            from gateway.emulator.workers import resolve_workers

            try:
                flags["workers"] = resolve_workers(args.workers)
            except ValueError as exc:
                raise SettingsError(f"--workers: {args.workers!r} is not a number or auto") from exc
        if args.no_demo:
            flags["demo"] = False
    return Settings.load(getattr(args, "config", None), flags=flags)


@contextlib.asynccontextmanager
async def open_catalog(settings: Settings, *, create: bool = True) -> AsyncIterator[Catalog]:
    """The catalog over the data dir's store; `create=False`: NoStoreError when there is none
    (a mistyped --data-dir must not quietly become an empty store)."""
    if (
        not create
        and settings.store_is_file
        and not await asyncio.to_thread(settings.store_file.is_file)
    ):
        where = settings.data_dir if not settings.store_url else settings.store_file
        raise NoStoreError(f"no store at {where}")
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    catalog = await Catalog.open(settings.store)
    try:
        yield catalog
    finally:
        await catalog.close()


# --- serve -----------------------------------------------------------------------------
async def serve(settings: Settings) -> int:
    from gateway.emulator.app import create_gateway
    from gateway.emulator.demo import DEMO_LIBRARIES, load_demo
    from gateway.emulator.host import ListenError
    from gateway.emulator.startup import listen_failure, renew_demo_keys, store_line

    if settings.workers > 1:
        return await serve_workers(settings)
    gateway = await create_gateway(settings)
    # listen first: a taken port ends the run at once, before any demo data is loaded
    try:
        await gateway.start()
    except ListenError as exc:  # start() closed the store and every listener it had opened
        raise CliError(listen_failure(exc)) from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        live, deleted = await gateway.catalog.record_counts()
        if settings.demo:
            keys = Path(settings.demo_keys_dir) if settings.demo_keys_dir else None
            renewed = await renew_demo_keys(gateway.catalog, keys) if keys is not None else []
            if live + deleted == 0:
                count = await load_demo(
                    gateway.catalog,
                    count=settings.demo_count,
                    seed=settings.demo_seed,
                    keys_dir=keys,
                )
                print(
                    f"Loaded the demo data: {count} records, libraries "
                    + ", ".join(lib.code for lib in DEMO_LIBRARIES),
                    flush=True,
                )
                live, deleted = await gateway.catalog.record_counts()
            elif renewed:
                print(
                    f"Made the demo SSH keys missing from {keys} again and registered them: "
                    + ", ".join(renewed),
                    flush=True,
                )
        elif settings.shared:
            print(
                "Shared mode: no demo libraries or demo passwords loaded "
                "(set demo = true explicitly to load them).",
                flush=True,
            )
        print(store_line(settings, live, deleted), flush=True)
        print("Melinda gateway is running:", flush=True)
        for name, url in gateway.urls().items():
            print(f"  {name:14} {url}")
        if settings.host in ("0.0.0.0", "::", ""):
            print(f"  (listening on every interface: host {settings.host or '0.0.0.0'})")
        if settings.demo:
            print(
                "Demo libraries (user / password): "
                + ", ".join(f"{lib.code} / {lib.password}" for lib in DEMO_LIBRARIES)
            )
            if settings.shared:
                print("Shared mode with the demo data: its passwords are public.")
        print("Stop with Ctrl-C.", flush=True)
        loops.settle_heap()
        await stop.wait()
        # through the log writer: by now nobody may read stdout, and a print into a full pipe
        # would stop this process before it closes the store
        log.info("Stopping: finishing requests in flight, closing the store.")
    finally:
        await gateway.stop()
    return 0


async def serve_workers(settings: Settings) -> int:
    """The supervisor of `serve --workers N` (workers.py): listen first, then the demo data
    (migrations run here, once), then the workers."""
    from gateway.emulator.demo import DEMO_LIBRARIES, load_demo
    from gateway.emulator.host import interface_urls
    from gateway.emulator.startup import renew_demo_keys, store_line
    from gateway.emulator.workers import Supervisor

    supervisor = Supervisor(settings, settings.workers)
    try:
        supervisor.bind()
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.host}: {exc}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_catalog(settings) as catalog:
            live, deleted = await catalog.record_counts()
            if settings.demo:
                keys = Path(settings.demo_keys_dir) if settings.demo_keys_dir else None
                if keys is not None:
                    await renew_demo_keys(catalog, keys)
                if live + deleted == 0:
                    count = await load_demo(
                        catalog, count=settings.demo_count, seed=settings.demo_seed, keys_dir=keys
                    )
                    print(
                        f"Loaded the demo data: {count} records, libraries "
                        + ", ".join(lib.code for lib in DEMO_LIBRARIES),
                        flush=True,
                    )
                    live, deleted = await catalog.record_counts()
        print(store_line(settings, live, deleted), flush=True)
        try:
            await supervisor.start()
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
        print(f"Melinda gateway is running ({settings.workers} worker processes):", flush=True)
        for name, url in interface_urls(settings.host, supervisor.ports).items():
            print(f"  {name:14} {url}")
        if settings.demo:
            print(
                "Demo libraries (user / password): "
                + ", ".join(f"{lib.code} / {lib.password}" for lib in DEMO_LIBRARIES)
            )
        print("Stop with Ctrl-C.", flush=True)
        await supervisor.watch(stop)
        # through the log writer: by now nobody may read stdout, and a print into a full pipe
        # would stop the supervisor before it stops its workers
        log.info("Stopping: the workers finish requests in flight and close the store.")
    finally:
        await supervisor.stop()
    return 0


# --- load ------------------------------------------------------------------------------
# Files at least this big are read and prepared in a child process while this one writes
# the store (two cores busy); smaller ones are not worth starting a process for.
CHILD_READER_BYTES = 4 << 20


async def load(
    settings: Settings,
    files: Sequence[str],
    *,
    child: bool | None = None,
    base: str = "fin01",
    processes: int | None = None,
    batch_size: int = LOAD_BATCH,
) -> int:
    """Load files batch by batch, each batch one transaction reported once committed.

    `child` forces the child-process readers on or off (default: by the files' size);
    `processes` is how many (default: `load_processes()`) when the files are in the store's
    MARCXML form, which several processes share (any other form: one).
    `base` fin11 loads Asteri's authorities; the bib records linked to them then show their
    dates in fin01alma.
    """
    authorities = base == "fin11"
    if authorities:
        child = False  # the child prepares bibliographic records only
    loaded_authorities: set[int] = set()
    loaded = updated = 0
    replaced_first: list[int] = []  # the first ids that replaced a stored record, to name them
    rejected: list[tuple[str, str]] = []
    progress = _progress()
    if child is None:
        child = await asyncio.to_thread(_total_size, files) >= CHILD_READER_BYTES
    # starting a process writes to pipes: not on the event loop
    source: _BatchSource = (
        await asyncio.to_thread(_start_readers, files, processes, batch_size)
        if child
        else _ThreadReader(files, batch_size)
    )
    upcoming: asyncio.Future[Message] | None = None
    # The batches received are acyclic, freed by reference counting; the cycle collector
    # would walk each one several times over (one measured run: 0.30 ms of this process's
    # CPU a record with it, 0.21 without), so it runs between batches only, and then only
    # every GC_BATCHES: each run still walks the batch in flight (50–100 ms for 2,000
    # records, measured, finding no cycle to free)
    collecting = gc.isenabled()
    gc.disable()
    batches = 0
    try:
        async with open_catalog(settings) as catalog:
            upcoming = asyncio.ensure_future(source.next())
            while True:
                if batches % GC_BATCHES == 0:
                    gc.collect(0)
                batches += 1
                message = await upcoming
                if message is None:
                    break
                if isinstance(message, str):
                    raise CliError(f"{message}: no such file")
                # the next batch is read and prepared while this one is written
                upcoming = asyncio.ensure_future(source.next())
                batch: list[pymarc.Record | PreparedRecord] = []
                for position, record, error in message.items:
                    if error is not None or record is None:
                        rejected.append((f"{message.name}: {position}", str(error)))
                    else:
                        batch.append(record)
                if batch and authorities:
                    # records in the store's MARCXML form come prepared as bib records
                    parsed = [
                        r if isinstance(r, pymarc.Record) else parse_marcxml(r.xml) for r in batch
                    ]
                    report = await catalog.authorities.load(parsed)
                    loaded_authorities.update(asteri_ids_of(parsed))
                elif batch:
                    report = await catalog.load(batch)
                if batch:
                    loaded, updated = loaded + report.loaded, updated + report.updated
                    replaced_first.extend(report.replaced_ids[: 10 - len(replaced_first)])
                    progress(loaded + updated)
                del message, batch  # written: not walked by the next collection
            progress(None)
            if loaded_authorities:
                refreshed = await catalog.refresh_linked_views(sorted(loaded_authorities))
                print(f"fin01alma views refreshed for {refreshed} linked bib records")
    finally:
        if collecting:
            gc.enable()
        await source.close(upcoming)
    print(f"loaded {loaded}, replaced {updated}, rejected {len(rejected)}")
    if updated:
        named = ", ".join(f"{rid:09d}" for rid in replaced_first)
        more = ", …" if updated > len(replaced_first) else ""
        print(
            f"warning: {updated} record(s) had the Melinda ID of a record already in the store "
            f"and replaced it ({named}{more}). Generated files number from 1: "
            "scripts/generate-records --start-id N gives ids that do not collide.",
            file=sys.stderr,
        )
    for where, why in rejected[:100]:
        print(f"  rejected {where}: {why}")
    if len(rejected) > 100:
        print(f"  … and {len(rejected) - 100} more")
    return 1 if rejected else 0


def _total_size(files: Sequence[str]) -> int:
    return sum(Path(name).stat().st_size for name in files if Path(name).is_file())


def _start_readers(files: Sequence[str], processes: int | None, size: int) -> _BatchSource:
    """The child readers: as many as asked (or cores) when they can share the files, else one."""
    wanted = processes if processes is not None else load_processes()
    return _ChildReaders(files, max(1, wanted) if shareable(files) else 1, size)


class _BatchSource:
    async def next(self) -> Message:
        raise NotImplementedError

    async def close(self, pending: asyncio.Future[Message] | None) -> None:
        """Stop reading; `pending` is a `next()` under way, whose result nobody wants."""
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending


class _ThreadReader(_BatchSource):
    """Batches read in a worker thread of this process."""

    def __init__(self, files: Sequence[str], size: int) -> None:
        self._batches = read_batches(files, size)

    async def next(self) -> Message:
        return await asyncio.to_thread(next, self._batches, None)


class _ChildReaders(_BatchSource):
    """Batches read and prepared by `processes` child processes, each preparing every
    `processes`-th batch (`loading.read_messages`) and sending it through a pipe of its own;
    they are taken from the pipes in turn, so in the order of the files. A pipe holds one
    batch at a time, so a child is never more than a batch ahead (memory stays bounded);
    if this process dies, a child's next send fails and it ends too."""

    def __init__(self, files: Sequence[str], processes: int, size: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._receivers: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for part in range(processes):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=send_batches,
                args=(sender, list(files), size, part, processes),
                daemon=True,
            )
            process.start()
            sender.close()  # the child's end only: its EOF tells this side the child is gone
            self._receivers.append(receiver)
            self._processes.append(process)
        self._number = 0  # messages taken so far

    async def next(self) -> Message:
        receiver = self._receivers[self._number % len(self._receivers)]
        self._number += 1
        return await asyncio.to_thread(self._receive, receiver)

    @staticmethod
    def _receive(receiver: Connection) -> Message:
        try:
            message: tuple[str, Any] = receiver.recv()
        except EOFError:
            raise CliError("the reading process ended unexpectedly") from None
        kind, payload = message
        if kind == "failed":
            raise CliError(f"reading failed: {payload}")
        return payload  # type: ignore[no-any-return]

    async def close(self, pending: asyncio.Future[Message] | None) -> None:
        await asyncio.to_thread(self._stop)
        await super().close(pending)  # ended by the child's end of the pipe closing
        for receiver in self._receivers:
            receiver.close()

    def _stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
        for process in self._processes:
            process.join()


# Past this many, more children add no speed: the one writing process is the bound, and
# each child still reads (and checks the form of) every record of the files.
MAX_LOAD_PROCESSES = 8


def load_processes() -> int:
    """Child processes a load prepares records in: one per core this process may run on
    besides its own (which writes the store); at least one. Measured on two busy cores, a
    second child beside the writer only added CPU (the records it passes over)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores - 1, MAX_LOAD_PROCESSES))


def _progress() -> Any:
    """A tqdm bar on a terminal; otherwise a plain line per committed batch."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit=" records", file=sys.stderr)

        def update(done: int | None) -> None:
            if done is None:
                bar.close()
            else:
                bar.update(done - bar.n)

        return update

    def plain(done: int | None) -> None:
        if done is not None:
            print(f"committed {done}", flush=True)

    return plain


# --- copy-store --------------------------------------------------------------------------
async def copy_store(source_url: str, target_url: str) -> int:
    """Copy every table into the empty target store, a progress bar per table, counts checked."""
    from gateway.store import copying, open_store, store_kind
    from gateway.store.urls import sqlite_path

    if store_kind(source_url) == "sqlite" and not await asyncio.to_thread(
        Path(sqlite_path(source_url)).is_file
    ):
        raise NoStoreError(f"no store at {source_url}")
    source = await open_store(source_url)
    try:
        target = await open_store(target_url)
        try:
            bars: dict[str, Any] = {}
            from tqdm import tqdm

            def progress(table: str, done: int, total: int) -> None:
                if table not in bars:
                    bars[table] = tqdm(total=total, desc=table, unit=" rows", file=sys.stderr)
                bars[table].update(done - bars[table].n)

            try:
                copied = await copying.copy_store(source, target, progress=progress)  # type: ignore[arg-type]
            except copying.CopyError as exc:
                raise CliError(str(exc)) from exc
            finally:
                for bar in bars.values():
                    bar.close()
        finally:
            await target.close()
    finally:
        await source.close()
    summary = ", ".join(f"{table} {count:,}" for table, count in copied.items())
    print(f"Copied and verified: {summary}")
    return 0


# --- export ----------------------------------------------------------------------------
async def export(settings: Settings, fmt: str, view: View, output: str | None) -> int:
    from gateway import records

    async with open_catalog(settings, create=False) as bib:
        catalog = bib.for_view(view)
        out: IO[bytes]
        with contextlib.ExitStack() as stack:
            if output and output != "-":
                out = stack.enter_context(open(output, "wb"))
            else:
                out = sys.stdout.buffer
            if fmt == "marcxml":
                out.write(records.XML_DECLARATION + records.COLLECTION_START)
            async for stored in catalog.export(view):
                if fmt == "marcxml":
                    out.write(stored.xml)
                elif fmt == "iso2709":
                    out.write(records.record_to_iso2709(stored.record()))
                else:
                    out.write(records.record_to_alephseq(stored.record()))
            if fmt == "marcxml":
                out.write(records.COLLECTION_END + b"\n")
            out.flush()
    return 0


# --- library ---------------------------------------------------------------------------
async def library(settings: Settings, args: argparse.Namespace) -> int:
    async with open_catalog(settings, create=args.library_verb == "add") as catalog:
        if args.library_verb == "add":
            keys = []
            for key_file in args.ssh_key:
                try:
                    keys.append(Path(key_file).read_text().strip())
                except OSError as exc:
                    raise CliError(f"cannot read SSH key {key_file}: {exc}") from exc
            try:
                added = await catalog.add_library(
                    args.code,
                    password=args.password,
                    name=args.name,
                    sid_code=args.sid_code,
                    lows=args.low,
                    ssh_keys=keys,
                    level=args.level,
                    privileged=args.privileged,
                )
            except ValueError as exc:
                raise CliError(str(exc)) from exc
            print(
                f"library {added.code}: LOW {', '.join(added.lows)}, SID code {added.sid_code}, "
                f"{len(added.ssh_keys)} SSH key(s)"
            )
        elif args.library_verb == "list":
            for lib in await catalog.libraries():
                print(
                    f"{lib.code:10} LOW {','.join(lib.lows):20} SID {lib.sid_code:10} "
                    f"keys {len(lib.ssh_keys)}  {lib.name}"
                )
        else:
            await catalog.remove_library(args.code)
            print(f"library {args.code.upper()} removed")
    return 0


# --- check-links -----------------------------------------------------------------------
async def check_links(settings: Settings) -> int:
    """Every bib heading whose Asteri link names no live authority; exit 1 when any."""
    async with open_catalog(settings, create=False) as catalog:
        dangling = await catalog.check_links()
    for link in dangling:
        print(f"{link.record_id:09d}: $0 names Asteri {link.asteri_id:09d}, which is not there")
    print(f"{len(dangling)} dangling Asteri link(s)")
    return 1 if dangling else 0


async def reset(settings: Settings, yes: bool) -> int:
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("reset empties the store; pass --yes to confirm")
        answer = input(f"Empty the store in {settings.data_dir}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing done")
            return 1
    async with open_catalog(settings, create=False) as catalog:
        await catalog.reset()
    print("store emptied")
    return 0


# --- match and merge -------------------------------------------------------------------
async def match(settings: Settings, file: str) -> int:
    """One line per record: its position and its candidates (`id probability strategy`,
    a match marked `*`)."""
    from gateway import matching
    from gateway.records import read_records

    try:
        found = await asyncio.to_thread(lambda: list(read_records(file)))
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    rejected = 0
    async with open_catalog(settings, create=False) as catalog:
        for position, record, error in found:
            if record is None or error is not None:
                print(f"{position}: rejected: {error}")
                rejected += 1
                continue
            own = matching.stored_id_of(record)
            candidates = await matching.find_candidates(
                catalog, record, exclude={own} if own else ()
            )
            listed = " ".join(
                f"{c.id:09d}{'*' if c.match else ''} {c.probability:.2f} {c.strategy}"
                for c in candidates
            )
            print(f"{position}: {listed or 'no candidates'}")
    return 1 if rejected else 0


async def merge(settings: Settings, preferred: int, other: int, user: str) -> int:
    from gateway import matching

    async with open_catalog(settings, create=False) as catalog:
        result = await matching.merge(catalog, preferred, other, user)
    print(f"merged {other:09d} into {preferred:09d} as {result.user}; {other:09d} is deleted")
    return 0


# --- harvest ---------------------------------------------------------------------------
async def harvest(settings: Settings, args: argparse.Namespace) -> int:
    """Harvest in-process against the data dir: a progress line per page, then the report.
    SIGINT/SIGTERM stop it after the page in hand; the next run resumes it."""
    from gateway import harvesting

    spec = harvesting.HarvestSpec(
        url=args.url,
        library=args.library.upper(),
        metadata_prefix=args.metadata_prefix,
        set=args.set,
        from_=args.from_,
        until=args.until,
    )
    progress = _progress()
    async with open_catalog(settings, create=False) as catalog:
        run = await harvesting.prepare_run(catalog, spec)
        if run.get("resumed"):
            print(f"resuming harvest {run['id']} after {run['counts']['seen']} records", flush=True)
        harvester = harvesting.Harvester(
            catalog, run, on_page=lambda r: progress(int(r["counts"]["seen"]))
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, harvester.stop)
        try:
            report = await harvester()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            progress(None)
    print(harvest_summary(report))
    return 0 if report["state"] == "done" and not report["counts"]["rejected"] else 1


def harvest_summary(report: dict[str, Any]) -> str:
    """The report as text: state, counts, rejections (position and reason), speed."""
    c = report["counts"]
    lines = [
        f"harvest {report['id']} of {report['library']} from {report['url']}: {report['state']}"
        + (f" ({report['error']})" if report.get("error") else ""),
        f"pages {c['pages']}, records {c['seen']}: created {c['created']}, matched and merged"
        f" {c['merged']}, updated {c['updated']}, unchanged {c['unchanged']}, LOW removed"
        f" {c['low_removed']}, rejected {c['rejected']}",
        f"{report['seconds']:.1f} s, {report['records_per_second'] or 0} records/s;"
        f" last datestamp {report['last_datestamp']}",
    ]
    lines += [f"rejected {r['position']}: {r['reason']}" for r in report["rejections"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        parser.error(str(exc))
    writer = logs.configure(settings.log_level, settings.log_format, threaded=args.verb == "serve")
    try:
        if args.verb == "serve":
            from gateway.emulator.startup import first_taken_port, listen_failure

            taken = first_taken_port(settings)
            if taken is not None:
                raise CliError(listen_failure(taken))
            return loops.run(serve(settings), settings.event_loop)
        if args.verb == "load":
            return asyncio.run(load(settings, args.files, base=args.base, processes=args.processes))
        if args.verb == "export":
            view = View.FIN11 if args.base == "fin11" else View(args.view)
            return asyncio.run(export(settings, args.format, view, args.output))
        if args.verb == "check-links":
            return asyncio.run(check_links(settings))
        if args.verb == "library":
            return asyncio.run(library(settings, args))
        if args.verb == "match":
            return asyncio.run(match(settings, args.file))
        if args.verb == "merge":
            return asyncio.run(merge(settings, args.preferred, args.other, args.user))
        if args.verb == "harvest":
            return asyncio.run(harvest(settings, args))
        if args.verb == "copy-store":
            return asyncio.run(copy_store(args.source, args.target))
        return asyncio.run(reset(settings, args.yes))
    except NoStoreError as exc:
        print(f"melinda-gateway: {exc}", file=sys.stderr)
        return 2
    except (CliError, GatewayError, MalformedRecordError) as exc:
        print(f"melinda-gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if writer is not None:
            writer.stop()
