"""The values the catalog hands protocols besides records: sort keys, sets, results, caps."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.model import User

RESULT_SET_CAP = 20_000  # Aleph caps every result set here
PUBLISH_SLICE = 2_000  # records read and rewritten at a time while applying a publishing file


@dataclass(frozen=True, slots=True)
class SetInfo:
    """An OAI-PMH set: Melinda's named sets and one `low:CODE` per LOW code in use."""

    spec: str
    name: str
    description: str = ""


@dataclass(slots=True)
class PublishResult:
    """What one LOW-publishing file did to the library's LOWs (SFTP)."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    held: bool = False
    held_reason: str = ""
    replayed: bool = False  # the same file (by key) was applied before: its earlier result


@dataclass(slots=True)
class LoadReport:
    """What a bulk load did; rejected holds (position, reason)."""

    loaded: int = 0
    updated: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    replaced_ids: list[int] = field(default_factory=list)  # ids that were in the store already


SYSTEM_USER = User(name="GATEWAY", library="FIN01", level=30, privileged=True)
