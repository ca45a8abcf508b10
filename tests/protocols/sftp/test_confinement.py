"""Who may log in, and that a library never leaves its own directory (OpenSSH's sftp and ssh)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncssh
import pytest

from gateway.publishing import AlmaHolding
from tests.conftest import require_tool
from tests.conftest import test_settings as settings_in
from tests.protocols.sftp.conftest import OTHER, PublishingLibrary, client_key, run_sftp

pytestmark = pytest.mark.e2e


async def run_ssh(library: PublishingLibrary, *args: str) -> tuple[int, str]:
    ssh = require_tool("ssh")
    process = await asyncio.create_subprocess_exec(
        ssh,
        "-F",
        "/dev/null",
        "-i",
        str(library.key),
        "-p",
        str(library.port),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_wrong_key_unknown_library_and_passwords_are_refused(
    helka: PublishingLibrary,
) -> None:
    stranger, _ = client_key(helka.work, "stranger_key")
    wrong = await helka.sftp("ls", key=stranger)
    assert wrong.returncode == 255
    assert "Permission denied (publickey)" in wrong.stderr
    unknown = await helka.sftp("ls", user="nosuchlibrary")
    assert unknown.returncode == 255
    # the server offers public keys and nothing else
    code, out = await run_ssh(
        helka,
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        f"{helka.code}@127.0.0.1",
        "true",
    )
    assert code == 255
    assert "Permission denied (publickey)" in out


async def test_no_shell_exec_or_forwarding(helka: PublishingLibrary) -> None:
    user = f"{helka.code}@127.0.0.1"
    http = helka.gateway.ports["http"]
    (exec_code, exec_out), (shell_code, _), (forward_code, forward_out) = await asyncio.gather(
        run_ssh(helka, user, "cat /etc/passwd"),
        run_ssh(helka, "-T", user),
        run_ssh(helka, "-W", f"127.0.0.1:{http}", user),
    )
    assert exec_code != 0 and "root:" not in exec_out
    assert shell_code != 0
    assert forward_code == 255 and "forwarding failed" in forward_out
    scp = require_tool("scp")
    process = await asyncio.create_subprocess_exec(
        scp,
        "-O",
        "-F",
        "/dev/null",
        "-i",
        str(helka.key),
        "-P",
        str(helka.port),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        f"{user}:/etc/passwd",
        str(helka.work / "passwd"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    assert not (helka.work / "passwd").exists()


@pytest.fixture
async def neighbour(helka: PublishingLibrary) -> Path:
    """Library TAMK with a report and an incoming file HELKA must never reach."""
    _, public = client_key(helka.work, "tamk_key")
    await helka.gateway.catalog.add_library(OTHER, lows=[OTHER], ssh_keys=[public])
    root = helka.root.parent / OTHER
    for area in ("incoming", "reports", "archive"):
        (root / area).mkdir(parents=True, exist_ok=True)
    (root / "reports" / "tamk.xml.report.txt").write_text("TAMK's own report\n")
    (root / "incoming" / "tamk.xml.part").write_text("TAMK's upload\n")
    # HELKA's directory exists once it has logged in
    assert (await helka.sftp("ls")).returncode == 0
    return root


async def test_other_library_parent_and_absolute_paths_are_refused(
    helka: PublishingLibrary, neighbour: Path
) -> None:
    local = await helka.file("x.xml", [AlmaHolding("1", 1)])
    out = helka.work / "got"
    secret = neighbour / "reports" / "tamk.xml.report.txt"
    attempts = [
        f"get ../{OTHER}/reports/tamk.xml.report.txt {out}",
        f"get ../../{OTHER}/reports/tamk.xml.report.txt {out}",
        f"get /../{OTHER}/reports/tamk.xml.report.txt {out}",
        f"get incoming/../../{OTHER}/reports/tamk.xml.report.txt {out}",
        f"get {secret} {out}",
        f"get /etc/passwd {out}",
        f"ls ../{OTHER}/incoming",
        f"ls {neighbour}/incoming",
        f"put {local} ../{OTHER}/incoming/x.xml",
        f"put {local} {neighbour}/incoming/x.xml",
        f"rm ../{OTHER}/incoming/tamk.xml.part",
        f"rename ../{OTHER}/incoming/tamk.xml.part incoming/stolen.xml",
    ]
    runs = await asyncio.gather(*(helka.sftp(command) for command in attempts))
    for command, run in zip(attempts, runs, strict=True):
        assert run.returncode == 1, (command, run)
    assert not out.exists()
    assert (neighbour / "incoming" / "tamk.xml.part").read_text() == "TAMK's upload\n"
    assert not (neighbour / "incoming" / "x.xml").exists()
    # `..` stops at the library's root: it is all HELKA sees
    top = await helka.sftp("cd ../../..", "pwd", "ls -1")
    assert top.returncode == 0, top.stderr
    assert "Remote working directory: /\n" in top.stdout
    assert top.stdout.split()[-3:] == ["archive", "incoming", "reports"]


async def test_planted_symlinks_lead_nowhere(
    helka: PublishingLibrary, neighbour: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the library's\n")
    os.symlink(neighbour, helka.root / "reports" / "tamk")
    os.symlink(helka.root.parent, helka.root / "archive" / "all")
    os.symlink(outside, helka.root / "incoming" / "outside.xml")
    os.symlink(outside, helka.root / "reports" / "outside.txt")
    os.symlink("/etc", helka.root / "etc")
    local = await helka.file("x.xml", [AlmaHolding("1", 1)])
    out = helka.work / "got"
    attempts = [
        f"get reports/tamk/reports/tamk.xml.report.txt {out}",
        "ls reports/tamk",
        "cd reports/tamk",
        f"ls archive/all/{OTHER}",
        f"get archive/all/{OTHER}/reports/tamk.xml.report.txt {out}",
        f"get incoming/outside.xml {out}",
        f"get reports/outside.txt {out}",
        f"put {local} incoming/outside.xml",
        f"put {local} reports/tamk/incoming/x.xml",
        f"get etc/passwd {out}",
        "rm incoming/outside.xml",
        "rename incoming/outside.xml incoming/moved.xml",
        "symlink /etc incoming/etc.xml",
        "ln incoming/outside.xml incoming/hard.xml",
    ]
    runs = await asyncio.gather(*(helka.sftp(command) for command in attempts))
    for command, run in zip(attempts, runs, strict=True):
        assert run.returncode == 1, (command, run)
    assert not out.exists()
    assert outside.read_text() == "not the library's\n"
    assert not (neighbour / "incoming" / "x.xml").exists()
    assert not (helka.root / "incoming" / "etc.xml").exists()
    listing = await helka.sftp("ls -1 reports", "ls -1 archive", "ls -1")
    assert listing.returncode == 0, listing.stderr
    for planted in ("tamk", "all", "outside", "etc\n"):
        assert planted not in listing.stdout.replace("sftp> ", "")
    await helka.settled()
    assert not list((helka.root / "reports").glob("*.report.json"))


async def test_host_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    from gateway.emulator.app import running_gateway

    settings = settings_in(tmp_path / "data")
    keys = []
    for _ in range(2):
        async with running_gateway(settings) as gateway:
            key, public = client_key(tmp_path, f"k{len(keys)}")
            await gateway.catalog.add_library("HELKA", ssh_keys=[public])
            async with asyncssh.connect(
                "127.0.0.1",
                gateway.ports["sftp"],
                username="helka",
                client_keys=[str(key)],
                known_hosts=None,
            ) as conn:
                server_key = conn.get_server_host_key()
                assert server_key is not None
                keys.append(server_key.export_public_key())
    assert keys[0] == keys[1]
    stored = settings.data_dir / "ssh_host_ed25519_key"
    assert stored.stat().st_mode & 0o077 == 0


async def test_another_library_logs_into_its_own_directory(
    helka: PublishingLibrary, neighbour: Path
) -> None:
    key, public = client_key(helka.work, "tamk_login")
    await helka.gateway.catalog.add_library(OTHER, lows=[OTHER], ssh_keys=[public])
    run = await run_sftp(helka.port, OTHER.lower(), key, ["ls -1 reports", "ls -1 incoming"])
    assert run.returncode == 0, run.stderr
    assert "reports/tamk.xml.report.txt" in run.stdout
    assert "incoming/tamk.xml.part" in run.stdout
    # HELKA's key is not TAMK's
    refused = await run_sftp(helka.port, OTHER.lower(), helka.key, ["ls"])
    assert refused.returncode == 255
