"""The `melinda-gateway` command with Asteri: `load`/`export --base fin11`, the fin01alma dates of
records loaded before their authorities, and `check-links`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pymarc
from lxml import etree

from gateway.records import write_marcxml_collection
from gateway.rules.fields import field_line, record_from_lines
from tests.e2e.cli_support import run_cli, serving
from tests.protocols.xserver.helpers import OaiMarc, XClient

AUT = "00000nz  a2200000n  4500"


def write(path: Path, records: list[pymarc.Record]) -> Path:
    with path.open("wb") as out:
        write_marcxml_collection(records, out)
    return path


def read(path: Path) -> list[pymarc.Record]:
    return list(pymarc.parse_xml_to_array(str(path)))  # type: ignore[no-untyped-call]


def test_load_export_and_check_links_of_the_authority_base(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    bibs = write(
        tmp_path / "bibs.xml",
        [
            record_from_lines("001 000000010", "100 1_$aKivi, Aleksis.$0(FIN11)000000001",
                              "245 10$aNummisuutarit."),
            record_from_lines("001 000000011", "700 1_$aLinna, Väinö.$0(FI-ASTERI-N)000000002",
                              "245 10$aTäällä Pohjantähden alla."),
            record_from_lines("001 000000012", "100 1_$aNobody.$0(FIN11)000000077",
                              "245 10$aKadonnut."),
        ],
    )  # fmt: skip
    authorities = write(
        tmp_path / "authorities.xml",
        [
            record_from_lines("001 000000001", "100 1_$aKivi, Aleksis,$d1834-1872", leader=AUT),
            record_from_lines("001 000000002", "100 1_$aLinna, Väinö,$d1920-1992", leader=AUT),
        ],
    )
    assert run_cli("load", "--data-dir", data, str(bibs)).returncode == 0
    loaded = run_cli("load", "--data-dir", data, "--base", "fin11", str(authorities))
    assert loaded.returncode == 0, loaded.stderr
    assert "fin01alma views refreshed for 2 linked bib records" in loaded.stdout
    assert "loaded 2, replaced 0, rejected 0" in loaded.stdout

    exported = tmp_path / "fin11.xml"
    done = run_cli("export", "--data-dir", data, "--base", "fin11", "--output", str(exported))
    assert done.returncode == 0, done.stderr
    assert [r["001"].data for r in read(exported)] == ["000000001", "000000002"]
    alma = tmp_path / "alma.xml"
    assert run_cli("export", "--data-dir", data, "--view", "fin01alma", "--output", str(alma)).returncode == 0
    headings = {
        r["001"].data: [field_line(f) for f in r.get_fields("100", "700")] for r in read(alma)
    }
    assert headings["000000010"] == ["100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001"]
    assert headings["000000011"] == ["700 1_$aLinna, Väinö,$d1920-1992.$0(FI-ASTERI-N)000000002"]
    assert headings["000000012"] == ["100 1_$aNobody.$0(FIN11)000000077"]  # kept as it is

    checked = run_cli("check-links", "--data-dir", data)
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        "000000012: $0 names Asteri 000000077, which is not there",
        "1 dangling Asteri link(s)",
    ]
    bad_base = run_cli("load", "--data-dir", data, "--base", "fin99", str(bibs))
    assert bad_base.returncode == 2 and "invalid choice: 'fin99'" in bad_base.stderr


LINKED = 3000  # six of the linking job's transactions: time to stop it half-way
FENNI_PASSWORD = "fenni-pw"


async def _following(http: aiohttp.ClientSession, base_url: str) -> int:
    """How many bib records carry the new heading, by SRU."""
    params = {
        "operation": "searchRetrieve",
        "version": "2.0",
        "query": "dc.author=stenvall",
        "maximumRecords": "0",
    }
    async with http.get(f"{base_url}/sru/bib", params=params) as response:
        body = etree.fromstring(await response.read())
    return int(body.findtext("{*}numberOfRecords") or "0")


async def test_a_linking_job_cut_short_by_kill_9_is_finished_by_the_next_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    bibs = [
        record_from_lines(f"001 {n:09d}", "100 1_$aKivi, Aleksis.$0(FIN11)000000001",
                          f"245 10$aTeos {n}.")
        for n in range(1, LINKED + 1)
    ]  # fmt: skip
    kivi = record_from_lines("001 000000001", "100 1_$aKivi, Aleksis,$d1834-1872", leader=AUT)
    # (the gateway's writer off the event loop: the test is a coroutine)
    bib_file = await asyncio.to_thread(write, tmp_path / "bibs.xml", bibs)
    aut_file = await asyncio.to_thread(write, tmp_path / "aut.xml", [kivi])
    for args in (
        ("load", str(bib_file)),
        ("load", "--base", "fin11", str(aut_file)),
        ("library", "add", "FENNI", "--password", FENNI_PASSWORD, "--privileged"),
    ):
        done = run_cli(*args, "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
    async with aiohttp.ClientSession() as http:
        with serving(data) as server:
            client = XClient(http, server.http)
            record = await client.find_doc("000000001", base="fin11")
            renamed = [
                ("100", "1", " ", [("a", "Kivi, Aleksis Stenvall,"), ("d", "1834-1872")])
                if f[0] == "100"
                else f
                for f in record.fields
            ]
            update = asyncio.create_task(
                client.post(
                    op="update-doc",
                    library="FIN11",
                    doc_action="UPDATE",
                    doc_num="000000001",
                    user_name="FENNI",
                    user_password=FENNI_PASSWORD,
                    xml_full_req=OaiMarc(record.leader, record.controls, renamed).find_doc(),
                )
            )
            deadline = time.monotonic() + 60
            while (following := await _following(http, server.http)) == 0:
                assert time.monotonic() < deadline and not update.done(), "no record followed"
                await asyncio.sleep(0.02)
            server.process.kill()  # SIGKILL, mid-job
            server.process.wait()
            await asyncio.gather(update, return_exceptions=True)
        assert following < LINKED, "the job ended before it could be stopped"
        with serving(data) as server:
            deadline = time.monotonic() + 120
            while (following := await _following(http, server.http)) < LINKED:
                assert time.monotonic() < deadline, f"{following} of {LINKED} follow"
                await asyncio.sleep(0.1)
    assert following == LINKED
