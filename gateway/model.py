"""Plain value types the catalog hands to protocols: stored records, result sets, users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import pymarc


class View(StrEnum):
    """Aleph database names: Melinda's native form, the form Alma consumes, and Asteri's
    name authorities (`fin11`, a base of its own)."""

    FIN01 = "fin01"
    FIN01ALMA = "fin01alma"
    FIN11 = "fin11"

    @property
    def is_authority(self) -> bool:
        return self is View.FIN11

    @classmethod
    def from_name(cls, name: str) -> View | None:
        try:
            return cls(name.strip().lower())
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as stored, in one view.

    `xml` is a complete MARCXML `<record xmlns="http://www.loc.gov/MARC21/slim">` element
    (UTF-8, no XML declaration) ready to be spliced into a response without re-parsing.
    """

    id: int
    seq: int
    datestamp: int  # seconds since the epoch, UTC
    deleted: bool
    xml: bytes
    view: View = View.FIN01
    iso2709: bytes | None = None  # the same record as ISO 2709, when stored and asked for
    # its stored OAI-PMH forms (`gateway.records.oai_forms`), when asked for: set specs as JSON, the
    # marc21 `<record>`; with them `xml` may be left empty (b"")
    oai_sets: str | None = None
    marc21: bytes | None = None

    @property
    def melinda_id(self) -> str:
        return f"{self.id:09d}"

    @property
    def updated(self) -> datetime:
        return datetime.fromtimestamp(self.datestamp, UTC)

    def record(self) -> pymarc.Record:
        """Parse the stored bytes into a pymarc record (costly; protocols splice `xml` when they can)."""
        from gateway.records.marcxml import parse_record

        return parse_record(self.xml)


@dataclass(frozen=True, slots=True)
class ResultSet:
    """Ids of the records a search found, in order, capped like Aleph's (20,000)."""

    ids: list[int]
    total: int  # hits before the cap

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class ScanTerm:
    term: str
    count: int


@dataclass(frozen=True, slots=True)
class User:
    """A staff user: belongs to a library and owns that library's LOW code(s)."""

    name: str
    library: str
    level: int = 30
    lows: frozenset[str] = frozenset()
    privileged: bool = False

    def owns_low(self, code: str) -> bool:
        return self.privileged or code.upper() in self.lows


@dataclass(frozen=True, slots=True)
class Library:
    code: str
    name: str
    sid_code: str
    lows: tuple[str, ...]
    ssh_keys: tuple[str, ...] = ()
    level: int = 30
    privileged: bool = False


@dataclass(slots=True)
class WriteResult:
    """What a create/update did: the record's id, the warnings, whether it was significant."""

    id: int
    created: bool
    warnings: list[object] = field(default_factory=list)
    significant_fields: list[str] = field(default_factory=list)
    changed: bool = True
