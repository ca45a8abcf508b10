"""Validation on save: errors refuse a write, warnings come back with a successful one.

`validate(record, is_new=...)` returns every Problem it finds and never raises, whatever the
record holds. The checks, each with the message number the X-server prints as
`[NNNN] text - mandatory error` / `- warning` (`problem_number`; this project's own
numbering in Aleph's style, Aleph's real catalogue of check_doc messages is not public):

| no.  | check                                                          | new record | update  |
|------|----------------------------------------------------------------|------------|---------|
| 0101 | Leader present, 24 characters, printable ASCII                 | error      | error   |
| 0102 | Leader/06 type of record, Leader/07 bibliographic level valid  | error      | error   |
| 0103 | Leader/05, /08, /09 (`a`, UTF-8), /17, /18, /20-23 valid         | warning    | warning |
| 0110 | 245 present                                                    | error      | error   |
| 0111 | 245 not repeated                                               | warning    | warning |
| 0120 | 008 present                                                    | error      | warning |
| 0121 | 008 is 40 characters                                           | error      | error   |
| 0130 | 260 or 264 present (full records)                              | error      | warning |
| 0131 | 300 present (full records)                                     | error      | warning |
| 0132 | 336, 337, 338 each present (full records)                      | error      | warning |
| 0140 | tag is three digits or capital letters                         | error      | error   |
| 0141 | indicator is a digit, a lower-case letter or blank             | error      | error   |
| 0142 | subfield code is a digit or a lower-case letter                | error      | error   |
| 0143 | no empty control field, data field or subfield (CAT exempt)    | error      | error   |
| 0144 | text is valid Unicode (no lone surrogates) without control chars| error      | error   |
| 0150 | the record as ISO 2709 is at most 45,000 bytes                 | error      | error   |
| 0199 | a field that cannot be read at all                             | error      | error   |

"Full records" are those whose Leader/17 is not `5`, `7` or `8` (brief acquisition and
pre-publication records are exempt). Updates get warnings where new records get errors
because Melinda's existing records often lack them (real records without 008 or 300 are
still updated every day); a bad 008 length, like every structural problem, is an error
either way. `^` counts as a blank in the Leader, as in Aleph's own display. CAT is exempt
from the empty-subfield check: Aleph writes CAT with an empty `$b` itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pymarc

from gateway.errors import Problem

MAX_RECORD_BYTES = 45_000
ERROR = "error"
WARNING = "warning"

# Numbered message templates; `problem_number` reads the number back from a message.
MESSAGES: dict[str, str] = {
    "0101": "Leader {detail}",
    "0102": "Leader/{position} has invalid value '{value}' ({meaning})",
    "0103": "Leader/{position} has unexpected value '{value}' ({meaning})",
    "0110": "Field 245 (title) is missing",
    "0111": "Field 245 is repeated",
    "0120": "Field 008 is missing",
    "0121": "Field 008 is {length} characters long; it must be 40",
    "0130": "Publication field 260 or 264 is missing",
    "0131": "Field 300 (physical description) is missing",
    "0132": "Field {tag} ({meaning}) is missing",
    "0140": "Invalid tag '{tag}'",
    "0141": "Invalid {which} indicator '{value}'",
    "0142": "Invalid subfield code '{value}'",
    "0143": "{what} is empty",
    "0144": "{what} has invalid characters: {detail}",
    "0150": "Record is {size} bytes as ISO 2709; the limit is 45,000",
    "0199": "Field cannot be read: {detail}",
}
# Most literal text first, so a template that is mostly placeholder matches last.
_MESSAGE_PATTERNS = [
    (number, re.compile("^" + re.sub(r"\\\{\w+\\\}", ".*", re.escape(template)) + "$", re.S))
    for number, template in sorted(
        MESSAGES.items(), key=lambda item: -len(re.sub(r"\{\w+\}", "", item[1]))
    )
]
BRIEF_LEVELS = frozenset("578")
RECORD_TYPES = frozenset("acdefgijkmoprt")
BIBLIOGRAPHIC_LEVELS = frozenset("abcdims")
RECORD_STATUSES = frozenset("acdnp")
CONTROL_TYPES = frozenset(" a")
ENCODING_LEVELS = frozenset(" 12345678uz")
CATALOGING_FORMS = frozenset(" acinu")
CONTENT_TYPE_FIELDS = {"336": "content type", "337": "media type", "338": "carrier type"}

_TAG = re.compile(r"^[0-9A-Z]{3}$")
_INDICATOR = re.compile(r"^[0-9a-z ]$")
_SUBFIELD_CODE = re.compile(r"^[0-9a-z]$")
# Characters neither XML 1.0 nor ISO 2709 can carry in a value (ISO 2709 uses 1D-1F itself).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_TEXT = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CODES = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def problem_number(problem: Problem) -> str:
    """The message number of a Problem `validate` made ("0110"), or "" for any other."""
    for number, pattern in _MESSAGE_PATTERNS:
        if pattern.match(problem.message):
            return number
    return ""


def _problem(
    severity: str, number: str, where: str = "", code: str = "", /, **parts: object
) -> Problem:
    """Problem `number` about field `where` (and subfield or indicator `code`)."""
    return Problem(severity, MESSAGES[number].format(**parts), where, code)


def validate(record: pymarc.Record, *, is_new: bool) -> list[Problem]:
    """Every problem found in `record`; never raises on arbitrary input."""
    try:
        return list(_validate(record, is_new=is_new))
    except Exception as exc:  # the contract: a broken record yields a problem, not a traceback
        return [_problem(ERROR, "0199", detail=f"{type(exc).__name__}")]


def _validate(record: Any, *, is_new: bool) -> Iterator[Problem]:
    leader = _leader_text(record)
    yield from _check_leader(leader)
    fields = list(getattr(record, "fields", None) or [])
    tags = [str(getattr(f, "tag", "")) for f in fields]
    full = leader is None or len(leader) != 24 or leader[17] not in BRIEF_LEVELS
    required = ERROR if is_new else WARNING

    if "245" not in tags:
        yield _problem(ERROR, "0110", "245")
    elif tags.count("245") > 1:
        yield _problem(WARNING, "0111", "245")
    if "008" not in tags:
        yield _problem(required, "0120", "008")
    if full:
        if "260" not in tags and "264" not in tags:
            yield _problem(required, "0130", "260")
        if "300" not in tags:
            yield _problem(required, "0131", "300")
        for tag, meaning in CONTENT_TYPE_FIELDS.items():
            if tag not in tags:
                yield _problem(required, "0132", tag, tag=tag, meaning=meaning)

    size = 24 + 1 + 1  # leader, directory terminator, record terminator
    for field in fields:
        try:
            problems, field_size = _check_field(field)
        except Exception as exc:  # one unreadable field must not hide the others' problems
            yield _problem(ERROR, "0199", str(getattr(field, "tag", "")), detail=type(exc).__name__)
            continue
        yield from problems
        size += 12 + field_size
    if size > MAX_RECORD_BYTES:
        yield _problem(ERROR, "0150", size=f"{size:,}")


def _leader_text(record: Any) -> str | None:
    leader = getattr(record, "leader", None)
    if leader is None:
        return None
    text = str(leader)
    # Aleph shows blanks in fixed fields as `^`; the fixtures carry such leaders.
    return text.replace("^", " ")


def _check_leader(leader: str | None) -> Iterator[Problem]:
    if leader is None or not leader.strip():
        yield _problem(ERROR, "0101", "LDR", detail="is missing")
        return
    if len(leader) != 24:
        yield _problem(
            ERROR, "0101", "LDR", detail=f"is {len(leader)} characters long; it must be 24"
        )
        return
    if not all(" " <= ch <= "~" for ch in leader):
        yield _problem(
            ERROR, "0101", "LDR", detail="contains characters other than printable ASCII"
        )
        return
    checks = (
        ("06", leader[6], RECORD_TYPES, "type of record", ERROR, "0102"),
        ("07", leader[7], BIBLIOGRAPHIC_LEVELS, "bibliographic level", ERROR, "0102"),
        ("05", leader[5], RECORD_STATUSES, "record status", WARNING, "0103"),
        ("08", leader[8], CONTROL_TYPES, "type of control", WARNING, "0103"),
        ("09", leader[9], frozenset("a"), "character coding: records are UTF-8", WARNING, "0103"),
        ("17", leader[17], ENCODING_LEVELS, "encoding level", WARNING, "0103"),
        ("18", leader[18], CATALOGING_FORMS, "descriptive cataloging form", WARNING, "0103"),
    )
    for position, value, allowed, meaning, severity, number in checks:
        if value not in allowed:
            yield _problem(
                severity, number, "LDR", position, position=position, value=value, meaning=meaning
            )
    if leader[20:24] != "4500":
        yield _problem(
            WARNING, "0103", "LDR", "20", position="20-23", value=leader[20:24],
            meaning="entry map: 4500",
        )  # fmt: skip


def _check_text(tag: str, code: str, what: str, text: str) -> Iterator[Problem]:
    if _SURROGATE.search(text):
        yield _problem(
            ERROR, "0144", tag, code, what=what, detail="a lone surrogate, not valid UTF-8"
        )
    elif _FORBIDDEN.search(text):
        char = _FORBIDDEN.search(text)
        shown = f"U+{ord(char.group()):04X}" if char else "?"
        yield _problem(ERROR, "0144", tag, code, what=what, detail=f"control character {shown}")


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _clean_subfields_size(tag: str, subfields: list[Any]) -> int | None:
    """The subfields' ISO 2709 size (with indicators and terminator) when none of them has
    a problem, else None: the common case in one pass and one search over all the text."""
    texts = []
    for subfield in subfields:
        code, text = subfield[0], subfield[1]
        if code.__class__ is not str or code not in _CODES or text.__class__ is not str:
            return None
        if text == "" and tag != "CAT":
            return None
        texts.append(text)
    joined = "".join(texts)
    if _BAD_TEXT.search(joined):
        return None
    return 2 + 1 + 2 * len(texts) + _utf8_size(joined)


def _check_field(field: Any) -> tuple[list[Problem], int]:
    """The field's problems and its size in ISO 2709 bytes (data and terminator)."""
    problems: list[Problem] = []
    tag_value = getattr(field, "tag", None)
    tag = tag_value if isinstance(tag_value, str) else str(tag_value)
    if not _TAG.match(tag):
        problems.append(_problem(ERROR, "0140", tag, tag=tag))
    if getattr(field, "control_field", False):
        data = field.data
        if not isinstance(data, str) or data == "":
            problems.append(_problem(ERROR, "0143", tag, what=f"Control field {tag}"))
            return problems, 1
        problems.extend(_check_text(tag, "", f"Field {tag}", data))
        if tag == "008" and len(data) != 40:
            problems.append(_problem(ERROR, "0121", tag, length=len(data)))
        return problems, _utf8_size(data) + 1

    indicators = getattr(field, "indicators", None) or ("", "")
    for which, position, value in (
        ("first", "ind1", indicators[0]),
        ("second", "ind2", indicators[1]),
    ):
        text = value if isinstance(value, str) else str(value)
        if not _INDICATOR.match(text):
            problems.append(_problem(ERROR, "0141", tag, position, which=which, value=text))
    subfields = list(getattr(field, "subfields", None) or [])
    if not subfields:
        problems.append(_problem(ERROR, "0143", tag, what=f"Field {tag}"))
    clean = _clean_subfields_size(tag, subfields)
    if clean is not None:
        return problems, clean
    size = 2 + 1
    for subfield in subfields:
        code_value, text_value = subfield[0], subfield[1]
        code = code_value if isinstance(code_value, str) else str(code_value)
        text = text_value if isinstance(text_value, str) else ""
        if not _SUBFIELD_CODE.match(code):
            problems.append(_problem(ERROR, "0142", tag, code, value=code))
        if text == "" and tag != "CAT":
            problems.append(_problem(ERROR, "0143", tag, code, what=f"Subfield ${code}"))
        problems.extend(_check_text(tag, code, f"Subfield ${code}", text))
        size += 1 + _utf8_size(code) + _utf8_size(text)
    return problems, size
