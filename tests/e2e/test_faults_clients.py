"""Injected faults as real clients meet them: yaz-client and zoomsh (SRU, Z39.50), Sickle and
pyoai (OAI-PMH), OpenSSH sftp; every one through the plugin's `melinda_gateway` fixture."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from gateway.emulator.pytest_plugin import MelindaGateway
from tests.conftest import openssh_sftp_command, require_tool

pytestmark = pytest.mark.e2e


def run(argv: list[str], stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def yaz(mg: MelindaGateway, target: str, *commands: str, sru: bool = False) -> str:
    script = "\n".join([*(["sru get 1.2"] if sru else []), *commands, "quit", ""])
    done = run([require_tool("yaz-client"), target], stdin=script)
    return done.stdout + done.stderr


def title_word(mg: MelindaGateway) -> tuple[str, int]:
    """A title word of a seeded record and how many records it finds."""
    ids = mg.seed(20, seed=2)
    record = mg.call(mg.catalog.get(ids[0])).record()
    word = next(w.strip(".,:;/") for w in record["245"]["a"].split() if len(w.strip(".,:;/")) > 4)
    from gateway.query import Term

    return word, len(mg.call(mg.catalog.search(Term("dc.title", word))).ids)


# --- SRU --------------------------------------------------------------------------------------
def test_sru_error_is_diagnostic_1_for_yaz_client(melinda_gateway: MelindaGateway) -> None:
    word, hits = title_word(melinda_gateway)
    melinda_gateway.fault("sru", "error", operation="searchRetrieve", count=1, message="Boom")
    out = yaz(
        melinda_gateway,
        melinda_gateway.sru_url,
        f"find dc.title={word}",
        f"find dc.title={word}",
        sru=True,
    )
    assert "SRW diagnostic info:srw/diagnostic/1/1" in out
    assert "Details: Boom" in out
    assert re.findall(r"Number of hits: (\d+)", out)[-1] == str(hits)  # the next one is served
    outcomes = [e.outcome for e in melinda_gateway.requests("sru")]
    assert outcomes == ["fault: diagnostic 1", "ok"]


def test_sru_drop_and_latency_reach_zoomsh(melinda_gateway: MelindaGateway) -> None:
    zoomsh = require_tool("zoomsh")
    word, hits = title_word(melinda_gateway)
    commands = ["set sru get", f"connect {melinda_gateway.sru_url}", f"search cql:dc.title={word}"]
    # ZOOM reconnects once by itself after a lost connection: two drops defeat it
    melinda_gateway.fault("sru", "drop", count=2)
    dropped = run([zoomsh, *commands, "quit"])
    assert "Connection lost (ZOOM:10004)" in dropped.stdout
    assert f"{hits} hits" not in dropped.stdout

    melinda_gateway.fault("sru", "latency", latency_ms=700, count=1)
    started = time.monotonic()
    slow = run([zoomsh, *commands, "quit"])
    assert time.monotonic() - started >= 0.7
    assert f"{hits} hits" in slow.stdout
    outcomes = [e.outcome for e in melinda_gateway.requests("sru")]
    assert outcomes[:2] == ["fault: connection dropped"] * 2
    assert outcomes[2].startswith("fault: latency 700 ms")
    assert len(outcomes) == 3


# --- OAI-PMH ----------------------------------------------------------------------------------
def test_oai_error_is_503_with_retry_after_for_sickle(melinda_gateway: MelindaGateway) -> None:
    sickle = pytest.importorskip("sickle")
    requests = pytest.importorskip("requests")
    melinda_gateway.seed(5)
    melinda_gateway.fault("oai-pmh", "error", count=1, retry_after=7)
    with pytest.raises(requests.HTTPError) as failed:
        sickle.Sickle(melinda_gateway.oai_pmh_url).Identify()
    assert failed.value.response.status_code == 503
    assert failed.value.response.headers["Retry-After"] == "7"

    # a harvester that honours Retry-After waits and carries on
    melinda_gateway.fault("oai-pmh", "error", operation="ListIdentifiers", count=1, retry_after=1)
    started = time.monotonic()
    patient = sickle.Sickle(melinda_gateway.oai_pmh_url, max_retries=2)
    headers = list(patient.ListIdentifiers(metadataPrefix="marc21"))
    assert time.monotonic() - started >= 1
    assert len(headers) == 5
    outcomes = [(e.operation, e.outcome) for e in melinda_gateway.requests("oai-pmh")]
    assert outcomes == [
        ("Identify", "fault: HTTP 503"),
        ("ListIdentifiers", "fault: HTTP 503"),
        ("ListIdentifiers", "ok"),
    ]


def test_oai_503_reaches_pyoai(melinda_gateway: MelindaGateway) -> None:
    client_module = pytest.importorskip("oaipmh.client")
    oai_error = pytest.importorskip("oaipmh.error")
    melinda_gateway.fault("oai-pmh", "error", count=1, retry_after=30)
    client = client_module.Client(
        melinda_gateway.oai_pmh_url, custom_retry_policy={"max-inline-sleep": 5}
    )
    with pytest.raises(oai_error.ServiceUnavailableError):
        client.identify()  # Retry-After 30 is longer than this harvester will sleep inline
    assert client.identify().repositoryName() == melinda_gateway.settings.oai_repository_name


def test_oai_drop_reaches_sickle(melinda_gateway: MelindaGateway) -> None:
    sickle = pytest.importorskip("sickle")
    requests = pytest.importorskip("requests")
    melinda_gateway.fault("oai-pmh", "drop", count=1)
    with pytest.raises(requests.ConnectionError):
        sickle.Sickle(melinda_gateway.oai_pmh_url).Identify()


# --- Z39.50 -----------------------------------------------------------------------------------
def test_z3950_error_is_a_bib1_diagnostic_for_yaz_client(melinda_gateway: MelindaGateway) -> None:
    word, hits = title_word(melinda_gateway)
    melinda_gateway.fault("z3950", "error", operation="search", count=1, message="Boom")
    out = yaz(
        melinda_gateway,
        melinda_gateway.z3950_url,
        f"find @attr 1=4 {word}",
        f"find @attr 1=4 {word}",
        "show 1",
    )
    assert re.search(r"\[1\] Permanent system error.*addinfo 'Boom'", out), out
    assert f"Number of hits: {hits}" in out
    melinda_gateway.fault("z3950", "error", operation="present", count=1)
    out = yaz(melinda_gateway, melinda_gateway.z3950_url, f"find @attr 1=4 {word}", "show 1")
    assert re.search(r"\[1\] Permanent system error", out), out
    operations = [(e.operation, e.outcome) for e in melinda_gateway.requests("z3950")]
    assert ("search", "fault: diagnostic 1") in operations
    assert ("present", "fault: diagnostic 1") in operations
    assert operations[0] == ("init", "ok")


def test_z3950_drop_and_latency_reach_yaz_client(melinda_gateway: MelindaGateway) -> None:
    word, hits = title_word(melinda_gateway)
    melinda_gateway.fault("z3950", "drop", operation="search", count=1)
    out = yaz(melinda_gateway, melinda_gateway.z3950_url, f"find @attr 1=4 {word}")
    assert "Number of hits" not in out
    assert re.search(r"(?i)connection (closed|lost)|target closed", out), out
    melinda_gateway.fault("z3950", "latency", operation="search", latency_ms=600, count=1)
    started = time.monotonic()
    out = yaz(melinda_gateway, melinda_gateway.z3950_url, f"find @attr 1=4 {word}")
    assert time.monotonic() - started >= 0.6
    assert f"Number of hits: {hits}" in out
    outcomes = [e.outcome for e in melinda_gateway.requests("z3950", "search")]
    assert outcomes[0] == "fault: connection dropped"
    assert outcomes[1].startswith("fault: latency 600 ms")


# --- SFTP -------------------------------------------------------------------------------------
def sftp(mg: MelindaGateway, key: Path, *commands: str) -> subprocess.CompletedProcess[str]:
    return run(
        openssh_sftp_command(key, mg.sftp_port, "kvp"),
        stdin="".join(f"{c}\n" for c in commands),
    )


@pytest.fixture
def sftp_library(melinda_gateway: MelindaGateway, tmp_path: Path) -> Path:
    """Library KVP with an SSH key on the gateway; the private key file."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "kvp_key"
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    public = key.export_public_key().decode().strip()
    melinda_gateway.add_library("KVP", lows=["KVP"], ssh_keys=[public])
    return path


def test_sftp_error_is_a_failure_status(
    melinda_gateway: MelindaGateway, sftp_library: Path, tmp_path: Path
) -> None:
    upload = tmp_path / "kvp.xml.part"
    upload.write_text("<collection/>")
    melinda_gateway.fault("sftp", "error", operation="open", count=1, message="Disk on fire")
    failed = sftp(melinda_gateway, sftp_library, f"put {upload} incoming/kvp.xml.part")
    assert failed.returncode == 1
    # OpenSSH prints the status code's name (SSH_FX_FAILURE), not the server's message
    assert 'dest open "/incoming/kvp.xml.part": Failure' in failed.stderr, failed.stderr

    melinda_gateway.fault("sftp", "error", operation="rename", count=1)
    failed = sftp(
        melinda_gateway,
        sftp_library,
        f"put {upload} incoming/kvp.xml.part",
        "rename incoming/kvp.xml.part incoming/kvp.xml",
    )
    assert failed.returncode == 1
    assert 'rename "/incoming/kvp.xml.part" to "/incoming/kvp.xml": Failure' in failed.stderr
    journal = [(e.operation, e.outcome) for e in melinda_gateway.requests("sftp")]
    assert ("open", "fault: SSH_FX_FAILURE") in journal
    assert ("rename", "fault: SSH_FX_FAILURE") in journal
    assert ("open", "ok") in journal  # the second put went through


def test_sftp_drop_and_latency(melinda_gateway: MelindaGateway, sftp_library: Path) -> None:
    melinda_gateway.fault("sftp", "drop", operation="opendir", count=1)
    dropped = sftp(melinda_gateway, sftp_library, "ls incoming")
    assert dropped.returncode != 0
    assert "Connection closed" in dropped.stderr, dropped.stderr
    melinda_gateway.fault("sftp", "latency", operation="opendir", latency_ms=600, count=1)
    started = time.monotonic()
    slow = sftp(melinda_gateway, sftp_library, "ls incoming")
    assert slow.returncode == 0, slow.stderr
    assert time.monotonic() - started >= 0.6
    outcomes = [e.outcome for e in melinda_gateway.requests("sftp", "opendir")]
    assert outcomes[0] == "fault: connection dropped"
    assert outcomes[1].startswith("fault: latency 600 ms")
