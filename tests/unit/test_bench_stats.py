"""The bench's latency figures: nearest-rank percentiles and queries/s."""

from __future__ import annotations

import math

import pytest

from bench.stats import percentile, throughput


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0


def test_percentile_ignores_input_order() -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 50) == 3.0


def test_p99_of_few_values_is_the_largest() -> None:
    assert percentile([0.001, 0.002, 0.5], 99) == 0.5


def test_percentile_refuses_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_throughput_figures_are_per_second_and_milliseconds() -> None:
    figures = throughput([0.010] * 99 + [0.200], elapsed=2.0)
    assert figures.requests == 100
    assert figures.per_second == 50.0
    assert figures.p50_ms == pytest.approx(10.0)
    assert figures.p99_ms == pytest.approx(10.0)
    assert throughput([0.010] * 98 + [0.200] * 2, elapsed=2.0).p99_ms == pytest.approx(200.0)
    assert figures.as_json()["per_second"] == 50.0


def test_throughput_of_nothing_has_no_percentiles() -> None:
    figures = throughput([], elapsed=1.0)
    assert figures.per_second == 0.0
    assert math.isnan(figures.p50_ms)
    with pytest.raises(ValueError):
        throughput([0.1], elapsed=0.0)
