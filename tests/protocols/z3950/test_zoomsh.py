"""zoomsh (YAZ's ZOOM shell, the API Koha and many other origins are built on) against the gateway."""

from __future__ import annotations

import re

import pytest

from gateway.emulator.host import Gateway
from tests.protocols.z3950.conftest import VELJEKSET_ISBN, z_address, zoomsh

pytestmark = pytest.mark.e2e


async def test_find_and_show_in_usmarc_and_xml(catalogue: Gateway) -> None:
    output = await zoomsh(
        f"connect {z_address(catalogue)}",
        "find @attr 1=1003 kivi",
        "set preferredRecordSyntax usmarc",
        "show 0 2",
        "set preferredRecordSyntax xml",
        "show 1 1",
    )
    assert f"{z_address(catalogue)}: 2 hits" in output
    assert "001 000900001" in output and "001 000900002" in output
    assert "245 10 $a Seitsemän veljestä : $b romaani." in output
    assert "syntax=XML" in output
    assert '<controlfield tag="001">000900002</controlfield>' in output


async def test_fin01alma_serves_the_alma_form(catalogue: Gateway) -> None:
    output = await zoomsh(
        f"connect {z_address(catalogue, 'fin01alma')}",
        f"find @attr 1=7 {VELJEKSET_ISBN}",
        "set preferredRecordSyntax usmarc",
        "show 0 1",
    )
    assert "database=fin01alma" in output
    assert re.search(r"600 17 \$a Kivi, Aleksis,\.? \$0 \(FIN11\)000012345 \$2 finaf", output)
    assert "920    $a KIVI-LOCAL-1" in output and "019    $a" not in output
    assert re.search(r"024 8  \$a 000900001 \$d \d{14}", output), output


async def test_scan(catalogue: Gateway) -> None:
    output = await zoomsh(f"connect {z_address(catalogue)}", "scan @attr 1=1003 linna")
    assert re.search(r"^linna väinö 2$", output, re.MULTILINE), output


async def test_diagnostics(catalogue: Gateway) -> None:
    output = await zoomsh(
        f"connect {z_address(catalogue, 'FIN02')}",
        "find kivi",
        f"connect {z_address(catalogue)}",
        "find @attr 1=4 @attr 2=102 kivi",
    )
    assert "Database does not exist (Bib-1:235) FIN02" in output
    assert "Unsupported Relation attribute (Bib-1:117)" in output
