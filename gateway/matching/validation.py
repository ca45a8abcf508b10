"""The checks that refuse a merge, as `melinda-record-match-validator` makes them; each names its rule.

Taken from the validator's tasks that are errors in a cataloguer's merge of two database
records (its `humanMerge` table) and from the merge reducers' own refusal (Leader/06-07):

| rule | refused when |
|---|---|
| `same-record` | the preferred and the other record are one record |
| `deleted` | either record is deleted (STA DELETED, Leader/05 `d`) |
| `test-record` | one is a test record (STA TEST) and the other is not |
| `host-component` | one is a component part (773/973) and the other is not |
| `record-type` | Leader/06 differs |
| `bibliographic-level` | Leader/07 differs (`a` and `b` count as one, as the reducers allow) |
| `same-low` | both carry a LOW of the same library (a database-internal merge may not) |
| `national-collection` | both carry a national collection's protected field of one tag (`$5 FENNI`, `VIOLA`, `FIKKA` on 59X/9XX) with different content |

The last is this project's reading of the national collections' protection (SPEC section 1):
the Merge program cannot keep two conflicting statements of one collection, so the national
library decides. The validator's warnings (title, 33X, 773 $g, audio/DVD sanity) are not
refusals in a cataloguer's merge and are not checked here.
"""

from __future__ import annotations

from typing import Final

import pymarc

from gateway import records
from gateway.errors import GatewayError
from gateway.indexing import fold
from gateway.matching.features import is_component

NATIONAL_COLLECTIONS: Final = frozenset({"FENNI", "VIOLA", "FIKKA"})


class MergeRefusedError(GatewayError):
    """Melinda would not merge these two records; `rule` names the check that refused."""

    def __init__(self, rule: str, reason: str) -> None:
        self.rule = rule
        self.reason = reason
        super().__init__(f"Merge refused ({rule}): {reason}")


def _is_test(record: pymarc.Record) -> bool:
    return any(
        v.strip().upper() == "TEST" for f in record.get_fields("STA") for v in f.get_subfields("a")
    )


def _leader(record: pymarc.Record, position: int) -> str:
    return str(record.leader)[position : position + 1]


def _national_fields(record: pymarc.Record) -> dict[tuple[str, str], set[str]]:
    """(tag, collection) -> the contents of that collection's protected 59X/9XX fields."""
    found: dict[tuple[str, str], set[str]] = {}
    for field in record.fields:
        tag = field.tag
        if field.is_control_field() or not (tag.startswith("59") or tag.startswith("9")):
            continue
        for owner in field.get_subfields("5"):
            code = owner.strip().upper()
            if code in NATIONAL_COLLECTIONS:
                content = " ".join(
                    fold(sf.value).strip(" .") for sf in field.subfields if sf.code != "5"
                )
                found.setdefault((tag, code), set()).add(content)
    return found


def check_merge(
    preferred_id: int, preferred: pymarc.Record, other_id: int, other: pymarc.Record
) -> None:
    """Raise MergeRefusedError naming the first rule that refuses merging `other` into
    `preferred` (two records of the database)."""
    if preferred_id == other_id:
        raise MergeRefusedError("same-record", f"{preferred_id:09d} cannot be merged with itself")
    check_record_pair(preferred, other, internal=True)


def check_record_pair(preferred: pymarc.Record, other: pymarc.Record, *, internal: bool) -> None:
    """The checks on the records' content; `internal` adds those of a merge of two database
    records (an incoming record may carry the LOW of the library it comes from)."""
    for label, record in (("preferred", preferred), ("other", other)):
        if records.is_deleted(record):
            raise MergeRefusedError(
                "deleted", f"the {label} record is deleted; deleted records cannot be merged"
            )
    if _is_test(preferred) != _is_test(other):
        raise MergeRefusedError(
            "test-record", "a test record (STA TEST) and a normal record cannot be merged"
        )
    if is_component(preferred) != is_component(other):
        raise MergeRefusedError(
            "host-component",
            "a component part (773) and a record that is not one cannot be merged",
        )
    if _leader(preferred, 6) != _leader(other, 6):
        raise MergeRefusedError(
            "record-type",
            f"the records' types differ (Leader/06 {_leader(preferred, 6)!r} and "
            f"{_leader(other, 6)!r})",
        )
    levels = {_leader(preferred, 7), _leader(other, 7)}
    if len(levels) > 1 and levels != {"a", "b"}:
        raise MergeRefusedError(
            "bibliographic-level",
            f"the records' bibliographic levels differ (Leader/07 {_leader(preferred, 7)!r} and "
            f"{_leader(other, 7)!r})",
        )
    if internal:
        shared = sorted(set(records.lows(preferred)) & set(records.lows(other)))
        if shared:
            raise MergeRefusedError(
                "same-low",
                f"both records carry LOW {', '.join(shared)}: records of the same local "
                "database cannot be merged",
            )
    mine, theirs = _national_fields(preferred), _national_fields(other)
    for key in sorted(mine.keys() & theirs.keys()):
        if mine[key] != theirs[key]:
            tag, code = key
            raise MergeRefusedError(
                "national-collection",
                f"both records carry {tag} $5 {code} with different content; the national "
                "collection's fields must be reconciled first",
            )
