"""The generated corpus and the search terms drawn from it, the same for the gateway and Zebra."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymarc

# Search kinds: CQL index (SRU) and Bib-1 use attribute (Z39.50) of the same index.
KINDS: dict[str, tuple[str, int]] = {
    "isbn": ("bath.isbn", 7),
    "title": ("dc.title", 4),
    "author": ("dc.author", 1003),
    "id": ("rec.id", 12),
}


@dataclass(frozen=True)
class Query:
    kind: str
    term: str

    @property
    def cql(self) -> str:
        return f'{KINDS[self.kind][0]}="{self.term}"'

    @property
    def use(self) -> int:
        return KINDS[self.kind][1]


def generate(count: int, seed: int, output: Path, fmt: str) -> None:
    """Write the corpus with the project's generator (same seed, same records)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.emulator.generator",
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--format",
            fmt,
            "--output",
            str(output),
            "--quiet",
        ],
        check=True,
    )


def is_deleted(record: pymarc.Record) -> bool:
    """Leader/05 `d` or a DEL field: a record Melinda keeps but searches skip."""
    return str(record.leader)[5:6] == "d" or bool(record.get_fields("DEL"))


def _plain_word(word: str) -> bool:
    # ASCII letters only: Zebra's default charmap folds ASCII case only, the gateway folds
    # diacritics too, so words with å/ü would find different records in the two engines.
    return len(word) > 3 and word.isascii() and word.isalpha()


def terms_of(record: pymarc.Record) -> dict[str, list[str]]:
    """Search terms one record offers for each kind (empty lists when it has none)."""
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    control = record.get_fields("001")
    if control and control[0].data:
        found["id"].append(control[0].data.strip())
    for field in record.get_fields("020"):
        found["isbn"].extend(v.strip() for v in field.get_subfields("a") if v.strip())
    for field in record.get_fields("245"):
        for value in field.get_subfields("a"):
            for word in value.lower().split():
                word = word.strip(".,:;/=!?()[]'\"")
                if _plain_word(word):
                    found["title"].append(word)
    for field in record.get_fields("100", "700"):
        for value in field.get_subfields("a")[:1]:
            surname = value.split(",")[0].strip().lower()
            if _plain_word(surname):
                found["author"].append(surname)
    return found


def sample_queries(
    records: Iterable[pymarc.Record], *, seed: int, per_kind: int = 200
) -> dict[str, list[Query]]:
    """Up to `per_kind` distinct terms of each kind from live records, in a seeded random order."""
    pools: dict[str, list[str]] = {kind: [] for kind in KINDS}
    seen: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for record in records:
        if is_deleted(record):
            continue
        for kind, terms in terms_of(record).items():
            for term in terms:
                if term not in seen[kind]:
                    seen[kind].add(term)
                    pools[kind].append(term)
    picker = random.Random(seed)
    result: dict[str, list[Query]] = {}
    for kind, pool in pools.items():
        picker.shuffle(pool)
        result[kind] = [Query(kind, term) for term in pool[:per_kind]]
    return result


def iter_raw_iso2709(path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The records of an ISO 2709 file as raw bytes, each with its 0x1D terminator."""
    rest = b""
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_size):
            parts = (rest + chunk).split(b"\x1d")
            rest = parts.pop()
            for part in parts:
                if part.strip():
                    yield part + b"\x1d"
    if rest.strip():
        yield rest


def read_sample(iso2709: Path, *, every: int) -> list[pymarc.Record]:
    """Every `every`-th record of an ISO 2709 file: a spread over the whole corpus, parsing only
    the records picked (a million-record file is split, not parsed)."""
    picked: list[pymarc.Record] = []
    for n, raw in enumerate(iter_raw_iso2709(iso2709)):
        if n % every == 0:
            picked.append(pymarc.Record(data=raw, to_unicode=True, force_utf8=True))
    return picked


def is_deleted_raw(raw: bytes) -> bool:
    """Leader/05 `d` in a raw ISO 2709 record: Melinda's deleted records, which searches skip."""
    return raw[5:6] == b"d"


def write_live(source: Path, target: Path) -> int:
    """Copy the live records of an ISO 2709 file (deleted ones dropped); returns how many."""
    written = 0
    with target.open("wb") as out:
        for raw in iter_raw_iso2709(source):
            if not is_deleted_raw(raw):
                out.write(raw)
                written += 1
    return written
