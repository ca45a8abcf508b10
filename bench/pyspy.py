"""Sampling profiles of the gateway process under a workload, with py-spy: where the time goes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    if PY_SPY.exists():
        return str(PY_SPY)
    return shutil.which("py-spy")


@dataclass(frozen=True)
class Hotspot:
    function: str
    location: str
    share: float  # of all samples

    def as_json(self) -> dict[str, object]:
        return {"function": self.function, "location": self.location, "share": round(self.share, 4)}


def _short(path: str, root: str) -> str:
    if path.startswith(root):
        return path[len(root) :].lstrip("/")
    marker = "site-packages/"
    return path.split(marker, 1)[1] if marker in path else path


def hotspots(collapsed: str, root: str, top: int = 15) -> tuple[int, list[Hotspot], list[Hotspot]]:
    """(samples, top functions by own time, top project functions by inclusive time) of
    py-spy's raw (collapsed stack) output: `frame;frame;… count` a line, leaf frame last."""
    own: Counter[tuple[str, str]] = Counter()
    inclusive: Counter[tuple[str, str]] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame.strip())
            if match is None:
                continue
            file = _short(match["file"], root)
            location = f"{file}:{match['line']}" if match["line"] else file
            frames.append((match["function"], location, file))
        if not frames:
            continue
        function, location, _ = frames[-1]
        own[(function, location)] += count
        seen: set[tuple[str, str]] = set()
        for function, _location, file in frames:
            # Inclusive time per function (not per line): a function counts once per stack.
            key = (function, file)
            if file.startswith(("gateway/", "protocols/")) and key not in seen:
                seen.add(key)
                inclusive[key] += count
    if total == 0:
        return 0, [], []
    return (
        total,
        [Hotspot(f, loc, n / total) for (f, loc), n in own.most_common(top)],
        [Hotspot(f, loc, n / total) for (f, loc), n in inclusive.most_common(top)],
    )


class Profiler:
    """py-spy recording a process until stopped; `stop()` returns the collapsed stacks."""

    def __init__(self, pid: int, output: Path, rate: int = 200) -> None:
        tool = py_spy()
        if tool is None:
            raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
        self.output = output
        self.process = subprocess.Popen(
            [
                tool,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--output",
                str(output),
                "--nonblocking",
                # Only threads holding the GIL: Python CPU work, not threads waiting in C calls.
                "--gil",
                # The workers of `serve --workers N` are the supervisor's children.
                "--subprocesses",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        # py-spy writes its output when interrupted (SIGINT), as after Ctrl-C.
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {stderr.decode(errors='replace')[-500:]}")
        return self.output.read_text()
