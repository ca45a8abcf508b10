"""The event loop `serve` runs on: uvloop (libuv, with its transports and callbacks in C) when
chosen and installed, else asyncio's own; every other command runs on asyncio's own."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

log = logging.getLogger("melinda.gateway")

_T = TypeVar("_T")

EVENT_LOOPS: Final = ("uvloop", "asyncio")

# Allocations between young collections (CPython's default: 700). A request makes thousands
# of short-lived objects (fields, subfields, tuples), nearly all freed by reference counting;
# at 700 the collector ran many times per request, measured at 7 % of a writer's CPU.
YOUNG_THRESHOLD: Final = 20_000


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop named `name`; None: asyncio's own (also when uvloop is absent,
    as on a platform it does not build for)."""
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        log.warning("uvloop is not installed: serving on asyncio's own event loop")
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, _T], event_loop: str) -> _T:
    """`asyncio.run(main)` on the named event loop."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Once serving: what start-up made (modules, the rule tables, the open store) moves out
    of the collector's generations for good, and young collections come less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
