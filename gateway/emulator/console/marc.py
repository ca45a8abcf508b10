"""Records as a cataloguer reads them: Aleph's line format, a side-by-side diff, a summary line."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final

import pymarc

from gateway.records import aleph

_YEAR: Final = re.compile(r"\d{4}")


def field_line(field: pymarc.Field) -> str:
    """One field as Aleph's cataloguing client shows it: `245 10 $$aTitle$$cStatement`."""
    if field.control_field:
        return f"{field.tag}    {field.data or ''}"
    indicators = "".join((i or " ") for i in (field.indicator1, field.indicator2))
    subfields = "".join(f"$${s.code}{s.value}" for s in field.subfields)
    return f"{field.tag} {indicators} {subfields}"


def line_format(record: pymarc.Record) -> list[str]:
    """The record as lines: LDR first, then each field in stored order."""
    leader = str(record.leader) if record.leader is not None else ""
    return [f"LDR    {leader}", *(field_line(f) for f in record.fields)]


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of the side-by-side view: a fin01 line, a fin01alma line, and how they differ."""

    left: str
    right: str
    kind: str  # "same", "changed", "removed" (only in fin01), "added" (only in fin01alma)


def side_by_side(left: list[str], right: list[str]) -> list[DiffRow]:
    """The two views aligned line by line, differences named (difflib's opcodes)."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(DiffRow(line, line, "same") for line in left[a1:a2])
        elif op == "delete":
            rows.extend(DiffRow(line, "", "removed") for line in left[a1:a2])
        elif op == "insert":
            rows.extend(DiffRow("", line, "added") for line in right[b1:b2])
        else:
            old, new = left[a1:a2], right[b1:b2]
            for i in range(max(len(old), len(new))):
                a = old[i] if i < len(old) else ""
                b = new[i] if i < len(new) else ""
                kind = "changed" if a and b else ("removed" if a else "added")
                rows.append(DiffRow(a, b, kind))
    return rows


@dataclass(frozen=True, slots=True)
class Summary:
    """What a result list shows of a record."""

    melinda_id: str
    title: str
    author: str
    year: str
    lows: tuple[str, ...]
    deleted: bool


def _first_value(record: pymarc.Record, tags: tuple[str, ...], codes: str) -> str:
    for tag in tags:
        for field in record.get_fields(tag):
            parts = [s.value for s in field.subfields if s.code in codes]
            if parts:
                return " ".join(parts).strip(" /:;,.")
    return ""


def year_of(record: pymarc.Record) -> str:
    """008/07-10 when it is a year, else the first year in 264/260 $c."""
    fixed = record.get_fields("008")
    if fixed and fixed[0].data and _YEAR.fullmatch(fixed[0].data[7:11]):
        return fixed[0].data[7:11]
    for tag in ("264", "260"):
        for field in record.get_fields(tag):
            for value in field.get_subfields("c"):
                found = _YEAR.search(value)
                if found:
                    return found.group(0)
    return ""


def summary(melinda_id: str, record: pymarc.Record, *, deleted: bool = False) -> Summary:
    return Summary(
        melinda_id=melinda_id,
        title=_first_value(record, ("245",), "abnp") or "(no title)",
        author=_first_value(record, ("100", "110", "111", "130", "700", "710"), "abcdq"),
        year=year_of(record),
        lows=tuple(aleph.lows(record)),
        deleted=deleted,
    )


def sid_pairs(record: pymarc.Record) -> list[tuple[str, str]]:
    """(SID code, local id) of each SID field."""
    return [(code, local) for local, code in aleph.sids(record)]


@dataclass(frozen=True, slots=True)
class CatEntry:
    """One CAT field: who saved the record, at which level, when."""

    user: str
    level: str
    date: str
    time: str
    library: str

    @property
    def when(self) -> str:
        d, t = self.date, self.time
        day = f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 and d.isdigit() else d
        hour = f"{t[:2]}:{t[2:4]}" if len(t) == 4 and t.isdigit() else t
        return f"{day} {hour}".strip()


def cat_history(record: pymarc.Record) -> list[CatEntry]:
    """The record's CAT fields, newest first (Aleph appends each save's CAT)."""
    entries = []
    for field in aleph.cat_fields(record):

        def get(code: str, field: pymarc.Field = field) -> str:
            values = field.get_subfields(code)
            return values[0] if values else ""

        entries.append(CatEntry(get("a"), get("b"), get("c"), get("h"), get("l")))
    entries.reverse()
    return entries
