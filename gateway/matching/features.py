"""Match detection: features of two records compared one at a time and summed into a probability.

Read from the National Library's `melinda-record-matching` (match-detection/features/bib)
and the strategies `melinda-rest-api-validator` configures for each candidate search:
each feature is an `extract` (record -> comparable value) and a `compare` (two values ->
points); the points of the features both records have are summed and capped at 1.0, a
feature at -1.0 or below fails the pair outright, and a pair where no feature reaches 0.4
is no match. Weights are Melinda's:

| feature | points |
|---|---|
| Melinda ID (001 or 035 $a/$z of one in the other's) | 1.0 / 0 |
| source ids (SID of the same database) | 1.0 same id, -1.0 another id |
| host / component (773 in one only) | 0 / -1.0 |
| ISBN (normalised to ISBN-13; $a valid, $z cancelled) | 0.75, x0.8 per unshared; -0.75 |
| ISSN (022 $a $y $z) | 0.2 / -0.2 |
| publisher number (028 $b$a) | 0.5 letters shared, 0.2 digits; -0.2 |
| other standard identifier (024 $a $z) | 0.75 less 0.2 per mismatch, 0.1 per missing; -0.75 |
| title (245 $a $b $n $p) | 0.5 same, 0.4 near (Levenshtein >= 0.9), 0.25 $b in one only; -0.5, -1.0 other $n |
| authors (100/700 $a, $0) | up to 0.2 by name, 0.3 by ids |
| record type (Leader/06) | 0.1 / -0.5 |
| publication time (008/06-14, 773 $g year) | 0.1; -0.125 one year off; -1.0 |
| language (008/35-37, 041 $a $d) | up to 0.1; down to -1.0 |
| bibliographic level (Leader/07; a and b alike) | 0.1 / -0.2 |

Simplified here (and said so in the README): the title's number words and its $b/$p
shuffles are the common cases only; language ignores 041 $2 sources and Sami codes;
publication time reads 008 alone (the STANDARD_IDS strategy's reprint-year variant is
approximated by allowing one year's difference); ISBN validity is the check digit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pymarc

from gateway import records

FORCE_FAIL: Final = -1.0
MIN_QUALIFIER: Final = 0.4  # some feature must give this much for a pair to be a match at all


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature: what to take from a record, and how two takings compare."""

    name: str
    extract: Callable[[pymarc.Record], Any]
    compare: Callable[[Any, Any], float]


def _values(record: pymarc.Record, tags: Sequence[str], codes: str) -> list[tuple[str, str]]:
    return [
        (sf.code, sf.value)
        for field in record.get_fields(*tags)
        if not field.is_control_field()
        for sf in field.subfields
        if sf.code in codes and sf.value
    ]


def _control(record: pymarc.Record, tag: str) -> str:
    for field in record.get_fields(tag):
        return str(field.data or "")
    return ""


def _empty(value: Any) -> bool:
    """Features that one record lacks are not compared (an empty value, as Melinda does)."""
    if isinstance(value, dict):
        return not value
    if isinstance(value, (list, tuple, str)):
        return len(value) == 0
    return value is None


# --- identifiers ------------------------------------------------------------------------
def _melinda_ids(record: pymarc.Record) -> dict[str, Any]:
    own = records.melinda_id(record) if _control(record, "003").strip() == "FI-MELINDA" else None
    listed = {
        number
        for code, value in _values(record, ("035",), "az")
        if (number := records.parse_melinda_035(value)) is not None
    }
    if own is None and not listed:
        return {}
    return {"own": own, "listed": listed}


def _compare_melinda_ids(a: dict[str, Any], b: dict[str, Any]) -> float:
    a_all = a["listed"] | ({a["own"]} if a["own"] else set())
    b_all = b["listed"] | ({b["own"]} if b["own"] else set())
    return 1.0 if a_all & b_all else 0.0


def _source_ids(record: pymarc.Record) -> list[tuple[str, str]]:
    return [(b, c) for c, b in records.sids(record) if b and c]


def _compare_source_ids(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> float:
    if any(db_a == db_b and id_a != id_b for db_a, id_a in a for db_b, id_b in b):
        return -1.0  # one local database, two different local records: never the same
    if set(a) & set(b):
        return 1.0
    return 0.0


def _isbn13(value: str) -> str | None:
    """A valid ISBN's ISBN-13 form; None for anything whose check digit fails."""
    compact = "".join(c for c in value.upper() if c.isdigit() or c == "X")
    if len(compact) == 10 and compact[:9].isdigit():
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(compact))
        if total % 11:
            return None
        body = "978" + compact[:9]
    elif len(compact) == 13 and compact.isdigit() and compact[:3] in ("978", "979"):
        if sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(compact)) % 10:
            return None
        return compact
    else:
        return None
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


@dataclass(frozen=True, slots=True)
class _Isbns:
    good: frozenset[str]  # valid 020 $a, as ISBN-13
    bad_a: frozenset[str]  # invalid 020 $a, as typed without hyphens
    cancelled: frozenset[str]  # valid 020 $z
    bad_z: frozenset[str]


def _isbn_value(value: str) -> tuple[bool, str]:
    text = value.strip().removesuffix(". -")
    head = text.split(" ", 1)[0]  # "951-1-1234-5 sidottu": the number alone
    found = _isbn13(head) or _isbn13(text)
    return (True, found) if found else (False, text.replace("-", ""))


def _isbns(record: pymarc.Record) -> _Isbns | None:
    found: dict[str, set[str]] = {"ga": set(), "ba": set(), "gz": set(), "bz": set()}
    for code, value in _values(record, ("020",), "az"):
        valid, normal = _isbn_value(value)
        found[("g" if valid else "b") + code].add(normal)
    if not any(found.values()):
        return None
    return _Isbns(*(frozenset(found[k]) for k in ("ga", "ba", "gz", "bz")))


def _scaled(score: float, unshared: int) -> float:
    return round(score * 0.8 ** max(unshared, 0), 2)


def _compare_isbns(a: _Isbns, b: _Isbns) -> float:
    shared = a.good & b.good
    unshared = len(a.good - b.good) + len(b.good - a.good)
    if shared:
        return _scaled(0.75, unshared)
    if (a.good & b.cancelled) or (b.good & a.cancelled):
        return _scaled(0.75, unshared - 1)  # one calls it valid, the other cancelled
    if (a.cancelled & b.cancelled) or (a.bad_a & (b.bad_a | b.bad_z)) or (b.bad_a & a.bad_z):
        return _scaled(0.5, unshared)
    if not (a.good or a.bad_a) or not (b.good or b.bad_a):
        return 0.0
    if (a.good | a.bad_a | a.cancelled | a.bad_z) & (b.good | b.bad_a | b.cancelled | b.bad_z):
        return 0.0
    return -0.75


_ISSN: Final = re.compile(r"^\d{4}-\d{3}[\dX]$")


def _issns(record: pymarc.Record) -> list[str]:
    found = [re.sub(r"[., :;].*$", "", v) for _, v in _values(record, ("022",), "ayz")]
    return sorted({v for v in found if _ISSN.match(v)})


def _compare_issns(a: list[str], b: list[str]) -> float:
    return 0.2 if set(a) & set(b) else -0.2


def _publisher_numbers(record: pymarc.Record) -> list[str]:
    found: list[str] = []
    for field in record.get_fields("028"):
        a = field.get("a") or ""
        if not re.search(r"\d", a):
            continue
        b = field.get("b") or ""
        if b:
            found.append(re.sub(r"[- .,:;]", "", b + a).lower())
        found.append(re.sub(r"[- .,:;]", "", a).lower())
    return sorted(set(found))


def _compare_publisher_numbers(a: list[str], b: list[str]) -> float:
    shared = set(a) & set(b)
    if shared:
        return 0.5 if any(re.search(r"\D", s) for s in shared) else 0.2
    digits_a = {re.sub(r"\D", "", v) for v in a} - {""}
    digits_b = {re.sub(r"\D", "", v) for v in b} - {""}
    return 0.0 if digits_a & digits_b else -0.2


def _other_identifiers(record: pymarc.Record) -> list[tuple[str, str]]:
    return sorted(
        {(code, value.replace("-", "")) for code, value in _values(record, ("024",), "az")}
    )


def _compare_other_identifiers(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> float:
    a_valid = {v for c, v in a if c == "a"}
    b_valid = {v for c, v in b if c == "a"}
    if a_valid and b_valid:
        matching = len(a_valid & b_valid)
        if not matching:
            return -0.75
        most, fewest = max(len(a_valid), len(b_valid)), min(len(a_valid), len(b_valid))
        return 0.75 - 0.2 * (fewest - matching) - 0.1 * (most - fewest)
    a_all, b_all = {v for _, v in a}, {v for _, v in b}
    return len(a_all & b_all) / max(len(a_all), len(b_all)) * 0.2


# --- host and component -----------------------------------------------------------------
def is_component(record: pymarc.Record) -> bool:
    """A component part: it names its host in 773 (or Viola's 973)."""
    return bool(record.get_fields("773", "973"))


def _host_component(record: pymarc.Record) -> str:
    return "component" if is_component(record) else "host"


def _compare_host_component(a: str, b: str) -> float:
    return 0.0 if a == b else -1.0


# --- title -------------------------------------------------------------------------------
_NUMBER_WORDS: Final = (
    (r"\b(?:one|yksi|ett|ein|uno|i)\b", "1"),
    (r"\b(?:two|kaksi|två|zwei|dos|ii)\b", "2"),
    (r"\b(?:three|kolme|tre|drei|tres|iii)\b", "3"),
    (r"\b(?:four|neljä|fyra|vier|iv)\b", "4"),
    (r"\b(and|ja|och|und)\b", "&"),
)
_NOT_TITLE_CHARS: Final = re.compile(r"[^\w& ]")


def normalise_title(text: str) -> str:
    """Diacritics off, number words as digits, punctuation away, lower-cased."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    for pattern, digit in _NUMBER_WORDS:
        text = re.sub(pattern, digit, text)
    text = _NOT_TITLE_CHARS.sub("", text.replace("_", " "))
    return " ".join(text.split())


def title_of(record: pymarc.Record, codes: str = "abnp") -> str:
    """The first 245's subfields `codes`, punctuation between them and [bracketed] parts
    dropped, non-filing characters skipped."""
    for field in record.get_fields("245"):
        parts = [sf.value for sf in field.subfields if sf.code in codes and sf.value]
        text = re.sub(r" [=/:](?:$| )", " ", " ".join(parts))
        clean = " ".join(re.sub(r"\[[^\]]*\]", " ", text).split()) or " ".join(text.split())
        skip = field.indicator2
        if skip in "12345678" and len(clean) > int(skip):
            return clean[int(skip) :]
        return clean
    return ""


def _title(record: pymarc.Record) -> tuple[str, str, str, str]:
    a = title_of(record, "a")
    if not a:
        return ("", "", "", "")
    parts = (normalise_title(title_of(record, code)) for code in "bnp")
    return (normalise_title(a), *parts)  # type: ignore[return-value]


def bounded_similarity(a: str, b: str, floor: float) -> float:
    """1 - Levenshtein distance / longer length, or 0.0 as soon as it must fall below
    `floor` (a banded computation: titles are compared by the hundred per record)."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    limit = int((1.0 - floor) * longest)  # the most edits that still reach the floor
    if abs(len(a) - len(b)) > limit:
        return 0.0
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [limit + 1] * len(b)
        low, high = max(1, i - limit), min(len(b), i + limit)
        for j in range(low, high + 1):
            cost = 0 if char_a == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return 0.0
        previous = current
    distance = previous[len(b)]
    return 1.0 - distance / longest if distance <= limit else 0.0


_TITLE_MAX: Final = 0.5


def _compare_title(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> float:
    (aa, ab, an, ap), (ba, bb, bn, bp) = a, b
    if not aa or not ba:
        return FORCE_FAIL
    full_a, full_b = "".join(a), "".join(b)
    if full_a == full_b:
        return _TITLE_MAX
    if ab and ab == bb:
        return _compare_title((aa, "", an, ap), (ba, "", bn, bp))
    if an and an == bn:
        return _compare_title((aa, ab, "", ap), (ba, bb, "", bp))
    if ap and ap == bp:
        return _compare_title((aa, ab, an, ""), (ba, bb, bn, ""))
    if an and bn and re.sub(r"\D", "", an) == re.sub(r"\D", "", bn) != "":
        return _compare_title((aa, ab, "", ap), (ba, bb, "", bp))
    if an and an != bn:
        return FORCE_FAIL  # another part number is another part
    squeezed_a, squeezed_b = full_a.replace(" ", ""), full_b.replace(" ", "")
    if bounded_similarity(squeezed_a, squeezed_b, 0.9) >= 0.9:
        return _TITLE_MAX * 0.8
    if ab and bb:
        if ab.startswith(bb):
            return _compare_title((aa, ab[len(bb) :].strip(), an, ap), (ba, "", bn, bp))
        if bb.startswith(ab):
            return _compare_title((aa, "", an, ap), (ba, bb[len(ab) :].strip(), bn, bp))
    if bool(ap) != bool(bp):
        found = _compare_title((aa, ab, an, ""), (ba, bb, bn, ""))
        return found * 0.8 if found > 0 else found
    if aa == ba and an == bn and ap == bp and bool(ab) != bool(bb):
        return _TITLE_MAX / 2  # one record lacks the subtitle
    if an == bn and ap == bp and ((aa == bb and not ab) or (ba == ab and not bb)):
        return _TITLE_MAX / 2
    return -0.5


# --- authors ------------------------------------------------------------------------------
def _authors(record: pymarc.Record) -> list[tuple[str, str]]:
    found = []
    for field in record.get_fields("100", "700"):
        name = "".join(c for c in (field.get("a") or "").lower() if c.isalnum())
        found.append((name, field.get("0") or ""))
    return found


def _name_match(a: str, b: str) -> bool:
    if a == b:
        return True
    return bounded_similarity(a, b, 0.9) >= 0.9  # at most a tenth of the name differs


def _count_shared(values: list[str], same: Callable[[str, str], bool]) -> int:
    return sum(1 for v in values if sum(1 for w in values if same(v, w)) >= 2)


def _compare_authors(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> float:
    most = max(len(a), len(b))
    ids = [i for _, i in a if i] + [i for _, i in b if i]
    matching_ids = _count_shared(ids, str.__eq__)
    if most >= 3 and matching_ids >= 3:
        return 0.3
    names = [n for n, _ in a if n] + [n for n, _ in b if n]
    matching_names = _count_shared(names, _name_match)
    return min(matching_ids / most * 0.3 + matching_names / most * 0.2, 0.2)


# --- leader, time, language ---------------------------------------------------------------
def _record_type(record: pymarc.Record) -> tuple[str, bool]:
    kind = str(record.leader)[6:7]
    instrument_method = kind == "c" and any(
        re.search(r"instrumentskol|soitonopas", v, re.I) for _, v in _values(record, ("300",), "a")
    )
    return (kind, instrument_method)


def _compare_record_type(a: tuple[str, bool], b: tuple[str, bool]) -> float:
    if a[0] == b[0]:
        return 0.1
    if (a[0] == "a" and b[1]) or (b[0] == "a" and a[1]):
        return 0.0
    return -0.5


def _bibliographic_level(record: pymarc.Record) -> str:
    return str(record.leader)[7:8].strip()


def _compare_bibliographic_level(a: str, b: str) -> float:
    if a == b:
        return 0.1
    if {a, b} == {"a", "b"}:
        return 0.0  # Melinda has a million articles coded b that should be a
    return -0.2


_VALID_YEAR: Final = re.compile(r"^(?:1[89]\d\d|20[0-2]\d)$")


def _publication_time(record: pymarc.Record) -> dict[str, str]:
    data = _control(record, "008")
    part = data[6:15] if len(data) >= 16 else "|        "
    host_year = ""
    for field in record.get_fields("773"):
        found = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", " ".join(field.get_subfields("g")))
        host_year = found.group(1) if found else ""
        break
    return {"type": part[0], "date1": part[1:5], "date2": part[5:9], "host": host_year}


def _years_match(a: str, b: str) -> bool:
    return len(a) == len(b) and all(x == y or "u" in (x, y) for x, y in zip(a, b, strict=True))


def _between(start: str, year: str, end: str) -> bool:
    return all(_VALID_YEAR.match(y) for y in (start, year, end)) and start <= year <= end


def _compare_publication_time(a: dict[str, str], b: dict[str, str]) -> float:
    if a["host"] and a["host"] == b["host"]:
        return 0.1
    if a["type"] == "b":
        return 0.0 if b["type"] == "b" else -1.0
    if "n" in (a["type"], b["type"]):
        return 0.0
    if a["type"] == "q" or b["type"] == "q":
        q, other = (a, b) if a["type"] == "q" else (b, a)
        if other["type"] == "q":
            return 0.1 if a["date1"] == b["date1"] == b["date2"] else 0.0
        return 0.1 if _between(q["date1"], other["date1"], q["date2"]) else -1.0
    if {a["date1"], b["date1"]} & {"    ", "||||", "uuuu"}:
        return 0.0
    if _years_match(a["date1"], b["date1"]):
        return 0.1
    comparable = bool(_VALID_YEAR.match(a["date1"])) and b["date1"].isdigit()
    if comparable and abs(int(a["date1"]) - int(b["date1"])) == 1:
        return -0.125
    return -1.0


def _compare_publication_time_lenient(a: dict[str, str], b: dict[str, str]) -> float:
    """STANDARD_IDS' variant: consecutive years are no conflict (reprints, late copies)."""
    found = _compare_publication_time(a, b)
    return 0.0 if found == -0.125 else found


_NO_LANGUAGE: Final = frozenset({"   ", "|||", "und", "zxx", ""})


def _language(record: pymarc.Record) -> tuple[str, tuple[str, ...]]:
    data = _control(record, "008")
    code = data[35:38] if len(data) >= 38 else ""
    listed = sorted(
        {
            v.strip().lower()
            for _, v in _values(record, ("041",), "ad")
            if re.fullmatch(r"[A-Za-z]{3}", v.strip()) and v.strip().lower() != "zxx"
        }
    )
    return (code.strip().lower() if code.strip() not in ("", "|||") else "", tuple(listed))


def _compare_language_lists(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    a = tuple(x for x in a if x not in _NO_LANGUAGE)
    b = tuple(x for x in b if x not in _NO_LANGUAGE)
    if not a or not b:
        return 0.0
    if a == b:
        return 0.1
    if (a == ("mul",) and len(b) > 1) or (b == ("mul",) and len(a) > 1):
        return 0.0
    shared = set(a) & set(b)
    if not shared:
        return -1.0
    only_a, only_b = len(set(a) - shared), len(set(b) - shared)
    count = only_a + only_b
    if not only_a or not only_b:
        penalty = -0.3 if count > 3 else 0.1 - count * 0.1
    elif only_a == 1 and only_b == 1:
        penalty = -0.1
    else:
        penalty = -1.0 if count > 3 else count * -0.2
    return max(penalty / len(shared), -1.0)


def _compare_language(a: tuple[str, tuple[str, ...]], b: tuple[str, tuple[str, ...]]) -> float:
    score = 0.0
    if a[0] not in _NO_LANGUAGE and b[0] not in _NO_LANGUAGE:
        if a[0] == b[0]:
            score += 0.05
        elif "mul" not in (a[0], b[0]):
            score -= 0.2
    score += _compare_language_lists(a[1], b[1])
    return min(score, 0.1)


def _language_present(record: pymarc.Record) -> tuple[str, tuple[str, ...]] | None:
    found = _language(record)
    return found if (found[0] or found[1]) else None


# --- the features and the strategies that use them ----------------------------------------
MELINDA_ID = Feature("melinda-id", _melinda_ids, _compare_melinda_ids)
SOURCE_IDS = Feature("All source IDs", _source_ids, _compare_source_ids)
HOST_COMPONENT = Feature("Host/Component record", _host_component, _compare_host_component)
ISBN = Feature("ISBN", _isbns, _compare_isbns)
ISSN = Feature("ISSN", _issns, _compare_issns)
PUBLISHER_NUMBER = Feature(
    "Publisher or Distributor Number", _publisher_numbers, _compare_publisher_numbers
)
OTHER_STANDARD_IDENTIFIER = Feature(
    "Other standard identifier", _other_identifiers, _compare_other_identifiers
)
TITLE = Feature("Title", _title, _compare_title)
AUTHORS = Feature("Authors", _authors, _compare_authors)
RECORD_TYPE = Feature("Record type", _record_type, _compare_record_type)
PUBLICATION_TIME = Feature("Publication time", _publication_time, _compare_publication_time)
PUBLICATION_TIME_LENIENT = Feature(
    "Publication time", _publication_time, _compare_publication_time_lenient
)
LANGUAGE = Feature("Language", _language_present, _compare_language)
BIBLIOGRAPHIC_LEVEL = Feature(
    "Bibliographic level", _bibliographic_level, _compare_bibliographic_level
)

# melinda-rest-api-validator's detection strategy per candidate search
STRATEGIES: Final[dict[str, tuple[Feature, ...]]] = {
    "IDS": (MELINDA_ID, SOURCE_IDS),
    # no title here: the candidates were found by identifier, not by title
    # (the order of features changes no sum: those that can fail a pair come first, and a
    # candidate's comparison stops at the first failure)
    "STANDARD_IDS": (
        HOST_COMPONENT,
        ISBN,
        ISSN,
        PUBLISHER_NUMBER,
        OTHER_STANDARD_IDENTIFIER,
        PUBLICATION_TIME_LENIENT,
        AUTHORS,
        RECORD_TYPE,
        LANGUAGE,
        BIBLIOGRAPHIC_LEVEL,
    ),
    "CONTENT": (
        HOST_COMPONENT,
        PUBLICATION_TIME,
        TITLE,
        ISBN,
        ISSN,
        PUBLISHER_NUMBER,
        OTHER_STANDARD_IDENTIFIER,
        AUTHORS,
        RECORD_TYPE,
        LANGUAGE,
        BIBLIOGRAPHIC_LEVEL,
    ),
}


@dataclass(frozen=True, slots=True)
class Detection:
    """A pair's probability and each compared feature's points (for reports and tests)."""

    probability: float
    points: dict[str, float]


def extract_all(features: Sequence[Feature], record: pymarc.Record) -> list[Any]:
    """Every feature's value of one record (taken once, compared with each candidate)."""
    return [feature.extract(record) for feature in features]


def detect(features: Sequence[Feature], a: Sequence[Any], b: Sequence[Any]) -> Detection:
    """The probability that two records (as `extract_all` values) are the same resource."""
    points: dict[str, float] = {}
    for feature, value_a, value_b in zip(features, a, b, strict=True):
        if _empty(value_a) or _empty(value_b):
            continue  # a feature one record lacks says nothing
        points[feature.name] = feature.compare(value_a, value_b)
    return _probability(points)


def detect_candidate(
    features: Sequence[Feature], incoming: Sequence[Any], candidate: pymarc.Record
) -> Detection:
    """`detect` of an incoming record's values and a candidate record, taking from the
    candidate only the features the incoming record has, and stopping at the first that
    fails the pair (the probability is 0.0 then, whatever the rest would give)."""
    points: dict[str, float] = {}
    for feature, value_a in zip(features, incoming, strict=True):
        if _empty(value_a):
            continue
        value_b = feature.extract(candidate)
        if _empty(value_b):
            continue
        points[feature.name] = feature.compare(value_a, value_b)
        if points[feature.name] <= FORCE_FAIL:
            break
    return _probability(points)


def _probability(points: dict[str, float]) -> Detection:
    values = list(points.values())
    if not any(v >= MIN_QUALIFIER for v in values) or any(v <= FORCE_FAIL for v in values):
        return Detection(0.0, points)
    return Detection(round(min(sum(values), 1.0), 2), points)
