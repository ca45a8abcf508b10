"""Present's record rendering against a real catalog: syntaxes, element sets, message sizes."""

from __future__ import annotations

import pytest

from gateway.emulator.host import Gateway
from gateway.model import View
from gateway.records import parse_record
from protocols.z3950 import pdu as z
from protocols.z3950.ber import decode
from protocols.z3950.diagnostics import Bib1Diagnostic
from protocols.z3950.retrieval import RecordBatch, retrieve

IDS = [900001, 900002, 900003, 900004]


async def batch(gateway: Gateway, **overrides: object) -> RecordBatch:
    arguments: dict[str, object] = {
        "view": View.FIN01,
        "database": "fin01",
        "start": 1,
        "count": 4,
        "element_set": "F",
        "syntax": z.USMARC_SYNTAX,
        "preferred_message_size": 1 << 20,
        "exceptional_record_size": 1 << 22,
    }
    arguments.update(overrides)
    return await retrieve(gateway.catalog, IDS, **arguments)  # type: ignore[arg-type]


def entries(found: RecordBatch) -> list[tuple[str, bytes | int]]:
    """("record", data) or ("diagnostic", condition) for each NamePlusRecord."""
    out: list[tuple[str, bytes | int]] = []
    for item in decode(found.records).children:
        record = item.child(1)
        assert record is not None
        inner = record.only_child()
        if inner.number == 1:
            out.append(("record", inner.only_child().children[-1].octets()))
        else:
            out.append(("diagnostic", inner.only_child().children[1].integer()))
    return out


async def test_whole_batches_fit(catalogue: Gateway) -> None:
    found = await batch(catalogue)
    assert (found.returned, found.status) == (4, z.PresentStatus.SUCCESS)
    assert [kind for kind, _ in entries(found)] == ["record"] * 4


async def test_the_preferred_message_size_cuts_a_batch(catalogue: Gateway) -> None:
    full = entries(await batch(catalogue))
    first_two = sum(len(data) for _, data in full[:2] if isinstance(data, bytes))
    found = await batch(catalogue, preferred_message_size=first_two + 400)
    assert found.returned == 2
    assert found.status == z.PresentStatus.PARTIAL_MESSAGE_SIZE
    # a single record larger than the preferred size still comes, alone
    alone = await batch(catalogue, preferred_message_size=10)
    assert (alone.returned, alone.status) == (1, z.PresentStatus.PARTIAL_MESSAGE_SIZE)


async def test_a_record_over_the_exceptional_size_is_a_surrogate_diagnostic(
    catalogue: Gateway,
) -> None:
    found = await batch(catalogue, count=1, preferred_message_size=10, exceptional_record_size=100)
    assert entries(found) == [("diagnostic", 17)]
    assert found.status == z.PresentStatus.PARTIAL_DIAGNOSTICS


async def test_brief_records_keep_the_identifying_fields(catalogue: Gateway) -> None:
    found = await batch(catalogue, count=1, element_set="b", syntax=z.XML_SYNTAX)
    [(kind, data)] = entries(found)
    assert kind == "record" and isinstance(data, bytes)
    brief = parse_record(data)
    assert {f.tag for f in brief.fields} == {
        "001",
        "003",
        "008",
        "020",
        "035",
        "100",
        "245",
        "264",
        "300",
    }


async def test_positions_past_the_end_are_surrogate_diagnostics(catalogue: Gateway) -> None:
    found = await batch(catalogue, start=3, count=4)
    assert [kind for kind, _ in entries(found)] == ["record", "record", "diagnostic", "diagnostic"]
    assert found.status == z.PresentStatus.PARTIAL_DIAGNOSTICS


@pytest.mark.parametrize(
    ("overrides", "condition"),
    [({"syntax": (1, 2, 840, 10003, 5, 101)}, 239), ({"element_set": "G"}, 25)],
)
async def test_unsupported_syntax_and_element_set(
    catalogue: Gateway, overrides: dict[str, object], condition: int
) -> None:
    with pytest.raises(Bib1Diagnostic) as raised:
        await batch(catalogue, **overrides)
    assert raised.value.condition == condition
