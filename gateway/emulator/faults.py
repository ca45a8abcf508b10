"""Fault injection: rules that make one interface's operations slow, fail or hang up on purpose."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from gateway.emulator.journal import INTERFACES

KINDS: Final = ("latency", "error", "drop")
ANY_OPERATION: Final = "*"


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood (the admin API answers 400 with the message)."""


@dataclass(slots=True)
class Fault:
    """One rule. Fires with `probability`, or for the next `count` matching requests."""

    id: int
    interface: str
    operation: str = ANY_OPERATION
    kind: str = "error"
    latency_ms: int = 0
    probability: float | None = None
    count: int | None = None  # remaining; the rule is gone when it reaches 0
    message: str = ""  # the error text, where the protocol's error form carries one
    retry_after: int = 1  # seconds, where the protocol's error form says when to come back
    fired: int = 0

    def matches(self, interface: str, operation: str) -> bool:
        return self.interface == interface and (
            self.operation == ANY_OPERATION or self.operation.lower() == operation.lower()
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(spec: Mapping[str, Any], fault_id: int) -> Fault:
    """A rule from the admin API's JSON; raises FaultSpecError saying what is wrong."""
    interface = str(spec.get("interface", "")).strip().lower()
    if interface not in INTERFACES or interface == "admin":
        raise FaultSpecError(f"interface must be one of {', '.join(INTERFACES[:-1])}")
    kind = str(spec.get("kind", "")).strip().lower()
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    operation = str(spec.get("operation") or ANY_OPERATION).strip() or ANY_OPERATION
    try:
        latency = int(spec.get("latency_ms", spec.get("ms", 0)) or 0)
        probability = spec.get("probability")
        probability = None if probability is None else float(probability)
        count = spec.get("count")
        count = None if count is None else int(count)
        retry_after = int(spec.get("retry_after", 1))
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"latency_ms, probability and count must be numbers: {exc}") from exc
    if kind == "latency" and not 0 < latency <= 600_000:
        raise FaultSpecError("a latency fault needs latency_ms between 1 and 600000")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise FaultSpecError("probability must be between 0 and 1")
    if not 0 <= retry_after <= 86_400:
        raise FaultSpecError("retry_after must be between 0 and 86400 seconds")
    if count is not None and count < 1:
        raise FaultSpecError("count must be at least 1")
    if probability is not None and count is not None:
        raise FaultSpecError("give probability or count, not both")
    if probability is None and count is None:
        probability = 1.0  # neither: every matching request until the rule is cleared
    return Fault(
        id=fault_id,
        interface=interface,
        operation=operation,
        kind=kind,
        latency_ms=latency,
        probability=probability,
        count=count,
        message=str(spec.get("message", "")),
        retry_after=retry_after,
    )


class Faults:
    """The active rules of one gateway; the first rule that fires wins."""

    def __init__(self, rng: random.Random | None = None, *, first_id: int = 1) -> None:
        self._rules: list[Fault] = []
        self._ids = itertools.count(first_id)  # workers number from their own range
        self._random = rng or random.Random()

    def replace(self, rules: list[Fault]) -> None:
        """Take these rules instead (another worker's changes)."""
        self._rules = list(rules)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = parse_fault(spec, next(self._ids))
        self._rules.append(fault)
        return fault

    def rules(self) -> list[Fault]:
        return list(self._rules)

    def clear(self) -> None:
        self._rules.clear()

    def remove(self, fault_id: int) -> bool:
        before = len(self._rules)
        self._rules = [f for f in self._rules if f.id != fault_id]
        return len(self._rules) != before

    def match(self, interface: str, operation: str) -> Fault | None:
        """The fault to apply to this request, if any; a counted rule uses up one request."""
        if not self._rules:
            return None
        for fault in self._rules:
            if not fault.matches(interface, operation):
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._rules.remove(fault)
            elif fault.probability is not None and self._random.random() >= fault.probability:
                continue
            fault.fired += 1
            return fault
        return None
