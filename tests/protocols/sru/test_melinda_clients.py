"""What NatLibFi's own SRU clients send: record matching's sourceid queries, the validator's version=1."""

from __future__ import annotations

import pymarc
import pytest

from gateway.emulator.host import Gateway
from gateway.indexing import sourceid_key
from tests.protocols.sru.conftest import SruGet
from tests.protocols.sru.structure import SRU2, SRW, text_of


def sid_record(title: str, local_id: str, code: str) -> pymarc.Record:
    sf = pymarc.Subfield
    record = pymarc.Record(leader="00000nam a22000004i 4500")
    record.add_field(
        pymarc.Field(tag="008", data="200101s2020    fi ||||| |||| 00| 0 fin d"),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("0", "0"), subfields=[sf("a", title)]),
        pymarc.Field(tag="SID", subfields=[sf("c", local_id), sf("b", code)]),
    )
    return record


@pytest.mark.parametrize(
    ("local_id", "code", "key"),
    [
        ("VER2741384", "FI-KV", "VER2741384FIKV"),
        ("(ANDL100020)1077305", "sata", "1077305sata"),
        ("123457", "helka", "123457helka"),
        ("/10024/508126", "REPO_THESEUS", "/10024/508126REPO_THESEUS"),
        ("BTJ-123 45", "FI-BTJ", "BTJ12345FIBTJ"),
    ],
)
def test_sourceid_key_is_melindas(local_id: str, code: str, key: str) -> None:
    assert sourceid_key(local_id, code) == key


async def test_record_matching_finds_a_sid_with_a_hyphenated_source(
    gateway: Gateway, sru: SruGet
) -> None:
    await gateway.catalog.load(
        [
            sid_record("Kirja Kirjavälityksestä", "VER2741384", "FI-KV"),
            sid_record("Toinen", "(ANDL100020)1077305", "sata"),
            sid_record("Kolmas", "VER2741384", "helka"),
        ]
    )
    # the query melinda-record-matching builds from the incoming record's SID
    for query in (
        "melinda.sourceid=VER2741384FIKV",
        'melinda.sourceid="VER2741384FI-KV"',  # as catalogued, $c and $b joined
        "melinda.sourceid=1077305sata",
        'melinda.sourceid="(ANDL100020)1077305sata"',
    ):
        root = await sru(query=query, version="2.0")
        assert text_of(root, "numberOfRecords") == ["1"], query
    # Melinda's index keeps case: the key is not folded
    root = await sru(query="melinda.sourceid=ver2741384fikv", version="2.0")
    assert text_of(root, "numberOfRecords") == ["0"]


@pytest.mark.parametrize(
    ("asked", "answered"),
    [("1", "1.1"), ("1.0", "1.1"), ("1.1", "1.1"), ("1.2", "1.2"), ("2", "2.0"), ("2.0", "2.0")],
)
async def test_every_version_spelling_clients_send_is_answered(
    gateway: Gateway, sru: SruGet, asked: str, answered: str
) -> None:
    await gateway.catalog.load([sid_record("Versiotesti", "1", "helka")])
    root = await sru(query="dc.title=versiotesti", version=asked, operation="searchRetrieve")
    if answered == "2.0":  # SRU 2.0 responses carry no version element: the namespace says it
        assert root.tag == f"{{{SRU2}}}searchRetrieveResponse"
    else:
        assert root.findtext(f"{{{SRW}}}version") == answered
    assert text_of(root, "numberOfRecords") == ["1"]
    assert text_of(root, "uri") == []  # no diagnostic: records, as Melinda answers


async def test_a_version_nobody_speaks_is_still_diagnostic_5(sru: SruGet) -> None:
    root = await sru(query="dc.title=x", version="3.0", operation="searchRetrieve")
    assert text_of(root, "uri") == ["info:srw/diagnostic/1/5"]
