"""The generator's building blocks: pymarc objects made without re-validation, and the
check digits that make every generated ISBN and ISSN valid."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from pymarc import Field, Indicators, Leader, Record, Subfield

T = TypeVar("T")

MELINDA_PREFIX = "(FI-MELINDA)"
ASTERI_PREFIX = "(FIN11)"
# CAT histories run up to this day; a fixed end keeps the output independent of today's date.
FIRST_DAY = datetime.date(1995, 1, 1)
LAST_DAY = datetime.date(2024, 12, 31)

# ---------------------------------------------------------------------------------------------
# Fast field construction: generating a million records spends most of its time building
# pymarc objects, so fields are made without re-validating what is known to be well formed.
# ---------------------------------------------------------------------------------------------

# sf(("a", "value")) is a Subfield made at C speed (pymarc's Subfield is a NamedTuple)
sf: Callable[[tuple[str, str]], Subfield] = partial(tuple.__new__, Subfield)


new_object = object.__new__


def slow_field(tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
    return Field(tag, indicators, subfields)


def _fast_field(tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
    field = new_object(Field)
    field.tag = tag
    field._indicators = indicators
    field.subfields = subfields
    field.data = None
    field.control_field = False
    return field


def _slow_control(tag: str, data: str) -> Field:
    return Field(tag, data=data)


def _fast_control(tag: str, data: str) -> Field:
    field = new_object(Field)
    field.tag = tag
    field._indicators = None
    field.subfields = []
    field.data = data
    field.control_field = True
    return field


def _slow_record(leader: str, fields: list[Field]) -> Record:
    return Record(leader=leader, fields=fields)


def _fast_record(leader: str, fields: list[Field]) -> Record:
    """A Record as pymarc's constructor makes it (our leaders already hold the 22 and 4500 it
    would force into Leader/10-11 and /20-23)."""
    record = new_object(Record)
    record.leader = Leader(leader)
    record.fields = fields
    record.pos = 0
    record.force_utf8 = False
    record.to_unicode = True
    setattr(record, "_Record__pos", 0)  # noqa: B010 - the name-mangled slot of Record.__pos
    return record


def _record_state(record: Record) -> list[object]:
    missing = object()
    names = [("_Record" + n) if n.startswith("__") else n for n in getattr(Record, "__slots__", ())]
    state = [getattr(record, name, missing) for name in names]
    return [str(v) if isinstance(v, Leader) else v for v in state] + [type(record)]


def _state(field: Field) -> list[object]:
    """Every slot pymarc's constructor sets ("__pos" only exists once a field is iterated)."""
    missing = object()
    names = [n for n in getattr(Field, "__slots__", ()) if not n.startswith("__")]
    return [getattr(field, name, missing) for name in names] + [type(field)]


def _fast_path_matches_pymarc() -> bool:
    """The shortcut is used only while it builds exactly what pymarc's own constructor does."""
    subfields = [sf(("a", "x"))]
    indicators = Indicators("1", "0")
    fast, slow = _fast_field("245", indicators, list(subfields)), Field("245", indicators, subfields)
    control, slow_control = _fast_control("001", "1"), Field("001", data="1")
    return (
        bool(getattr(Field, "__slots__", ()))
        and _state(fast) == _state(slow)
        and _state(control) == _state(slow_control)
        and fast.as_marc("utf-8") == slow.as_marc("utf-8")
        and subfields == [Subfield("a", "x")]
        and _record_state(_fast_record(_LEADER_SAMPLE, [fast]))
        == _record_state(Record(leader=_LEADER_SAMPLE, fields=[fast]))
    )


_LEADER_SAMPLE = "00000nam a2200000 i 4500"


FAST_FIELDS = _fast_path_matches_pymarc()
if FAST_FIELDS:
    make_field, make_control, make_record = _fast_field, _fast_control, _fast_record
else:  # pragma: no cover - only on a pymarc whose Field/Record internals changed
    make_field, make_control, make_record = slow_field, _slow_control, _slow_record


def ind(first: str, second: str) -> Indicators:
    return Indicators(first, second)


BLANK = ind(" ", " ")




# ---------------------------------------------------------------------------------------------
# Identifier check digits (ISBN-10/13, ISSN): every generated identifier is valid.
# ---------------------------------------------------------------------------------------------


def isbn13_check_digit(first12: str) -> str:
    """The check digit of an ISBN-13 whose first twelve digits are `first12`."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_check_digit(first9: str) -> str:
    """The check digit (0-9 or X) of an ISBN-10 whose first nine digits are `first9`."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def issn_check_digit(first7: str) -> str:
    """The check digit (0-9 or X) of an ISSN whose first seven digits are `first7`."""
    total = sum(int(d) * (8 - i) for i, d in enumerate(first7))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def issn_with_check(first7: str) -> str:
    return f"{first7[:4]}-{first7[4:]}{issn_check_digit(first7)}"
