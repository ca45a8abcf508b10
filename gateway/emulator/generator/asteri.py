"""Asteri authorities for the generator's persons and publishers: each has a fixed Asteri
number, bib headings link to it in any of the three `$0` forms, and `generate_authorities`
makes the authority records of the numbers a run links to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pymarc import Field, Indicators, Leader, Record, Subfield

from gateway.emulator.generator.pools import Name, all_names
from gateway.emulator.generator.vocabulary import MUSIC_LABELS, PUBLISHERS

PERSON_BASE = 100_000  # Asteri numbers of persons start after it, of corporate bodies after
BODY_BASE = 300_000
LINK_FORMS = ("(FIN11){:09d}", "(FI-ASTERI-N){:09d}", "http://urn.fi/URN:NBN:fi:au:finaf:{:09d}")
AUTHORITY_LEADER = "00000nz  a2200000n  4500"

_PERSONS: tuple[Name, ...] = all_names()
PERSON_IDS: dict[str, int] = {n.inverted: PERSON_BASE + i for i, n in enumerate(_PERSONS, 1)}
_BODIES: tuple[str, ...] = tuple(
    dict.fromkeys(p.name for group in (*PUBLISHERS.values(), MUSIC_LABELS) for p in group)
)
BODY_IDS: dict[str, int] = {name: BODY_BASE + i for i, name in enumerate(_BODIES, 1)}


def link(asteri_id: int, draw: float) -> str:
    """The `$0` of a link in the form `draw` (0 <= draw < 1) picks."""
    return LINK_FORMS[min(int(draw * len(LINK_FORMS)), len(LINK_FORMS) - 1)].format(asteri_id)


def person_dates(index: int) -> str:
    """Plausible dates for the person at `index`: some living (an open range)."""
    born = 1840 + (index * 37) % 160
    died = born + 45 + (index * 11) % 45
    return f"{born}-" if died > 2024 else f"{born}-{died}"


def authority_record(asteri_id: int) -> Record | None:
    """The authority record of a person or body the generator knows, else None."""
    record = Record()
    record.leader = Leader(AUTHORITY_LEADER)
    fields = [
        Field("001", data=f"{asteri_id:09d}"),
        Field("003", data="FI-ASTERI-N"),
        Field("008", data="860101|| anz|||aaa      |a ana     |||"),
        Field("040", Indicators(" ", " "), [Subfield("a", "FI-NL"), Subfield("b", "fin")]),
    ]
    if PERSON_BASE < asteri_id <= PERSON_BASE + len(_PERSONS):
        index = asteri_id - PERSON_BASE - 1
        name = _PERSONS[index]
        dates = person_dates(index)
        fields.append(
            Field(
                "100",
                Indicators("1", " "),
                [Subfield("a", f"{name.inverted},"), Subfield("d", dates)],
            )
        )
        fields.append(Field("400", Indicators("0", " "), [Subfield("a", name.direct)]))
    elif BODY_BASE < asteri_id <= BODY_BASE + len(_BODIES):
        fields.append(
            Field("110", Indicators("2", " "), [Subfield("a", _BODIES[asteri_id - BODY_BASE - 1])])
        )
    else:
        return None
    fields.append(Field("670", Indicators(" ", " "), [Subfield("a", "Melinda")]))
    record.fields = fields
    return record


def all_authority_ids() -> list[int]:
    """The Asteri number of every person and body the generator knows."""
    return [*PERSON_IDS.values(), *BODY_IDS.values()]


def generate_authorities(ids: Iterable[int]) -> Iterator[Record]:
    """The authority records of `ids` (in rising order) that the generator knows."""
    for asteri_id in sorted(set(ids)):
        record = authority_record(asteri_id)
        if record is not None:
            yield record
