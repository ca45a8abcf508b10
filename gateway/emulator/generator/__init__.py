"""Seeded, deterministic generator of realistic Finnish Melinda records for demos and benchmarks.

`generate_records(count, seed)` yields `pymarc.Record`s with Melinda ids start_id.. in 001: books,
serials, e-books, music recordings, component parts (773 $w to an earlier host of the same run),
Fennica and Viola national-bibliography records, brief acquisition and pre-publication records,
Aleph fields (STA, SID, CAT, LOW) as Melinda stores them, some deleted and some test records, and
some 505/520 fields over Aleph's 2000-byte field limit.

Determinism: one `random.Random(seed)` drives everything and only its `random()` is called (its
stream is stable across Python versions, unlike `choice`/`randrange`); nothing iterates a set or
depends on `hash()`, the clock or the locale, so the same seed gives the same records everywhere.

Speed: the word lists, name and subject pools and date tables are built once, fields are put
together from precomputed subfields and pymarc objects are made without re-validation, so a
record costs under 100 microseconds (`scripts/generate-records` prints records/s).

Names and subjects: 6XX yso labels and p-numbers and ISBN publisher prefixes are plausible, not
real look-ups. Every generated person and publisher has an Asteri number (`asteri.py`); main
entries and 600/610 link to it in any of the three `$0` forms, and `generate_authorities` makes
the authority records, with dates. Person names in bib records carry no `$d`: the `fin01alma`
view shows the authority's.
"""

from gateway.emulator.generator.asteri import generate_authorities
from gateway.emulator.generator.builder import generate_records
from gateway.emulator.generator.command import main
from gateway.emulator.generator.fields import (
    isbn10_check_digit,
    isbn13_check_digit,
    issn_check_digit,
)

__all__ = [
    "generate_authorities",
    "generate_records",
    "isbn10_check_digit",
    "isbn13_check_digit",
    "issn_check_digit",
    "main",
]
