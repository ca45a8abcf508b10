"""The transformation of a joining library's record into Melinda's form, as Melinda's record import does it."""

from __future__ import annotations

from datetime import date
from typing import Final

import pymarc
from pymarc import Field, Subfield

from gateway import records
from gateway.errors import GatewayError
from gateway.model import Library

# Holdings and copy-level fields of the local system (MARC 21 holdings: 841-845, 852-855,
# 863-868, 876-878); Melinda keeps holdings in the libraries' own systems.
HOLDINGS_TAGS: Final = frozenset(
    {"841", "842", "843", "844", "845", "852", "853", "854", "855"}
    | {"863", "864", "865", "866", "867", "868", "876", "877", "878"}
)
# Control fields of the local system: its id (001, carried on as SID), its code, its stamp.
LOCAL_CONTROL_TAGS: Final = frozenset({"001", "003", "005"})


class TransformError(GatewayError):
    """A harvested record that cannot become a Melinda record (the report gives the reason)."""


def local_id(record: pymarc.Record) -> str:
    """The record's id in the library's system (its 001); raises TransformError without one."""
    fields = record.get_fields("001")
    value = (fields[0].data or "").strip() if fields else ""
    if not value:
        raise TransformError("no 001: the record has no local id to carry as SID")
    return value


def _local_035(record: pymarc.Record, own_id: str) -> str | None:
    """The 035 $a the local system builds from its 003 and 001, `(CODE)ID`: the local id again."""
    codes = record.get_fields("003")
    code = (codes[0].data or "").strip() if codes else ""
    return f"({code}){own_id}" if code else None


def _is_local_035(field: Field, own: str | None) -> bool:
    return own is not None and [v.strip() for v in field.get_subfields("a")] == [own]


def transform(record: pymarc.Record, library: Library, on: date) -> pymarc.Record:
    """The Melinda record made of a library's harvested record (a new record sharing
    `record`'s fields: do not use `record` after).

    - 001 (the local id) becomes `SID $c <local id> $b <SID code>`; `LOW <CODE>` is added;
    - dropped: the local 001/003/005, the 035 built from them, holdings (841-878), the 9XX
      local fields, and every Aleph field (LOW, SID, CAT, STA, … of the source system);
    - an `884` records the transformation: `$a <library> to Melinda MARC transformation
      $g <YYYYMMDD> $k <CODE>:<local id> $q FI-NL $5 MELINDA`.

    The save adds the CAT of the import user `IMP_<CODE>`.
    """
    own_id = local_id(record)
    own_035 = _local_035(record, own_id)
    code = library.code.upper()
    out = records.new_record(str(record.leader))
    for field in record.fields:
        tag = field.tag
        if not tag.isdigit():
            continue  # Aleph fields of the source system (its LOW/SID/CAT/STA)
        if tag in LOCAL_CONTROL_TAGS or tag in HOLDINGS_TAGS or tag.startswith("9"):
            continue
        if tag == "035" and _is_local_035(field, own_035):
            continue
        if tag == "884" and _is_our_884(field, code):
            continue  # an earlier transformation's note: this run writes its own
        out.fields.append(field)  # shared with `record`, which the harvest drops
    if not out.get_fields("245"):
        raise TransformError("no 245: a record without a title cannot enter Melinda")
    name = library.name.strip() or code
    records.insert_in_tag_order(
        out,
        Field(
            tag="884",
            indicators=[" ", " "],  # type: ignore[arg-type]
            subfields=[
                Subfield("a", f"{name} to Melinda MARC transformation"),
                Subfield("g", on.strftime("%Y%m%d")),
                Subfield("k", f"{code}:{own_id}"),
                Subfield("q", "FI-NL"),
                Subfield("5", "MELINDA"),
            ],
        ),
    )
    records.set_sid(out, library.sid_code, own_id)
    records.add_low(out, code)
    records.order_aleph_fields(out)
    return out


def _is_our_884(field: Field, code: str) -> bool:
    return any(v.startswith(f"{code}:") for v in field.get_subfields("k")) and any(
        v.endswith("to Melinda MARC transformation") for v in field.get_subfields("a")
    )
