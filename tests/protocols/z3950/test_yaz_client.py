"""yaz-client (the YAZ toolkit Koha uses underneath) against the running gateway's Z39.50 port."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.emulator.host import Gateway
from gateway.model import View
from gateway.records import parse_record, record_to_marcxml
from gateway.records.iso2709 import parse_iso2709, record_to_iso2709
from gateway.rules import fin01alma_view
from tests.protocols.z3950.conftest import (
    FILLER_COUNT,
    KOTISEUTU_ISSN,
    NUMMISUUTARIT_ISBN,
    VELJEKSET_ISBN,
    yaz_client,
)

pytestmark = pytest.mark.e2e


def hit_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"Number of hits: (\d+)", output)]


def diagnostics(output: str) -> list[tuple[int, str]]:
    """(condition, addinfo) of every Bib-1 diagnostic yaz-client printed."""
    return [
        (int(code), addinfo)
        for code, addinfo in re.findall(r"\[(\d+)\] [^\n]*?-- v\d addinfo '([^']*)'", output)
    ]


async def test_find_by_isbn_issn_title_author_subject_and_melinda_id(catalogue: Gateway) -> None:
    hyphenated = f"{VELJEKSET_ISBN[:3]}-{VELJEKSET_ISBN[3:6]}-{VELJEKSET_ISBN[6:]}"
    searches = [
        (f"@attr 1=7 {VELJEKSET_ISBN}", 1),
        (f"@attr 1=7 {hyphenated}", 1),
        (f"@attr 1=7 @attr 5=100 {NUMMISUUTARIT_ISBN}", 1),
        (f"@attr 1=8 {KOTISEUTU_ISSN}", 1),
        ("@attr 1=4 seitsemän", 2),
        ('@attr 1=4 @attr 4=2 "seitsemän veljestä"', 1),
        ('@attr 1=4 @attr 4=1 @attr 3=3 "veljestä romaani"', 1),
        ("@attr 1=4 @attr 5=1 seitse", 2),
        ("@attr 1=4 seitse", 0),
        ("@attr 1=4 @attr 3=1 @attr 5=1 tuntematon", 1),
        ("@attr 1=1003 kivi", 2),
        ('@attr 1=1003 @attr 4=1 "linna väinö"', 2),
        ("@attr 1=21 veljekset", 1),
        ("@attr 1=12 900003", 1),
        ("@attr 1=12 000900004", 1),
        ("@attr 1=1007 " + NUMMISUUTARIT_ISBN, 1),
        ("@attr 1=1016 linna", 2),
        ("@attr 1=1035 suutarit", 1),
        ("@attr 1=31 1954", 1),
        ("@attr 1=31 @attr 2=1 1870", 1),
        ("@attr 1=31 @attr 2=2 1870", 2),
        ("@attr 1=31 @attr 2=5 2015", 5),
        ("@attr 1=31 @attr 2=4 2015", 6),
        ("@attr 1=dc.title nummisuutarit", 1),
        ("kivi", 2),  # no use attribute: any
    ]
    script = "\n".join(f"find {query}" for query, _ in searches)
    output = await yaz_client(catalogue, script)
    assert "Connection accepted by v3 target" in output
    assert hit_counts(output) == [count for _, count in searches], output


async def test_boolean_combinations(catalogue: Gateway) -> None:
    searches = [
        ("@and @attr 1=1003 kivi @attr 1=4 seitsemän", 1),
        ("@or @attr 1=1003 kivi @attr 1=1003 linna", 4),
        ("@not @attr 1=1003 kivi @attr 1=4 nummisuutarit", 1),
        ("@and @or @attr 1=1003 kivi @attr 1=1003 linna @attr 1=4 seitsemän", 2),
        ("@and @attr 1=1003 testaaja @attr 1=31 @attr 2=4 2019", 2),
    ]
    output = await yaz_client(catalogue, "\n".join(f"find {q}" for q, _ in searches))
    assert hit_counts(output) == [count for _, count in searches], output


async def test_show_usmarc_and_xml_give_the_stored_record(
    catalogue: Gateway, tmp_path: Path
) -> None:
    usmarc, xml = tmp_path / "record.mrc", tmp_path / "record.xml"
    script = f"""
find @attr 1=12 900002
set_marcdump {usmarc}
format usmarc
show 1
set_marcdump {xml}
format xml
show 1
"""
    output = await yaz_client(catalogue, script)
    stored = await catalogue.catalog.get(900002)
    assert "Record type: USmarc" in output and "Record type: XML" in output
    assert usmarc.read_bytes() == record_to_iso2709(stored.record())
    assert xml.read_bytes() == stored.xml  # spliced, byte for byte
    assert "Nummisuutarit :" in output


async def test_fin01alma_differs_from_fin01_exactly_by_the_alma_conversions(
    catalogue: Gateway, tmp_path: Path
) -> None:
    native, alma, alma_xml = tmp_path / "fin01.mrc", tmp_path / "alma.mrc", tmp_path / "alma.xml"
    script = f"""
set_marcdump {native}
find @attr 1=7 {VELJEKSET_ISBN}
show 1
base FIN01ALMA
set_marcdump {alma}
find @attr 1=7 {VELJEKSET_ISBN}
show 1
format xml
set_marcdump {alma_xml}
show 1
"""
    output = await yaz_client(catalogue, script)
    assert hit_counts(output) == [1, 1]
    stored = await catalogue.catalog.get(900001)
    melinda_form = parse_iso2709(native.read_bytes())
    expected = fin01alma_view(
        melinda_form, record_id=900001, updated=stored.datestamp, deleted=False
    )
    assert alma.read_bytes() == record_to_iso2709(expected)
    assert alma.read_bytes() != native.read_bytes()
    fields = parse_record(alma_xml.read_bytes()).as_dict()["fields"]
    assert fields == expected.as_dict()["fields"]  # leaders differ only by the ISO 2709 lengths
    assert alma_xml.read_bytes() == (await catalogue.catalog.get(900001, View.FIN01ALMA)).xml
    # the conversions this record exercises: Asteri heading, local field, staleness 024
    assert expected["600"].indicator2 == "7" and expected["920"] is not None
    assert record_to_marcxml(expected) != record_to_marcxml(melinda_form)


async def test_scan_titles_authors_and_subjects(catalogue: Gateway) -> None:
    output = await yaz_client(
        catalogue,
        "scan @attr 1=4 seitsemän\nscan @attr 1=1003 kivi\nscan @attr 1=21 sotilaat\n"
        "scan @attr 1=7 x",
    )
    assert re.search(r"seitsemän kertomusta \(1\)", output), output
    assert re.search(r"seitsemän veljestä romaani \(1\)", output), output
    assert re.search(r"\* kivi aleksis \(2\)", output), output
    assert re.search(r"linna väinö \(2\)", output), output
    assert re.search(r"\* sotilaat \(1\)", output), output
    assert re.search(r"suutarit \(1\)", output), output


async def test_scan_of_an_index_that_cannot_be_scanned(catalogue: Gateway) -> None:
    output = await yaz_client(catalogue, "scan @attr 1=1016 kivi\nscan @attr 1=4 kivi")
    assert [code for code, _ in diagnostics(output)] == [114]
    assert re.search(r"nummisuutarit komedia viidessä näytöksessä \(1\)", output), output


async def test_unknown_database_is_a_diagnostic_and_the_association_survives(
    catalogue: Gateway,
) -> None:
    output = await yaz_client(
        catalogue, "find @attr 1=1003 kivi\nbase fin01\nfind @attr 1=1003 kivi", "nosuchbase"
    )
    assert diagnostics(output)[0] == (235, "nosuchbase")
    assert hit_counts(output) == [0, 2]


async def test_unsupported_attributes_get_their_bib1_diagnostics(catalogue: Gateway) -> None:
    queries = [
        ("@attr 1=9999 kivi", 114),
        ("@attr 1=nosuchindex kivi", 114),
        ("@attr 1=4 @attr 2=102 kivi", 117),
        ("@attr 1=4 @attr 2=1 kivi", 123),
        ("@attr 1=4 @attr 3=7 kivi", 119),
        ("@attr 1=4 @attr 4=104 kivi", 118),
        ("@attr 1=4 @attr 5=102 kivi", 120),
        ("@attr 1=4 @attr 6=9 kivi", 122),
        ("@attr 1=4 @attr 9=1 kivi", 113),
        ("@attrset 1.2.840.10003.3.2 @attr 1=4 kivi", 121),
        ("@attr 1=31 @attr 5=1 19", 123),
        ("@prox 0 1 0 2 k 2 @attr 1=4 kivi @attr 1=4 seitsemän", 110),
    ]
    script = "\n".join(f"find {q}" for q, _ in queries) + "\nfind @attr 1=1003 kivi"
    output = await yaz_client(catalogue, script)
    assert [code for code, _ in diagnostics(output)] == [code for _, code in queries], output
    assert hit_counts(output)[-1] == 2  # still the same association, still searching


async def test_present_out_of_range(catalogue: Gateway) -> None:
    output = await yaz_client(catalogue, "find @attr 1=1003 kivi\nshow 5\nshow 0\nshow 2+3\nshow 1")
    found = diagnostics(output)
    assert found[:2] == [(13, "5 of 2"), (13, "0 of 2")]
    # records that exist are sent, the positions past the end are surrogate diagnostics 13
    assert found[2:] == [(13, "3"), (13, "4")]
    assert output.count("Record type: USmarc") == 2


async def test_record_syntaxes_and_element_sets(catalogue: Gateway) -> None:
    output = await yaz_client(
        catalogue,
        "find @attr 1=12 900001\nformat sutrs\nshow 1\nformat usmarc\nelements B\nshow 1\n"
        "elements Q\nshow 1\nelements F\nshow 1\nformat xml\nelements B\nshow 1",
    )
    assert [code for code, _ in diagnostics(output)] == [239, 25]
    brief_xml = output.split("Record type: XML")[1]
    assert 'tag="245"' in brief_xml and 'tag="LOW"' not in brief_xml
    brief, full = output.split("Record type: USmarc")[1:3]
    assert "245 10 $a Seitsemän veljestä" in brief and "LOW" not in brief
    assert "600" not in brief and "650" not in brief
    assert "LOW    $a FENNI" in full and "650" in full


async def test_piggybacked_records_in_the_search_response(catalogue: Gateway) -> None:
    # yaz-client's `setnames`/`piggyback` defaults ask for none; ZOOM asks for them (zoomsh)
    output = await yaz_client(catalogue, "find @attr 1=1003 testaaja\nshow 1+20")
    assert hit_counts(output) == [FILLER_COUNT]
    assert output.count("Record type: USmarc") == FILLER_COUNT


async def test_login_with_user_and_password(catalogue: Gateway) -> None:
    accepted = await yaz_client(
        catalogue, "find @attr 1=1003 kivi", options=["-u", "kivi/kivi-salasana"]
    )
    assert "Connection accepted by v3 target" in accepted
    assert hit_counts(accepted) == [2]
    refused = await yaz_client(catalogue, "find kivi", options=["-u", "kivi/wrong"])
    assert "Connection rejected by v3 target" in refused
    assert "1011" in refused
    assert hit_counts(refused) == []


async def test_close_ends_the_association(catalogue: Gateway) -> None:
    output = await yaz_client(catalogue, "close")
    assert "Reason: finished" in output


async def test_sru_through_the_z3950_port(catalogue: Gateway) -> None:
    """YAZ's SRU mode against the Z39.50 port, the way Aleph and YAZ targets answer it."""
    output = await yaz_client(
        catalogue,
        "sru get 2.0\nquerytype cql\nfind dc.author=kivi\nshow 1",
        "fin01alma",
        scheme="http://",
    )
    assert "Received SRW SearchRetrieve Response" in output
    assert hit_counts(output) == [2, 2]
    assert '<datafield tag="024" ind1="8"' in output  # the Alma view


async def test_present_past_the_first_window_of_a_large_result_set(gateway: Gateway) -> None:
    """A search reads its first ids only; a present far into the set reads on from there."""
    import pymarc

    from gateway.records import new_record

    books = [
        new_record(
            "00000cam a2200000 i 4500",
            [
                pymarc.Field(tag="001", data=f"{700000 + n:09d}"),
                pymarc.Field(
                    tag="245",
                    indicators=pymarc.Indicators("0", "0"),
                    subfields=[pymarc.Subfield("a", f"Yhteinen nimeke {n}")],
                ),
            ],
        )
        for n in range(1, 301)
    ]
    await gateway.catalog.load(books)
    output = await yaz_client(
        gateway,
        """
        format xml
        find @attr 1=4 yhteinen
        show 250+1
        """,
    )
    assert re.search(r"Number of hits: 300\b", output), output
    assert '<controlfield tag="001">000700250</controlfield>' in output, output
