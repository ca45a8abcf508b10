"""Hostile publishing files over SFTP: a DOCTYPE, or junk without records, is a rejected report."""

from __future__ import annotations

import pytest

from gateway.publishing import AlmaHolding, alma_publishing_xml
from tests.protocols.sftp.conftest import PublishingLibrary

pytestmark = pytest.mark.e2e


def holdings(*ids: int) -> list[AlmaHolding]:
    return [AlmaHolding(f"99{n:04d}506253", n) for n in ids]


async def upload(helka: PublishingLibrary, name: str, data: bytes) -> dict[str, object]:
    local = helka.work / name
    local.write_bytes(data)
    run = await helka.sftp(f"put {local} incoming/{name}")
    assert run.returncode == 0, run.stderr
    await helka.settled()
    return await helka.report(name)


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE collection [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>',
        b'<!DOCTYPE collection SYSTEM "http://127.0.0.1:9/collection.dtd">',
    ],
)
async def test_a_publishing_file_with_a_doctype_is_rejected(
    helka: PublishingLibrary, doctype: bytes
) -> None:
    data = b"".join(alma_publishing_xml(holdings(1, 2)))
    declaration, _, rest = data.partition(b"?>")
    data = declaration + b"?>\n" + doctype + rest.replace(b"99000", b"99&xxe;000", 1)
    if b"ENTITY" not in doctype:
        data = data.replace(b"&xxe;", b"")
    report = await upload(helka, "doctype.xml", data)
    assert report["status"] == "rejected", report
    assert "DOCTYPE" in str(report["error"])
    assert await helka.lows_and_sids(1) == ([], [])
    assert await helka.lows_and_sids(2) == ([], [])


async def test_a_publishing_file_of_junk_is_rejected_not_applied_empty(
    helka: PublishingLibrary,
) -> None:
    data = b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + b"<x/>" * 50_000
    report = await upload(helka, "junk.xml", data + b"</collection>")
    assert report["status"] == "rejected", report
    assert "holds no MARC records" in str(report["error"])
