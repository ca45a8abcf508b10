"""Reading py-spy's collapsed stacks into the bench's hot-spot lists."""

from __future__ import annotations

import pytest

from bench.pyspy import hotspots

ROOT = "/srv/project"
COLLAPSED = "\n".join(
    [
        "<module> (gateway/cli.py:10);run (/usr/lib/python3.11/asyncio/runners.py:118);"
        f"search ({ROOT}/gateway/catalog.py:200);compile ({ROOT}/gateway/store/query.py:40) 30",
        "<module> (gateway/cli.py:10);run (/usr/lib/python3.11/asyncio/runners.py:118);"
        f"search ({ROOT}/gateway/catalog.py:200);fetch ({ROOT}/gateway/store/store.py:240) 50",
        "<module> (gateway/cli.py:10);"
        "_read_ready (/venv/lib/python3.11/site-packages/aiohttp/web_protocol.py:300) 20",
        "garbage line without count",
    ]
)


def test_own_time_is_the_leaf_frame_share() -> None:
    samples, own, _ = hotspots(COLLAPSED, ROOT)
    assert samples == 100
    assert [(h.function, h.location) for h in own] == [
        ("fetch", "gateway/store/store.py:240"),
        ("compile", "gateway/store/query.py:40"),
        ("_read_ready", "aiohttp/web_protocol.py:300"),
    ]
    assert [h.share for h in own] == pytest.approx([0.5, 0.3, 0.2])


def test_inclusive_time_counts_project_functions_once_per_stack() -> None:
    _, _, inclusive = hotspots(COLLAPSED, ROOT)
    shares = {(h.function, h.location): h.share for h in inclusive}
    assert shares[("<module>", "gateway/cli.py")] == pytest.approx(1.0)
    assert shares[("search", "gateway/catalog.py")] == pytest.approx(0.8)
    assert shares[("fetch", "gateway/store/store.py")] == pytest.approx(0.5)
    assert not any(loc.startswith("aiohttp") for _, loc in shares)


def test_no_samples_no_hotspots() -> None:
    assert hotspots("", ROOT) == (0, [], [])
