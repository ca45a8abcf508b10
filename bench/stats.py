"""Latency and throughput figures of one workload run: queries/s, p50 and p99."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (the smallest value with at least p % of values at or below it)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Throughput:
    """Requests done in a timed window: rate and latency percentiles in milliseconds."""

    requests: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float

    def as_json(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
        }


def throughput(latencies: Sequence[float], elapsed: float) -> Throughput:
    """Figures of `latencies` (seconds each) done in `elapsed` wall seconds."""
    if elapsed <= 0:
        raise ValueError("elapsed time must be positive")
    if not latencies:
        return Throughput(0, elapsed, 0.0, math.nan, math.nan)
    return Throughput(
        requests=len(latencies),
        seconds=elapsed,
        per_second=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
    )
