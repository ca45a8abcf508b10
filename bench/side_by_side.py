"""`scripts/bench-side-by-side`: one search workload on the gateway and on Zebra in turns.

A whole `scripts/bench` run times each server's searches minutes apart, and on a shared VM the
host's speed moves within minutes. This runs both servers at once over a work directory a
`scripts/bench --work-dir DIR` run left (its store, Zebra register and corpus) and alternates
them: gateway, Zebra, gateway, Zebra..., a few seconds each, so that each pair of figures comes
from the same minute. Prints each round's queries/s and server CPU per query, and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from bench import corpus, search, servers
from bench.main import CLIENT_LOOP
from bench.system import tree_cpu_seconds
from gateway.emulator import loops
from gateway.emulator.workers import resolve_workers

# zebrasrv's process for an association winds down once its client hangs up; the CPU it
# spends after the figure is read would go uncounted, so the figure waits a moment
REAPED = 0.5


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench-side-by-side", description=__doc__)
    parser.add_argument("work_dir", type=Path, help="a `scripts/bench --work-dir` directory")
    parser.add_argument("--kind", default="id", choices=sorted(corpus.KINDS))
    parser.add_argument("--protocol", default="z3950", choices=("sru", "z3950"))
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", default="auto", help="the gateway's `serve --workers`")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    work: Path = args.work_dir
    for needed in ("store", "zebra", "corpus.mrc"):
        if not (work / needed).exists():
            sys.exit(f"{work / needed} is missing: run scripts/bench --work-dir {work} first")
    every = max(1, _records(work / "corpus.mrc") // 4000)
    sample = corpus.read_sample(work / "corpus.mrc", every=every)
    queries = corpus.sample_queries(sample, seed=args.seed)[args.kind]
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "store"  # a copy: the bench's store stays as it was
        await asyncio.to_thread(shutil.copytree, work / "store", store)
        gateway = await servers.start_gateway(store, workers=resolve_workers(args.workers))
        zebra = await servers.start_zebra(work / "zebra")
        try:
            targets = [
                (servers.gateway_target(gateway), gateway),
                (servers.zebra_target(zebra), zebra),
            ]
            timed = search.run_z3950 if args.protocol == "z3950" else search.run_sru
            for target, _ in targets:  # every sample query once: steady state on both
                await search.hit_counts(target, queries)
            rates: dict[str, list[float]] = {"gateway": [], "zebra": []}
            for number in range(1, args.rounds + 1):
                for target, server in targets:
                    before = tree_cpu_seconds(server.process.pid)
                    done = await timed(target, queries, args.clients, args.seconds, args.seed)
                    await asyncio.sleep(REAPED)
                    cpu = tree_cpu_seconds(server.process.pid) - before
                    figures = done.figures
                    rates[target.name].append(figures.per_second)
                    print(
                        f"round {number} {target.name:7} {figures.per_second:8,.0f} q/s"
                        f"  p50 {figures.p50_ms:.2f} ms  server CPU"
                        f" {1000 * cpu / max(figures.requests, 1):.3f} ms/q",
                        flush=True,
                    )
            ratios = [g / z for g, z in zip(rates["gateway"], rates["zebra"], strict=True)]
            print(
                f"{args.protocol} {args.kind}, {args.clients} client(s): gateway/Zebra by round "
                + ", ".join(f"{r:.2f}" for r in ratios)
            )
        finally:
            gateway.stop()
            zebra.stop()


def _records(path: Path) -> int:
    return sum(1 for _ in corpus.iter_raw_iso2709(path))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    loops.run(run(args), CLIENT_LOOP)


if __name__ == "__main__":
    main()
