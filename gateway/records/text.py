"""The line-per-field text form of NatLibFi's marc-record-js (`245 10 ‡aTitle‡cResp`).

Melinda's tools print and compare records in this form (`MarcRecord.toString()`), and the
Aleph sequential fixtures give their expected results in it: `LDR` then the leader, control
fields as `TAG    value`, data fields as `TAG II ‡a…‡b…`, lines joined by a newline with
none after the last. As there, control fields come before data fields.
"""

from __future__ import annotations

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

from gateway.errors import MalformedRecordError

DELIMITER = "‡"


def record_to_text(record: pymarc.Record) -> str:
    lines = [f"LDR    {record.leader}"]
    lines.extend(f"{f.tag}    {f.data or ''}" for f in record.fields if f.control_field)
    for field in record.fields:
        if field.control_field:
            continue
        ind = field._indicators or (" ", " ")
        subfields = DELIMITER.join(f"{code}{value}" for code, value in field.subfields)
        lines.append(f"{field.tag} {ind[0] or ' '}{ind[1] or ' '} {DELIMITER}{subfields}")
    return "\n".join(lines)


def parse_text(text: str) -> pymarc.Record:
    """Read the form `record_to_text` writes."""
    leader = "00000nam a2200000 i 4500"
    fields: list[Field] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line:
            continue
        if len(line) < 7:
            raise MalformedRecordError("line too short for a field", position=f"line {number}")
        tag, data = line[:3], line[7:]
        if tag == "LDR":
            leader = data
            if len(leader) != 24:
                raise MalformedRecordError(
                    f"leader is {len(leader)} characters long, not 24",
                    position=f"line {number}, leader",
                )
        elif data.startswith(DELIMITER):
            fields.append(
                Field(
                    tag=tag,
                    indicators=Indicators(line[4], line[5]),
                    subfields=[Subfield(p[:1], p[1:]) for p in data[1:].split(DELIMITER)],
                )
            )
        else:
            field = Field(tag=tag, data=data)
            if not field.control_field:  # a letter tag with a plain value
                field.control_field = True
                field.data = data
                field._indicators = None
                field.subfields = []
            fields.append(field)
    record = pymarc.Record()
    record.leader = Leader(leader)
    record.fields = fields
    return record
