"""The staleness and CAT-conflict checks that keep a stale copy from overwriting newer data.

Two checks, both on the record exactly as it arrived (before `from_alma` drops the 024):

- Staleness (Alma's way): when the incoming record carries the fin01alma staleness field
  `024 8_ $a <Melinda ID> $d <YYYYMMDDhhmmss UTC>` and that $d is older than the stored
  record's last update (`current_updated`, epoch seconds), the update is stale
  (StaleRecordError, naming both timestamps). An equal timestamp is fresh: the view writes
  the stored record's own update time. A $d that is no valid timestamp is stale too: the
  copy's age cannot be shown. A record without the 024 is not checked this way. The 024 $a
  (the Melinda ID the copy came from) is not compared with `record_id`: which record an
  update targets is the caller's to say, as with Aleph's doc_num.
- CAT conflict (Melinda's REST API's way, its "Modification history mismatch (CAT)"): when
  the incoming record carries CAT fields, its CAT history must equal the stored one, else
  CatConflictError naming the first CAT line that differs. An incoming record without any
  CAT is no conflict: Alma strips CAT. As Melinda's validator does, empty subfields are
  ignored in the comparison; both histories are put in date/time order first (the store
  sorts CAT on output, so a re-sent copy may come back in another order). Unlike Melinda's
  validator, duplicate CATs are not folded into one: the CAT a save appends can equal the
  previous one to the minute, and folding would hide exactly that concurrent save.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pymarc

from gateway.errors import CatConflictError, StaleRecordError
from gateway.records.stamps import parse_staleness_stamp
from gateway.rules.alma import find_staleness

CatLine = tuple[tuple[str, str], ...]


def _human(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cat_history(record: pymarc.Record) -> list[CatLine]:
    """The record's CAT fields as (code, value) tuples, empty subfields left out, by date/time."""
    lines: list[CatLine] = []
    for field in record.fields:
        if field.tag != "CAT" or field.control_field:
            continue
        lines.append(tuple((sf.code, sf.value) for sf in field.subfields if sf.value.strip()))
    return sorted(lines, key=_cat_moment)  # stable: equal moments keep their order


def _cat_moment(line: CatLine) -> tuple[str, str]:
    values = dict(line)
    return values.get("c", ""), values.get("h", "")


def format_cat(line: CatLine | None) -> str:
    if line is None:
        return "(none)"
    return "CAT " + "".join(f"${code}{value}" for code, value in line)


def check_staleness(
    incoming: pymarc.Record, current: pymarc.Record, *, record_id: int, current_updated: int
) -> None:
    """Raise StaleRecordError / CatConflictError when `incoming` was built from an older copy.

    Pass `incoming` as received (before `from_alma`), `current` as stored.
    """
    stamp = find_staleness(incoming)
    if stamp is not None:
        _, given = stamp
        given_epoch = parse_staleness_stamp(given)
        if given_epoch is None or given_epoch < current_updated:
            shown = _human(given_epoch) if given_epoch is not None else f"{given!r} (invalid)"
            raise StaleRecordError(record_id, f"{shown} (024 $d {given})", _human(current_updated))

    incoming_cats = cat_history(incoming)
    if not incoming_cats:
        return
    stored_cats = cat_history(current)
    if incoming_cats == stored_cats:
        return
    for position in range(max(len(incoming_cats), len(stored_cats))):
        mine = incoming_cats[position] if position < len(incoming_cats) else None
        theirs = stored_cats[position] if position < len(stored_cats) else None
        if mine != theirs:
            raise CatConflictError(
                record_id,
                f"CAT line {position + 1}: the update has {format_cat(mine)}, "
                f"the stored record has {format_cat(theirs)}",
            )
