"""The CLI and a running server on one data dir: what the CLI changes, the server serves at once."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from gateway.emulator.generator import generate_records
from gateway.records import write_marcxml_collection
from tests.conftest import openssh_sftp_command, require_tool
from tests.e2e.cli_support import Server, new_record, run_cli, serving

pytestmark = pytest.mark.e2e


def make_key(path: Path) -> Path:
    subprocess.run(
        [
            require_tool("ssh-keygen"),
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "test",
            "-f",
            str(path),
        ],
        check=True,
    )
    return path


def sftp_ls(server: Server, key: Path, user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        openssh_sftp_command(key, server.sftp_port, user),
        input="ls\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
    return body


def health(server: Server) -> dict[str, object]:
    found: dict[str, object] = json.loads(get(server.urls["health"]))
    return found


def xserver(server: Server, **params: str) -> str:
    return get(f"{server.http}/X?{urllib.parse.urlencode(params)}").decode()


def create(server: Server, user: str, password: str) -> str:
    reply = xserver(
        server, op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name=user, user_password=password, xml_full_req=new_record("Palvelimen rinnalla"),
    )  # fmt: skip
    assert "updated successfully" in reply, reply
    return reply.split("Document: ")[1][:9]


def test_library_add_with_a_key_logs_in_over_sftp_at_once(tmp_path: Path) -> None:
    data = tmp_path / "d"
    key = make_key(tmp_path / "uusi")
    with serving(data, "--no-demo") as server:
        refused = sftp_ls(server, key, "UUSI")
        assert refused.returncode != 0  # no such library yet: the server has now read its table
        added = run_cli(
            "library", "add", "UUSI", "--ssh-key", f"{key}.pub", "--data-dir", str(data)
        )
        assert added.returncode == 0, added.stderr
        # the very first attempt after the CLI returns logs in (scripts/bench-first-hour
        # measures how soon)
        login = sftp_ls(server, key, "UUSI")
        assert login.returncode == 0, login.stderr
        assert "incoming" in login.stdout
        assert run_cli("library", "remove", "UUSI", "--data-dir", str(data)).returncode == 0
        assert sftp_ls(server, key, "UUSI").returncode != 0


def test_password_load_and_reset_by_the_cli_are_served_at_once(tmp_path: Path) -> None:
    data = tmp_path / "d"
    corpus = tmp_path / "c.xml"
    with corpus.open("wb") as fh:
        write_marcxml_collection(generate_records(30, 5, start_id=101), fh)
    with serving(data, "--no-demo") as server:
        base = ["--data-dir", str(data)]
        assert run_cli("library", "add", "KIRJA", "--password", "vanha", *base).returncode == 0
        assert "staff_pass" not in xserver(
            server, op="user-auth", staff_user="KIRJA", staff_pass="vanha"
        )
        first = create(server, "KIRJA", "vanha")
        assert first == "000000001"

        # a new password: the old one stops working at once
        assert run_cli("library", "add", "KIRJA", "--password", "uusi", *base).returncode == 0
        old = xserver(
            server, op="user-auth", library="usr00", staff_user="KIRJA", staff_pass="vanha"
        )
        assert "<error>" in old
        new = xserver(
            server, op="user-auth", library="usr00", staff_user="KIRJA", staff_pass="uusi"
        )
        assert "<error>" not in new

        # a load by the CLI: served at once, and the server's next record gets a new id
        loaded = run_cli("load", *base, str(corpus))
        assert loaded.returncode == 0, loaded.stderr
        counts = health(server)
        assert int(str(counts["records"])) + int(str(counts["deleted"])) == 31
        after_load = create(server, "KIRJA", "uusi")
        assert int(after_load) == 131  # past the ids the load kept (101-130)

        # a reset by the CLI: the server sees an empty store and numbers from 1 again
        assert run_cli("reset", "--yes", *base).returncode == 0
        assert health(server)["records"] == 0
        assert create(server, "KIRJA", "uusi") == "000000001"
        assert health(server)["records"] == 1
