"""The bench charges each timed run the CPU time of the server's whole process tree."""

from __future__ import annotations

import subprocess
import sys

from bench.system import python_loop_ms, tree_cpu_seconds

BUSY = "import time\nwhile time.process_time() < {seconds}: pass\nprint('done', flush=True)\n"


def test_a_live_child_and_an_ended_one_are_both_counted() -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys\n"
            f"subprocess.run([sys.executable, '-c', {BUSY.format(seconds=0.3)!r}])\n"
            f"exec({BUSY.format(seconds=0.3)!r})\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "done"  # the child's line, passed through
        assert holder.stdout.readline().strip() == "done"  # its own
        # 0.3 s of its own (live) and 0.3 s of a child it waited for
        assert tree_cpu_seconds(holder.pid) >= 0.55
    finally:
        holder.communicate("")


def test_a_process_that_is_gone_counts_nothing() -> None:
    assert tree_cpu_seconds(2**22 + 12345) == 0.0


def test_the_speed_loop_is_in_milliseconds() -> None:
    # 3,000,000 additions take CPython 150-400 ms on the bench's hosts: a figure in seconds
    # (or of a loop the interpreter skipped) would be under 10
    spent = python_loop_ms()
    assert 10 < spent < 60_000
