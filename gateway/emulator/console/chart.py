"""The traffic charts as server-rendered SVG: requests per interface per minute, latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from markupsafe import Markup, escape

# One colour per interface, told apart in grey scale too (lightness steps), named in the legend.
COLOURS: Final = {
    "sru": "#1f5fa8",
    "xserver": "#b3541e",
    "oai-pmh": "#2e7d32",
    "z3950": "#6a3d9a",
    "sftp": "#8c6d00",
    "admin": "#666666",
}
WIDTH: Final = 720
HEIGHT: Final = 220
PAD_LEFT: Final = 48
PAD_BOTTOM: Final = 28
PAD_TOP: Final = 12


class Timed(Protocol):
    """What the charts need of a request (a journal entry has these)."""

    @property
    def time(self) -> float: ...

    @property
    def interface(self) -> str: ...

    @property
    def duration_ms(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Sample:
    """A request as the charts see it (for callers without journal entries)."""

    time: float
    interface: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Percentiles:
    interface: str
    count: int
    p50: float
    p90: float
    p99: float


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_table(samples: Sequence[Timed]) -> list[Percentiles]:
    """p50/p90/p99 of request milliseconds per interface, busiest first."""
    by_interface: dict[str, list[float]] = {}
    for s in samples:
        by_interface.setdefault(s.interface, []).append(s.duration_ms)
    rows = []
    for name, values in by_interface.items():
        values.sort()
        rows.append(
            Percentiles(
                name,
                len(values),
                percentile(values, 0.5),
                percentile(values, 0.9),
                percentile(values, 0.99),
            )
        )
    rows.sort(key=lambda r: (-r.count, r.interface))
    return rows


def per_minute(samples: Sequence[Timed], now: float, minutes: int) -> dict[str, list[int]]:
    """Requests per interface in each of the last `minutes` whole minutes (oldest first)."""
    end = int(now // 60) + 1
    start = end - minutes
    earliest = start * 60
    counts: dict[str, list[int]] = {}
    for s in samples:
        when = s.time
        if when < earliest:
            continue
        slot = int(when // 60) - start
        if slot < minutes:
            row = counts.get(s.interface)
            if row is None:
                row = counts[s.interface] = [0] * minutes
            row[slot] += 1
    return counts


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _frame(title: str, top: float, unit: str, labels: list[tuple[float, str]]) -> list[str]:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title-{escape(unit)}" class="chart">',
        f'<title id="chart-title-{escape(unit)}">{escape(title)}</title>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_number(top * fraction))}</text>"
        )
    for x, label in labels:
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def requests_chart(samples: Sequence[Timed], now: float, minutes: int = 30) -> Markup:
    """Stacked bars: requests per minute, one colour per interface."""
    counts = per_minute(samples, now, minutes)
    totals = [sum(c[i] for c in counts.values()) for i in range(minutes)]
    top = nice_ceiling(max(totals, default=0))
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    bar_w = plot_w / minutes
    labels = [
        (PAD_LEFT + bar_w * (i + 0.5), f"-{minutes - 1 - i}m" if i < minutes - 1 else "now")
        for i in range(minutes)
        if (minutes - 1 - i) % 5 == 0
    ]
    parts = _frame(f"Requests per minute, last {minutes} minutes", top, "requests", labels)
    for i in range(minutes):
        y = float(PAD_TOP + plot_h)
        for name in sorted(counts):
            value = counts[name][i]
            if not value:
                continue
            h = float(plot_h * value / top)
            y -= h
            parts.append(
                f'<rect x="{PAD_LEFT + bar_w * i + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS.get(name, "#444")}">'
                f"<title>{escape(name)}: {value}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def latency_chart(rows: Sequence[Percentiles]) -> Markup:
    """Grouped bars: p50, p90, p99 milliseconds per interface."""
    top = nice_ceiling(max((r.p99 for r in rows), default=0))
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    group_w = plot_w / max(len(rows), 1)
    labels = [(PAD_LEFT + group_w * (i + 0.5), r.interface) for i, r in enumerate(rows)]
    parts = _frame("Latency percentiles (ms): p50, p90, p99", top, "ms", labels)
    for i, row in enumerate(rows):
        colour = COLOURS.get(row.interface, "#444")
        bar_w = min(group_w / 4, 40)
        x0 = PAD_LEFT + group_w * (i + 0.5) - bar_w * 1.5
        for j, (name, value) in enumerate((("p50", row.p50), ("p90", row.p90), ("p99", row.p99))):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + bar_w * j:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
                f'width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{colour}" '
                f'fill-opacity="{(0.45, 0.7, 1.0)[j]}"><title>{escape(row.interface)} {name}: '
                f"{value:.1f} ms</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
