"""The access log and the journal as real clients leave them: one line and one entry per request,
Z39.50 queries as typed, admin actions with their parameters, a publishing file as one entry."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import asyncssh
import pytest
from sickle import Sickle

from gateway.emulator.journal import Entry
from gateway.emulator.pytest_plugin import MelindaGateway
from tests.conftest import ROOT, openssh_sftp_command, require_tool

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples"
ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def run(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def http(url: str, data: bytes | None = None, content_type: str = "") -> bytes:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
    return body


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "melinda.access"]


def settle(mg: MelindaGateway, count: int) -> list[Entry]:
    """The journal once `count` entries are in (a connection's last PDU is noted after it ends)."""
    deadline = time.monotonic() + 10
    while True:
        entries = mg.requests()
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


@pytest.fixture
def library_key(melinda_gateway: MelindaGateway, tmp_path: Path) -> Path:
    """Library HELKA with a password and an SSH key; the private key file."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "helka_key"
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    melinda_gateway.add_library(
        "HELKA", password="salasana", lows=["HELKA"],
        ssh_keys=[key.export_public_key().decode().strip()],
    )  # fmt: skip
    return path


def test_one_access_line_per_request_on_every_interface(
    melinda_gateway: MelindaGateway, library_key: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mg = melinda_gateway
    mg.seed(10, seed=3)
    caplog.set_level(logging.INFO, logger="melinda.access")
    before = len(mg.requests())

    http(f"{mg.sru_url}?query=dc.title%3Dx&version=1.2&operation=searchRetrieve")
    http(f"{mg.xserver_url}?op=user-auth&library=usr00&staff_user=helka&staff_pass=salasana")
    list(Sickle(mg.oai_pmh_url).ListIdentifiers(metadataPrefix="marc21"))
    yaz = run(
        [require_tool("yaz-client"), "-u", "HELKA/salasana", mg.z3950_url],
        "find @attr 1=4 x\nclose\nquit\n",
    )
    assert "Number of hits" in yaz.stdout, yaz.stdout
    sftp = run(openssh_sftp_command(library_key, mg.sftp_port, "HELKA"), "ls incoming\n")
    assert sftp.returncode == 0, sftp.stderr

    entries = settle(mg, before + 8)[before:]
    lines = access_lines(caplog)
    assert len(lines) == len(entries)  # one line per journaled request, on every interface
    by_interface = {line.__dict__["interface"] for line in lines}
    assert by_interface == {"sru", "xserver", "oai-pmh", "z3950", "sftp"}
    for line in lines:
        assert line.levelno == logging.INFO
        message = line.getMessage()
        assert message.startswith(f"{line.__dict__['interface']} {line.__dict__['operation']} ")
        assert re.search(r" \d+\.\d ms$", message), message
    messages = [line.getMessage() for line in lines]
    assert any(m.startswith("xserver user-auth user=HELKA ") for m in messages), messages
    assert any(m.startswith("z3950 search user=HELKA ") for m in messages), messages
    assert any(m.startswith("sftp ") and " user=HELKA " in m for m in messages), messages
    assert any(m.startswith("sru searchRetrieve user=- ") and " ok " in m for m in messages)


def test_asyncssh_chatter_stays_below_info(
    melinda_gateway: MelindaGateway, library_key: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.emulator import logs

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("asyncssh").level)
    try:
        logs.configure("INFO", "text")  # as `serve` does; it replaces the root's handlers
        root.addHandler(caplog.handler)
        sftp = run(openssh_sftp_command(library_key, melinda_gateway.sftp_port, "HELKA"), "ls\n")
        assert sftp.returncode == 0, sftp.stderr
        chatter = [r for r in caplog.records if r.name.startswith("asyncssh")]
        assert chatter == [], [r.getMessage() for r in chatter]
        assert any(r.name == "melinda.access" for r in caplog.records)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger("asyncssh").setLevel(saved[2])


def test_z3950_searches_are_journaled_as_typed(melinda_gateway: MelindaGateway) -> None:
    mg = melinda_gateway
    mg.seed(5, seed=4)
    queries = [
        "@attr 1=4 historia",
        "@and @attr 1=4 suom @or @attr 1=1003 kivi @attr 1=7 9789510000017",
        '@attr 1=4 "kaksi sanaa"',
    ]
    commands = "".join(f"find {q}\n" for q in queries) + "quit\n"
    done = run([require_tool("yaz-client"), mg.z3950_url], commands)
    assert done.stdout.count("Number of hits") == len(queries), done.stdout
    searches = [e.parameters["query"] for e in mg.requests("z3950", "search")]
    assert searches == queries


def test_admin_actions_are_journaled_with_their_parameters(melinda_gateway: MelindaGateway) -> None:
    mg = melinda_gateway
    fault = json.dumps({"interface": "oai-pmh", "kind": "error", "count": 2, "retry_after": 7})
    http(f"{mg.admin_url}/faults", fault.encode(), "application/json")
    http(f"{mg.admin_url}/seed", json.dumps({"count": 3, "seed": 9}).encode(), "application/json")
    http(f"{mg.admin_url}/snapshots/ennen", b"")
    entries = {e.operation: e.parameters for e in mg.requests("admin")}
    assert entries["POST /faults"] == {
        "interface": "oai-pmh", "kind": "error", "count": "2", "retry_after": "7",
    }  # fmt: skip
    assert entries["POST /seed"] == {"count": "3", "seed": "9"}
    assert "POST /snapshots/ennen" in entries


def test_a_publishing_file_is_one_entry_with_its_outcome(
    melinda_gateway: MelindaGateway, library_key: Path
) -> None:
    mg = melinda_gateway
    mg.seed(5, seed=5)
    example = EXAMPLES / "helka-publishing.xml"
    put = run(
        openssh_sftp_command(library_key, mg.sftp_port, "HELKA"),
        f"put {example} incoming/helka-publishing.xml\n",
    )
    assert put.returncode == 0, put.stderr
    deadline = time.monotonic() + 20
    while not mg.requests("sftp", "apply") and time.monotonic() < deadline:
        time.sleep(0.05)
    (applied,) = mg.requests("sftp", "apply")
    assert applied.user == "HELKA"
    assert applied.parameters["file"] == "helka-publishing.xml"
    assert applied.parameters["records"] == "3"
    assert applied.outcome == "applied: added 2, removed 0, unchanged 1, rejected 0"


def test_change_feed_times_are_iso_8601(melinda_gateway: MelindaGateway) -> None:
    mg = melinda_gateway
    mg.add_library("HELKA", password="salasana", lows=["HELKA"])
    record = (EXAMPLES / "new-record-oai_marc.xml").read_text(encoding="utf-8")
    form = urllib.parse.urlencode(
        {
            "op": "update-doc", "library": "FIN01", "doc_action": "UPDATE",
            "doc_num": "000000000", "user_name": "HELKA", "user_password": "salasana",
            "xml_full_req": record,
        }
    ).encode()  # fmt: skip
    reply = http(mg.xserver_url, form, "application/x-www-form-urlencoded").decode()
    assert "updated successfully" in reply, reply
    changes = json.loads(http(f"{mg.admin_url}/changes"))["changes"]
    assert changes and all(ISO_8601.match(c["at"]) for c in changes), changes
