"""The `generate-records` command: seeded records to MARCXML or ISO 2709, with a records/s report."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO

from pymarc import Record

from gateway.emulator.generator.builder import generate_records


def _write(records: Iterator[Record], out: IO[bytes], fmt: str) -> int:
    from gateway.records import record_to_iso2709, write_marcxml_collection

    if fmt == "marcxml":
        return write_marcxml_collection(records, out)
    if fmt == "none":
        return sum(1 for _ in records)
    count = 0
    for record in records:
        out.write(record_to_iso2709(record))
        count += 1
    return count


def _noting_links(records: Iterator[Record], linked: set[int]) -> Iterator[Record]:
    """The records, passing through, with the Asteri ids their headings link to noted."""
    from gateway.rules.asteri import linked_ids

    for record in records:
        linked |= linked_ids(record)
        yield record


def main(argv: Sequence[str] | None = None) -> int:
    """The `generate-records` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="generate-records",
        description="Write seeded, realistic Melinda bibliographic records (same seed, same bytes).",
    )
    parser.add_argument("--count", type=int, default=1000, help="how many records (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--start-id", type=int, default=1, help="Melinda id of the first record")
    parser.add_argument(
        "--format", choices=("marcxml", "iso2709", "none"), default="marcxml",
        help="output format; none only generates (to time the generator alone)",
    )
    parser.add_argument("--output", default="-", help="file to write, or - for stdout (default)")
    parser.add_argument("--quiet", action="store_true", help="do not report records/s on stderr")
    parser.add_argument(
        "--authorities",
        metavar="FILE",
        help="also write (MARCXML) the Asteri authorities the records' headings link to",
    )
    args = parser.parse_args(argv)
    if args.count < 0 or args.start_id < 1:
        parser.error("--count must be >= 0 and --start-id >= 1")
    # The records hold no reference cycles; the cyclic collector would only rescan them.
    gc.disable()
    started, started_cpu = time.perf_counter(), time.process_time()
    records: Iterator[Record] = generate_records(args.count, args.seed, start_id=args.start_id)
    linked: set[int] = set()
    if args.authorities:
        records = _noting_links(records, linked)
    if args.output == "-":
        try:
            written = _write(records, sys.stdout.buffer, args.format)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # the reader stopped early (`| head`): not an error worth a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    else:
        with open(args.output, "wb", buffering=1 << 20) as out:
            written = _write(records, out, args.format)
    if args.authorities:
        from gateway.emulator.generator.asteri import generate_authorities
        from gateway.records import write_marcxml_collection

        with open(args.authorities, "wb") as out:
            write_marcxml_collection(generate_authorities(linked), out)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    if not args.quiet:
        # CPU time too: on a shared machine the wall clock says more about the neighbours
        rate = written / elapsed if elapsed > 0 else float("inf")
        cpu_rate = written / cpu if cpu > 0 else float("inf")
        print(
            f"generated {written:,} records (seed {args.seed}, {args.format}) in {elapsed:.1f} s:"
            f" {rate:,.0f} records/s ({cpu_rate:,.0f} records per CPU second)",
            file=sys.stderr,
        )
    return 0
