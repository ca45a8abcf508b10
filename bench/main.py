"""`scripts/bench`: one generated corpus, the gateway (and Zebra when installed), every workload,
one table and one JSON file of figures, machine and versions."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench import corpus, harvest, publishing, report, search, servers, writers
from bench.pyspy import Profiler, hotspots, py_spy
from bench.system import (
    anon_rss_mb,
    directory_mb,
    dirty_mb,
    machine,
    now_utc,
    peak_rss_mb,
    python_loop_ms,
    read_through,
    rss_mb,
    tree_cpu_seconds,
    versions,
)
from gateway.emulator import loops
from gateway.emulator.workers import resolve_workers

WORK_MARKER = ".melinda-bench"
WORKLOADS = ("load", "sru", "z3950", "oai", "xserver", "sftp")
ROOT = Path(__file__).resolve().parent.parent
# The Python clients (SRU, X-server writers, OAI-PMH harvester) share the machine's cores with
# the server they measure: on uvloop they spend about a fifth less CPU a request (both servers
# are measured with the same clients).
CLIENT_LOOP = "uvloop"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="records in the corpus")
    parser.add_argument("--seed", type=int, default=1, help="generator and client seed")
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help="comma-separated workloads: " + ",".join(WORKLOADS),
    )
    parser.add_argument("--json", metavar="FILE", help="write the figures here")
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown table here")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="timed window of each search and X-server run"
    )
    parser.add_argument("--clients", default="1,20", help="concurrent search clients, e.g. 1,20")
    parser.add_argument("--writers", type=int, default=50, help="concurrent X-server writers")
    parser.add_argument(
        "--sftp-records",
        type=int,
        default=100_000,
        help="records in the publishing file (at most --count)",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="the gateway's worker processes (serve --workers): a number or auto (the cores)",
    )
    parser.add_argument("--no-zebra", action="store_true", help="skip Zebra even when installed")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the gateway's store (postgresql: --store-url, else $MELINDA_GATEWAY_TEST_PG_URL,"
        " else a throwaway cluster from scripts/pg-temp)",
    )
    parser.add_argument("--store-url", metavar="URL", help="a PostgreSQL server to bench on")
    parser.add_argument(
        "--corpus",
        metavar="FILE",
        help="MARCXML made earlier by `python -m gateway.emulator.generator` with the same --count and"
        " --seed (the generator is deterministic); generated when absent, never removed",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the load command and the gateway under the search, X-server and OAI-PMH workloads",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="JSON",
        help="print the scale table of earlier runs' JSON files (e.g. 100 k and 1 M) and exit",
    )
    parser.add_argument(
        "--work-dir",
        metavar="DIR",
        help="keep corpus, store, Zebra register and profiles here (default: a temp dir, removed)",
    )
    args = parser.parse_args(argv)
    try:
        args.workers = resolve_workers(args.workers)
    except ValueError:
        parser.error(f"--workers: {args.workers!r} is not a number or auto")
    chosen = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    if args.count < 100:
        parser.error("--count must be at least 100")
    args.workloads = [w for w in WORKLOADS if w in chosen]
    args.client_levels = [int(c) for c in args.clients.split(",")]
    return args


def children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have ended (and been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def say(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def loaded_count(output: str) -> int | None:
    """Records stored by `melinda-gateway load`, from its summary `loaded N, replaced M, …`."""
    found = re.search(r"loaded (\d+), replaced (\d+)", output)
    return int(found.group(1)) + int(found.group(2)) if found else None


def oai_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.data_dir = work / "store"
        self.result: dict[str, Any] = {
            "date": now_utc(),
            "count": args.count,
            "seed": args.seed,
            "workloads": args.workloads,
            "machine": machine(),
            "versions": versions(),
            "settings": {
                "seconds": args.seconds,
                "clients": args.client_levels,
                "writers": args.writers,
                "workers": args.workers,
                "oai_page_size": 1000,
                "client_event_loop": CLIENT_LOOP,
            },
        }
        self.profiles: dict[str, Any] = {}
        self.write_window: tuple[float, float] | None = None

    # --- corpus and store --------------------------------------------------------------------

    async def store_mb(self) -> float:
        """The store's size: the SQLite file, or on PostgreSQL the tables and indexes of the
        run's schema (the data dir then holds none of it)."""
        url = os.environ.get("MELINDA_GATEWAY_STORE_URL", "")
        if not url.startswith("postgresql"):
            return directory_mb(self.data_dir)
        import asyncpg

        bare, _, query = url.partition("?")
        schema = query.removeprefix("search_path=")
        conn = await asyncpg.connect(bare)
        try:
            found = await conn.fetchval(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relkind = 'r'",
                schema,
            )
        finally:
            await conn.close()
        return int(found) / 1e6


    async def build(self) -> None:
        kept = self.args.corpus is not None
        marcxml = Path(self.args.corpus) if kept else self.work / "corpus.xml"
        started = time.perf_counter()
        reused = kept and marcxml.exists()
        if reused:
            say(f"reusing the corpus in {marcxml}")
        else:
            say(f"generating {self.args.count:,} records (seed {self.args.seed})")
            await asyncio.to_thread(
                corpus.generate, self.args.count, self.args.seed, marcxml, "marcxml"
            )
        generate_seconds = time.perf_counter() - started

        await self.settle("the load")
        say("loading them with `melinda-gateway load`")
        started = time.time()
        # The load is sampled in place (rerunning it would double the longest step); py-spy
        # --nonblocking never pauses it, and the JSON notes that it ran.
        load_profile = self.work / "profile-load.txt" if self.args.profile else None
        cpu_before = children_cpu_seconds()
        output, peak = await servers.run_cli(
            "load", "--data-dir", str(self.data_dir), str(marcxml), profile=load_profile
        )
        finished = time.time()
        # the command and the processes it prepared records in (waited for, so counted)
        cpu = children_cpu_seconds() - cpu_before
        self.load_window = (started, finished)
        if load_profile is not None and load_profile.exists():
            self.keep_profile("load", load_profile.read_text())
        seconds = finished - started
        loaded = loaded_count(output) or self.args.count
        self.result["load"] = {
            "records": loaded,
            "seconds": round(seconds, 2),
            "records_per_second": round(loaded / seconds),
            "peak_rss_mb": round(peak, 1),
            "cpu_seconds": round(cpu, 2),
            "cpu_ms_per_record": round(cpu * 1000 / max(loaded, 1), 3),
            "store_mb": round(await self.store_mb(), 1),
            "generate_seconds": round(generate_seconds, 2),
            "corpus_reused": reused,
            "profiled": load_profile is not None,
            "summary": output.strip().splitlines()[-1:] if output.strip() else [],
        }
        if not kept:
            await asyncio.to_thread(marcxml.unlink)

        say("exporting the store as ISO 2709 (Zebra's input and the query sample)")
        self.iso2709 = self.work / "corpus.mrc"
        started = time.time()
        await servers.run_cli(
            "export",
            "--data-dir",
            str(self.data_dir),
            "--format",
            "iso2709",
            "--output",
            str(self.iso2709),
        )
        self.result["load"]["export_seconds"] = round(time.time() - started, 2)
        every = max(1, self.args.count // 4000)
        sample = await asyncio.to_thread(corpus.read_sample, self.iso2709, every=every)
        self.queries = corpus.sample_queries(sample, seed=self.args.seed)
        self.live_ids = [
            str(r["001"].data)
            for r in sample
            if r["001"] is not None and r["001"].data and not corpus.is_deleted(r)
        ]
        if "xserver" in self.args.workloads:
            await servers.run_cli(
                "library",
                "add",
                writers.LIBRARY,
                "--data-dir",
                str(self.data_dir),
                "--password",
                writers.PASSWORD,
                "--low",
                writers.LIBRARY,
                "--level",
                "30",
            )
        if "sftp" in self.args.workloads:
            self.sftp_pub = await asyncio.to_thread(publishing.make_key, self.work)
            await servers.run_cli(
                "library",
                "add",
                publishing.LIBRARY,
                "--data-dir",
                str(self.data_dir),
                "--ssh-key",
                str(self.sftp_pub),
                "--low",
                publishing.LIBRARY,
                "--sid-code",
                publishing.SID_CODE,
            )

    # --- workloads ---------------------------------------------------------------------------

    def keep_profile(self, name: str, collapsed: str) -> None:
        samples, own, inclusive = hotspots(collapsed, str(ROOT))
        self.profiles[name] = {
            "samples": samples,
            "own": [h.as_json() for h in own],
            "inclusive_project": [h.as_json() for h in inclusive],
        }

    async def profiled(self, name: str, pid: int, work: Callable[[], Awaitable[Any]]) -> Any:
        """The figures of one unprofiled run of `work`; with --profile, then a second run under
        py-spy whose figures are dropped, so sampling never slows the measured run."""
        result = await work()
        if self.args.profile:
            say(f"profiling {name} (an extra, unmeasured run)")
            profiler = Profiler(pid, self.work / f"profile-{name}.txt")
            try:
                await work()
            finally:
                self.keep_profile(name, await asyncio.to_thread(profiler.stop))
        return result

    async def searches(self, targets: Sequence[tuple[search.Target, int | None, int]]) -> None:
        """Each workload's timed runs on each target in turn (`targets`: the target, the
        process to profile (the gateway's) or None, and the server whose CPU time (its process
        tree's) each of its timed runs is charged): every window of the first is followed by
        the same window of the next."""
        # Steady state, not a cold page cache: at 1 M records the load's WAL traffic evicts
        # index pages, and a timed window that reads them from disk measures the disk.
        every_query = [q for queries in self.queries.values() for q in queries]
        for target, _, _ in targets:
            say(f"warming {target.name}: every sample query once over SRU and Z39.50")
            await search.hit_counts(target, every_query)
        for protocol in ("sru", "z3950"):
            if protocol not in self.args.workloads:
                continue
            run = search.run_sru if protocol == "sru" else search.run_z3950
            for kind, queries in self.queries.items():
                if not queries:
                    continue
                for target, _, _ in targets:  # warm-up
                    await run(target, queries, 1, min(1.0, self.args.seconds), self.args.seed)
                for clients in self.args.client_levels:
                    for target, pid, server_pid in targets:
                        say(f"{protocol} {kind} x{clients} on {target.name}")
                        await self.timed_search(
                            protocol, kind, clients, target, pid, server_pid, run, queries
                        )

    async def timed_search(
        self,
        protocol: str,
        kind: str,
        clients: int,
        target: search.Target,
        pid: int | None,
        server_pid: int,
        run: Callable[..., Awaitable[search.Run]],
        queries: Sequence[corpus.Query],
    ) -> None:
        section = self.result.setdefault(protocol, {}).setdefault(target.name, {})
        work = functools.partial(
            charged, server_pid, run, target, queries, clients, self.args.seconds, self.args.seed
        )
        profile = target.name == "gateway" and clients == max(self.args.client_levels)
        done, cpu = (
            await self.profiled(f"{protocol}-{kind}", pid, work)
            if profile and pid is not None
            else await work()
        )
        requests = done.figures.requests
        section.setdefault(kind, {})[str(clients)] = {
            **done.figures.as_json(),
            "zero_hits": done.zero_hits,
            "server_cpu_ms_per_query": round(cpu * 1000 / requests, 3) if requests else None,
        }

    async def agreement(self, gateway: search.Target, zebra: search.Target) -> None:
        """Hit counts of the first queries of each kind in both engines: a fair race finds the
        same records."""
        checked = same = 0
        differing: list[str] = []
        for queries in self.queries.values():
            sample = queries[:20]
            ours = await search.hit_counts(gateway, sample)
            theirs = await search.hit_counts(zebra, sample)
            for cql, (sru_hits, z_hits) in ours.items():
                checked += 1
                if (sru_hits, z_hits) == theirs[cql]:
                    same += 1
                elif len(differing) < 10:
                    differing.append(f"{cql}: gateway {sru_hits}/{z_hits}, zebra {theirs[cql]}")
        self.result.setdefault("zebra", {})["agreement"] = {
            "queries": checked,
            "same_hits": same,
            "differing": differing,
        }

    async def oai(self, url: str, pid: int) -> None:
        say("OAI-PMH full harvest (marc21)")
        before, before_anon = rss_mb(pid), anon_rss_mb(pid)
        full, cpu = await self.profiled(
            "oai", pid, lambda: charged(pid, harvest.harvest, url, pid)
        )
        # The incremental harvest covers the X-server run (its edits), or else the second after
        # the load (nothing changed then: the cost of an empty incremental harvest).
        since, until = self.write_window or (self.load_window[1] + 1, self.load_window[1] + 2)
        say("OAI-PMH from/until harvest")
        incremental = await harvest.harvest(url, pid, since=oai_time(since), until=oai_time(until))
        self.result["oai"] = {
            "server_rss_before_mb": round(before or 0, 1),
            "server_anon_before_mb": round(before_anon or 0, 1),
            "full": {
                **full.as_json(),
                "server_cpu_us_per_record": round(cpu * 1e6 / full.records, 1)
                if full.records
                else None,
            },
            "incremental": {
                **incremental.as_json(),
                "from": oai_time(since),
                "until": oai_time(until),
            },
        }

    async def xserver(self, url: str, pid: int) -> None:
        say(f"X-server: {self.args.writers} writers for {self.args.seconds:.0f} s")
        started = time.time()
        client_cpu = time.process_time()
        done, cpu = await self.profiled(
            "xserver",
            pid,
            lambda: charged(
                pid,
                writers.run_writers,
                url,
                self.live_ids,
                self.args.writers,
                self.args.seconds,
                self.args.seed,
            ),
        )
        client_cpu = time.process_time() - client_cpu
        self.write_window = (started, time.time() + 1)
        cycles = done.saved + done.conflicts + done.other
        self.result["xserver"] = {
            **done.as_json(),
            "writers": self.args.writers,
            "server_cpu_ms_per_cycle": round(cpu * 1000 / cycles, 3) if cycles else None,
            # the writers share the machine's cores with the server: their CPU bounds it too
            "client_cpu_ms_per_cycle": round(client_cpu * 1000 / cycles, 3) if cycles else None,
        }

    async def sftp(self, port: int) -> None:
        records = min(self.args.sftp_records, self.args.count)
        source = self.work / f"helka_{records}.xml"
        await asyncio.to_thread(publishing.write_file, source, list(range(1, records + 1)))
        say(f"SFTP: publishing file of {records:,} records")
        private = self.sftp_pub.with_suffix("")
        done = await publishing.publish(port, private, source, records)
        self.result["sftp"] = done.as_json()

    # --- the run -----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        if self.args.profile and py_spy() is None:
            say("py-spy is not installed: no profiles")
            self.args.profile = False
        await self.build()
        searching = {"sru", "z3950"} & set(self.args.workloads)
        zebra_reason = None
        if self.args.no_zebra:
            zebra_reason = "skipped (--no-zebra)"
        elif not servers.zebra_available():
            zebra_reason = "zebraidx/zebrasrv not installed (Debian package idzebra-2.0)"
        elif not searching:
            zebra_reason = "no search workload chosen"
        if zebra_reason:
            say(f"Zebra: {zebra_reason}")
            self.result["zebra"] = {"available": False, "reason": zebra_reason}

        gateway = await servers.start_gateway(
            self.data_dir, env={"MELINDA_GATEWAY_OAI_PAGE_SIZE": "1000"}, workers=self.args.workers
        )
        try:
            await asyncio.sleep(1)
            self.result["server"] = {"idle_rss_mb": round(rss_mb(gateway.pid) or 0, 1)}
            http = f"http://127.0.0.1:{gateway.ports['http']}"
            ours = servers.gateway_target(gateway)
            if searching:
                await self.side_by_side(ours, gateway.pid, with_zebra=not zebra_reason)
            # The X-server edits come before the harvest, so the from/until harvest finds them;
            # SFTP publishing comes last: it restamps every record it touches.
            if "xserver" in self.args.workloads:
                await self.settle("the X-server writers", self.data_dir)
                await self.xserver(f"{http}/X", gateway.pid)
            if "oai" in self.args.workloads:
                await self.settle("the OAI-PMH harvests", self.data_dir)
                await self.oai(f"{http}/oai-pmh/bib", gateway.pid)
            if "sftp" in self.args.workloads:
                await self.settle("the SFTP publishing", self.data_dir)
                await self.sftp(gateway.ports["sftp"])
            self.result["server"]["peak_rss_mb"] = round(peak_rss_mb(gateway.pid) or 0, 1)
            self.result["server"]["final_rss_mb"] = round(rss_mb(gateway.pid) or 0, 1)
            self.result["server"]["final_anon_mb"] = round(anon_rss_mb(gateway.pid) or 0, 1)
        finally:
            gateway.stop()
        self.result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        if "load" not in self.args.workloads:
            self.result.pop("load", None)
        if self.profiles:
            self.result["profiles"] = self.profiles
        return self.result

    async def settle(self, before: str, *server_files: Path) -> None:
        """Each timed step starts on a quiet disk, with the server's files in memory.

        What the steps before wrote (a corpus file, the gateway's store, zebraidx's
        register: 160-680 MB not yet written in the run of 2026-12-03 13:09) is flushed
        first, so that neither server's step pays for the writeback of another's. And this
        machine's kernel pages out file pages unread for about a minute (DAMON reclaim), so
        a server idle while the other works may find its files gone: `server_files` are
        read through once (0.6 s for the gateway's 1.5 GB store in the run of 13:23, most
        of it still in memory), as a server in use keeps them in the page cache. The JSON
        keeps what each step found and took, and the core's speed just before it
        (`python_loop_ms`; the machine's memory side moves more, which the clients' own CPU
        per request shows)."""
        dirty = dirty_mb()
        started = time.perf_counter()
        await asyncio.to_thread(os.sync)
        seconds = time.perf_counter() - started
        warmed = 0.0
        for files in server_files:
            warmed += await asyncio.to_thread(read_through, files)
        took = time.perf_counter() - started
        self.result.setdefault("settled", {})[before] = {
            "dirty_mb": round(dirty, 1),
            "sync_seconds": round(seconds, 2),
            "read_mb": round(warmed, 1),
            "seconds": round(took, 2),
            "python_loop_ms": round(await asyncio.to_thread(python_loop_ms), 1),
        }
        if took >= 0.5:
            say(
                f"settling before {before}: {dirty:,.0f} MB flushed, {warmed:,.0f} MB of the"
                f" server's files read ({took:.1f} s)"
            )

    async def side_by_side(self, ours: search.Target, pid: int, *, with_zebra: bool) -> None:
        """The searches of the gateway and, `with_zebra`, of Zebra: both servers up at once and
        each timed window of one followed by the same window of the other, so that each pair
        of figures comes from the same minute (this VM's speed moves within minutes)."""
        root = self.work / "zebra"
        if not with_zebra:
            await self.settle("the gateway's searches", self.data_dir)
            await self.searches([(ours, pid, pid)])
            return
        server = await self.zebra(root)
        try:
            theirs = servers.zebra_target(server)
            await self.agreement(ours, theirs)
            await self.settle("the searches", self.data_dir, root)
            await self.searches([(ours, pid, pid), (theirs, None, server.pid)])
            self.result["zebra"]["server_rss_mb"] = round(rss_mb(server.pid) or 0, 1)
        finally:
            server.stop()

    async def zebra(self, root: Path) -> servers.Server:
        """Zebra's register of the live records, built by zebraidx (timed: the load's peer),
        and zebrasrv started over it."""
        # Zebra gets the live records only: the gateway's searches skip deleted records too.
        live = self.work / "corpus-live.mrc"
        count = await asyncio.to_thread(corpus.write_live, self.iso2709, live)
        # Zebra indexes MARCXML as Koha feeds it (the conversion is not timed)
        live_xml = self.work / "corpus-live.xml"
        await asyncio.to_thread(servers.iso2709_to_marcxml, live, live_xml)
        say(f"Zebra: indexing the MARCXML of the live records ({count:,}) with zebraidx")
        await self.settle("zebraidx")
        cpu_before = children_cpu_seconds()
        indexing = await asyncio.to_thread(servers.zebra_index, root, live_xml, count)
        cpu = children_cpu_seconds() - cpu_before
        self.result["zebra"] = {
            "available": True,
            "mode": "zebrasrv default: one forked process per connection; MARCXML stored and"
            " indexed by the DOM filter (as Koha runs it)",
            "index": {
                "records": count,
                "seconds": round(indexing.seconds, 2),
                "records_per_second": round(indexing.records_per_second),
                "register_mb": round(indexing.register_mb, 1),
                "peak_rss_mb": round(indexing.peak_rss_mb, 1),
                "cpu_seconds": round(cpu, 2),
                "cpu_ms_per_record": round(cpu * 1000 / max(count, 1), 3),
            },
        }
        return await servers.start_zebra(root)


_R = TypeVar("_R")


async def charged(
    server_pid: int, run: Callable[..., Awaitable[_R]], *args: Any
) -> tuple[_R, float]:
    """`run(*args)` and the CPU seconds the server's processes used meanwhile."""
    before = await asyncio.to_thread(tree_cpu_seconds, server_pid)
    done = await run(*args)
    return done, await asyncio.to_thread(tree_cpu_seconds, server_pid) - before


def print_profiles(profiles: dict[str, Any]) -> None:
    for name, profile in profiles.items():
        print(f"\nprofile {name}: {profile['samples']} samples; top functions by own time")
        for spot in profile["own"][:10]:
            print(f"  {spot['share'] * 100:5.1f} %  {spot['function']}  {spot['location']}")
        print("  project functions by inclusive time:")
        for spot in profile["inclusive_project"][:8]:
            print(f"  {spot['share'] * 100:5.1f} %  {spot['function']}  {spot['location']}")


@contextlib.contextmanager
def postgresql_store(args: argparse.Namespace) -> Iterator[str]:
    """With --store postgresql: a fresh schema on the server (a throwaway cluster when none
    is named) that every gateway command of the run uses; dropped at the end."""
    if args.store == "sqlite":
        yield "sqlite"
        return
    cluster: str | None = None
    url = args.store_url or os.environ.get("MELINDA_GATEWAY_TEST_PG_URL", "")
    if not url:
        say("starting a throwaway PostgreSQL cluster (scripts/pg-temp)")
        started = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "pg-temp"), "start"],
            capture_output=True,
            text=True,
            check=True,
        )
        found = dict(
            line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines()
        )
        url, cluster = found["MELINDA_GATEWAY_TEST_PG_URL"], found["MELINDA_GATEWAY_TEST_PG_DIR"]
    schema = f"bench_{secrets.token_hex(4)}"
    asyncio.run(_schema(url, f"CREATE SCHEMA {schema}"))
    os.environ["MELINDA_GATEWAY_STORE_URL"] = f"{url}?search_path={schema}"
    try:
        yield "postgresql"
    finally:
        os.environ.pop("MELINDA_GATEWAY_STORE_URL", None)
        asyncio.run(_schema(url, f"DROP SCHEMA {schema} CASCADE"))
        if cluster is not None:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "pg-temp"), "stop", cluster])


async def _schema(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        runs = [json.loads(Path(name).read_text()) for name in args.compare]
        print(report.scale_table(sorted(runs, key=lambda r: int(r.get("count", 0)))))
        return 0
    if args.work_dir:
        work = Path(args.work_dir)
        if work.exists() and any(work.iterdir()):
            # Only a directory an earlier bench made is emptied: never a user's own directory.
            if not (work / WORK_MARKER).exists():
                print(f"bench: {work} is not empty and not a bench work directory", file=sys.stderr)
                return 2
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="melinda-bench-"))
    (work / WORK_MARKER).touch()
    try:
        with postgresql_store(args) as store:
            bench = Bench(args, work)
            bench.result["settings"]["store"] = store
            result = loops.run(bench.run(), CLIENT_LOOP)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    table = report.rows(result)
    print()
    print(report.machine_line(result))
    if not (result.get("zebra") or {}).get("available", False):
        print(f"Zebra: {(result.get('zebra') or {}).get('reason', 'not run')}")
    else:
        agreement = result["zebra"].get("agreement", {})
        print(
            f"Zebra: same hit counts for {agreement.get('same_hits')} of "
            f"{agreement.get('queries')} sample queries"
        )
    print(report.speed_line(result))
    print()
    print(report.text_table(table))
    print()
    print(report.markdown_table(table))
    if result.get("profiles"):
        print_profiles(result["profiles"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(
            report.machine_line(result)
            + "\n\n"
            + report.markdown_table(table)
            + "\n\n"
            + report.speed_line(result)
            + "\n"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
