"""LOW publishing over SFTP with OpenSSH's sftp: uploads become LOWs and SIDs, with reports."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import tarfile

import aiohttp
import pytest

from gateway.publishing import AlmaHolding, alma_publishing_xml
from tests.protocols.sftp.conftest import LIBRARY, SID_CODE, PublishingLibrary

pytestmark = pytest.mark.e2e


async def harvested(library: PublishingLibrary) -> set[str]:
    """Melinda IDs an OAI-PMH harvest of the library's `low:CODE` set returns."""
    url = f"{library.gateway.http_url}/oai-pmh/bib"
    params = {
        "verb": "ListIdentifiers",
        "metadataPrefix": "melinda_marc",
        "set": f"low:{library.code}",
    }
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        body = await response.text()
    assert response.status == 200
    return set(
        re.findall(r"<identifier>oai:melinda\.kansalliskirjasto\.fi/(\d+)</identifier>", body)
    )


def holdings(*ids: int, withdrawn: bool = False) -> list[AlmaHolding]:
    return [AlmaHolding(f"99{n:04d}506253", n, withdrawn=withdrawn) for n in ids]


async def test_incremental_upload_adds_lows_and_sids(helka: PublishingLibrary) -> None:
    catalog = helka.gateway.catalog
    before = {n: (await catalog.get(n)).seq for n in (1, 2, 3, 4)}
    report = await helka.publish("helka_20261122.xml", [*holdings(1, 2, 3), *holdings(999)])

    assert report["status"] == "applied"
    assert report["library"] == LIBRARY
    assert report["counts"] == {"added": 3, "removed": 0, "unchanged": 0, "rejected": 1}
    assert report["added"] == ["000000001", "000000002", "000000003"]
    assert report["rejected"] == [
        {
            "record": 4,
            "line": 6,
            "mms_id": "990999506253",
            "melinda_id": "000000999",
            "reason": "unknown Melinda ID",
        }
    ]
    for n in (1, 2, 3):
        assert await helka.lows_and_sids(n) == ([LIBRARY], [(f"99{n:04d}506253", SID_CODE)])
        # the change sequence moves, so the next OAI-PMH harvest sees the new LOW
        assert (await catalog.get(n)).seq > before[n]
    assert await helka.lows_and_sids(4) == ([], [])
    assert (await catalog.get(4)).seq == before[4]
    assert await harvested(helka) == {"000000001", "000000002", "000000003"}

    listing = await helka.sftp("ls -1 incoming", "ls -1 archive", "ls -1 reports")
    assert listing.returncode == 0, listing.stderr
    assert "archive/helka_20261122.xml" in listing.stdout
    assert "incoming/helka_20261122.xml" not in listing.stdout
    assert "reports/helka_20261122.xml.report.txt" in listing.stdout
    text = helka.work / "report.txt"
    got = await helka.sftp(f"get reports/helka_20261122.xml.report.txt {text}")
    assert got.returncode == 0, got.stderr
    assert "Added:     3" in text.read_text()
    assert "MMS ID 990999506253, Melinda ID 000000999: unknown Melinda ID" in text.read_text()


async def test_withdrawn_records_lose_low_and_sid(helka: PublishingLibrary) -> None:
    await helka.publish("day1.xml", holdings(1, 2, 3, 4))
    report = await helka.publish("day2.xml.gz", [*holdings(2, 3, withdrawn=True), *holdings(5)])
    assert report["status"] == "applied"
    assert report["removed"] == ["000000002", "000000003"]
    assert report["added"] == ["000000005"]
    for n in (2, 3):
        assert await helka.lows_and_sids(n) == ([], [])
    for n in (1, 4, 5):
        assert (await helka.lows_and_sids(n))[0] == [LIBRARY]
    assert await harvested(helka) == {"000000001", "000000004", "000000005"}


async def test_same_file_twice_changes_nothing_the_second_time(helka: PublishingLibrary) -> None:
    catalog = helka.gateway.catalog
    first = await helka.publish("helka.xml", [*holdings(1, 2), *holdings(3, withdrawn=True)])
    assert first["counts"]["added"] == 2
    seqs = {n: (await catalog.get(n)).seq for n in (1, 2, 3)}
    second = await helka.publish("helka.xml", [*holdings(1, 2), *holdings(3, withdrawn=True)])
    assert second["status"] == "applied"
    assert second["counts"] == {"added": 0, "removed": 0, "unchanged": 3, "rejected": 0}
    assert {n: (await catalog.get(n)).seq for n in (1, 2, 3)} == seqs
    listing = await helka.sftp("ls -1 archive")
    assert "archive/helka.xml\n" in listing.stdout and "archive/helka.xml.1\n" in listing.stdout


async def test_full_file_that_would_remove_half_is_held(helka: PublishingLibrary) -> None:
    await helka.publish("start.xml", holdings(*range(1, 11)))
    held = await helka.publish("helka_full.xml", holdings(1, 2, 3, 4, 5))
    assert held["status"] == "held"
    assert held["held"] is True
    assert "5 of 10" in held["held_reason"]
    assert held["counts"]["removed"] == 0
    for n in range(1, 11):
        assert (await helka.lows_and_sids(n))[0] == [LIBRARY]
    text = helka.work / "held.txt"
    await helka.sftp(f"get reports/helka_full.xml.report.txt {text}")
    assert "Status:    held" in text.read_text()

    # a full file removing 10 % is applied: the LOW goes from the record it leaves out
    applied = await helka.publish("helka_full_2.xml", holdings(*range(1, 10), 11))
    assert applied["status"] == "applied"
    assert applied["removed"] == ["000000010"]
    assert applied["added"] == ["000000011"]
    assert await helka.lows_and_sids(10) == ([], [])


async def test_part_upload_is_processed_once_renamed(helka: PublishingLibrary) -> None:
    local = await helka.file("helka_0700.xml", holdings(6, 7))
    run = await helka.sftp(f"put {local} incoming/helka_0700.xml.part")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    assert await helka.lows_and_sids(6) == ([], [])
    listing = await helka.sftp("ls -1 incoming", "ls -1 reports")
    assert "incoming/helka_0700.xml.part" in listing.stdout
    assert ".report" not in listing.stdout

    run = await helka.sftp("rename incoming/helka_0700.xml.part incoming/helka_0700.xml")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    report = await helka.report("helka_0700.xml")
    assert report["added"] == ["000000006", "000000007"]
    listing = await helka.sftp("ls -1 incoming", "ls -1 archive", "ls -1 reports")
    assert listing.stdout.count("helka_0700") == 3, listing.stdout  # archive + two reports
    assert "archive/helka_0700.xml\n" in listing.stdout
    assert "part" not in listing.stdout.replace("sftp> ", "").replace("ls -1", "")


async def test_malformed_file_is_rejected_whole_with_its_line(helka: PublishingLibrary) -> None:
    data = b"".join(alma_publishing_xml(holdings(1, 2, 3)))
    local = helka.work / "broken.xml"
    local.write_bytes(data.replace(b"</leader>", b"</leadr>", 2))
    run = await helka.sftp(f"put {local} incoming/broken.xml")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    report = await helka.report("broken.xml")
    assert report["status"] == "rejected"
    assert "not well-formed XML" in report["error"]
    assert "(line 3, column " in report["error"]
    assert await helka.lows_and_sids(1) == ([], [])


async def test_tar_gz_of_xml_files_is_applied(helka: PublishingLibrary) -> None:
    local = helka.work / "BIBLIOGRAPHIC_1_full.tar.gz"
    with tarfile.open(local, "w:gz") as archive:
        for n, part in enumerate([holdings(1, 2), holdings(3)]):
            payload = b"".join(alma_publishing_xml(part))
            info = tarfile.TarInfo(f"BIBLIOGRAPHIC_1_{n}.xml")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    run = await helka.sftp(f"put {local} incoming/")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    report = await helka.report(local.name)
    assert (report["mode"], report["status"]) == ("full", "applied")
    assert report["added"] == ["000000001", "000000002", "000000003"]


async def test_user_name_is_the_library_code_in_any_case(helka: PublishingLibrary) -> None:
    run = await helka.sftp("ls -1", user="HeLkA")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-3:] == ["archive", "incoming", "reports"]


async def test_reports_and_archive_are_read_only(helka: PublishingLibrary) -> None:
    await helka.publish("x.xml", holdings(1))
    local = await helka.file("y.xml", holdings(2))
    refused = await asyncio.gather(
        helka.sftp(f"put {local} reports/y.xml"),
        helka.sftp(f"put {local} archive/y.xml"),
        helka.sftp(f"put {local} y.xml"),
        helka.sftp("rm reports/x.xml.report.json"),
        helka.sftp("rm archive/x.xml"),
        helka.sftp("rename archive/x.xml incoming/x.xml"),
        helka.sftp("mkdir incoming/sub"),
        helka.sftp("rmdir archive"),
    )
    for run in refused:
        assert run.returncode == 1, run
        assert "Permission denied" in run.stderr, run
    listing = await helka.sftp("ls -1 archive", "ls -1 reports")
    assert "archive/x.xml" in listing.stdout
    assert "reports/x.xml.report.json" in listing.stdout
    assert await helka.lows_and_sids(2) == ([], [])


async def test_size_and_count_limits_give_clear_failures(small_limits: PublishingLibrary) -> None:
    library = small_limits
    big = await library.file("big.xml", holdings(*range(1, 21)))
    assert big.stat().st_size > 2000
    run = await library.sftp(f"put {big} incoming/big.xml")
    assert run.returncode == 1
    assert "big.xml" in run.stderr

    small = await library.file("small.xml", holdings(1))
    listing = await library.sftp("ls -1 incoming")
    assert "big.xml" not in listing.stdout  # an upload over the limit is not kept
    for n in (1, 2):
        ok = await library.sftp(f"put {small} incoming/wait{n}.xml.part")
        assert ok.returncode == 0, ok.stderr
    third = await library.sftp(f"put {small} incoming/third.xml")
    assert third.returncode == 1

    # The messages themselves, as a client that shows the server's text sees them
    import asyncssh

    async with (
        asyncssh.connect(
            "127.0.0.1",
            library.port,
            username=library.code,
            client_keys=[str(library.key)],
            known_hosts=None,
        ) as conn,
        conn.start_sftp_client() as sftp,
    ):
        with pytest.raises(asyncssh.SFTPFailure, match="at most 2 may wait for processing"):
            await sftp.put(str(small), "incoming/third.xml")
        await sftp.remove("incoming/wait1.xml.part")
        with pytest.raises(asyncssh.SFTPFailure, match="at most 2000 bytes"):
            await sftp.put(str(big), "incoming/big.xml")


async def test_report_json_is_well_formed_for_gzip_upload(helka: PublishingLibrary) -> None:
    local = helka.work / "gz.xml.gz"
    local.write_bytes(gzip.compress(b"".join(alma_publishing_xml(holdings(8)))))
    run = await helka.sftp(f"put {local} incoming/")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    target = helka.work / "gz.json"
    await helka.sftp(f"get reports/gz.xml.gz.report.json {target}")
    assert json.loads(target.read_text())["added"] == ["000000008"]
