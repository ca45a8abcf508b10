"""The journal as the non-HTTP interfaces fill it: Z39.50 PDUs and SFTP operations, secrets masked."""

from __future__ import annotations

import subprocess

import pytest

from gateway.emulator.pytest_plugin import MelindaGateway
from tests.conftest import require_tool

pytestmark = pytest.mark.e2e


def test_z3950_pdus_are_journaled_with_the_password_masked(
    melinda_gateway: MelindaGateway,
) -> None:
    yaz_client = require_tool("yaz-client")
    melinda_gateway.add_library("KVP", password="salainen", lows=["KVP"])
    melinda_gateway.seed(5)
    script = "find @attr 1=4 kissa\nfind @attr 1=9999 x\nscan @attr 1=4 a\nclose\nquit\n"
    done = subprocess.run(
        [yaz_client, "-u", "KVP/salainen", melinda_gateway.z3950_url],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Connection accepted" in done.stdout or "Connecting...OK" in done.stdout, done.stdout
    entries = melinda_gateway.requests("z3950")
    assert [e.operation for e in entries] == ["init", "search", "search", "scan", "close"]
    init = entries[0]
    assert init.parameters["user"] == "KVP"
    assert init.parameters["password"] == "***"
    assert "salainen" not in repr(entries)
    assert init.client.startswith("127.0.0.1:")
    assert entries[1].outcome == "ok"
    assert "kissa" in entries[1].parameters["query"]
    assert entries[1].parameters["databases"] == "fin01"
    assert entries[2].outcome == "diagnostic 114"  # unsupported use attribute
    assert entries[4].outcome == "closed"


def test_sru_on_the_z3950_port_is_journaled_with_its_origin(
    melinda_gateway: MelindaGateway,
) -> None:
    import urllib.request

    url = (
        f"http://127.0.0.1:{melinda_gateway.z3950_port}/fin01"
        "?version=1.1&operation=searchRetrieve&query=dc.title%3Dkissa"
    )
    with urllib.request.urlopen(url, timeout=30) as response:
        assert b"numberOfRecords" in response.read()
    (entry,) = melinda_gateway.requests("sru")
    assert entry.operation == "searchRetrieve"
    assert entry.client == "127.0.0.1 (via the Z39.50 port)"
