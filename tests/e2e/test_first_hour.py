"""A first-time user's hour with the real CLI as a subprocess: ports, startup, shared mode, load, help."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from gateway.emulator.generator import generate_records
from gateway.emulator.settings import ENV_PREFIX, Settings
from gateway.records import write_marcxml_collection
from tests.conftest import openssh_sftp_command
from tests.e2e.cli_support import run_cli, serving

pytestmark = pytest.mark.e2e

SMALL_DEMO = {f"{ENV_PREFIX}DEMO_COUNT": "40"}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def record_count(data: Path) -> int:
    with sqlite3.connect(data / "melinda.sqlite") as conn:
        (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
    return int(count)


# --- 5: a taken port ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "setting"),
    [("--http-port", "http_port"), ("--z3950-port", "z3950_port"), ("--sftp-port", "sftp_port")],
)
def test_serve_on_a_taken_port_exits_1_at_once_naming_the_way_out(
    tmp_path: Path, taken_port: int, flag: str, setting: str
) -> None:
    data = tmp_path / "d"
    ports = {"--http-port": "0", "--z3950-port": "0", "--sftp-port": "0", flag: str(taken_port)}
    # it ends by itself (before the change it hung with the store's threads open); how fast
    # is measured by scripts/bench-first-hour, not by a timed test
    result = run_cli(
        "serve", "--data-dir", str(data), *[x for kv in ports.items() for x in kv], timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stderr
    assert f"127.0.0.1:{taken_port}" in message
    assert "Address already in use" in message
    assert flag in message and setting in message
    assert f"{ENV_PREFIX}{setting.upper()}" in message
    assert "Traceback" not in message
    # the port was tried before anything else: no demo data, not even a store
    assert not (data / "melinda.sqlite").exists() or record_count(data) == 0


async def test_a_port_taken_between_the_check_and_the_listen_closes_everything(
    tmp_path: Path, taken_port: int
) -> None:
    from gateway.emulator.app import create_gateway
    from gateway.emulator.host import ListenError
    from tests.conftest import test_settings

    gateway = await create_gateway(test_settings(tmp_path / "d", z3950_port=taken_port))
    with pytest.raises(ListenError) as refused:
        await gateway.start()
    assert (refused.value.interface, refused.value.port) == ("z3950", taken_port)
    assert gateway.servers == {}  # the HTTP site and any listener started are closed again
    with pytest.raises(ValueError):  # and so is the store: nothing keeps the process alive
        await gateway.catalog.record_counts()


# --- 7: what is served ----------------------------------------------------------------------
def test_startup_names_the_store_and_renews_missing_demo_keys(tmp_path: Path) -> None:
    data, keys = tmp_path / "d", tmp_path / "certs"
    environment = {**SMALL_DEMO, f"{ENV_PREFIX}DEMO_KEYS_DIR": str(keys)}
    with serving(data, env=environment) as server:
        banner = "\n".join(server.banner)
        assert f"Store: {data / 'melinda.sqlite'} (" in banner
        live = int(re.search(r"Store: .* \((\d+) records", banner).group(1))  # type: ignore[union-attr]
        assert 0 < live <= 40
    old_key = (keys / "demo-helka.pub").read_text()
    for made in keys.iterdir():  # a fresh clone, or `git clean -xdf`
        made.unlink()
    with serving(data, env=environment) as server:
        banner = "\n".join(server.banner)
        assert f"({live} records" in banner  # the store was kept, not loaded again
        assert "Made the demo SSH keys" in banner and "HELKA" in banner
        assert (keys / "demo-helka.pub").read_text() != old_key
        login = _sftp_ls(keys / "demo-helka", server.sftp_port, "HELKA")
        assert login.returncode == 0, login.stderr


def _sftp_ls(key: Path, port: int, user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        openssh_sftp_command(key, port, user),
        input="ls\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_printed_urls_name_the_address_actually_bound(tmp_path: Path) -> None:
    with serving(tmp_path / "d", "--no-demo", "--host", "localhost") as server:
        health = server.urls["health"]
        host = re.match(r"http://(\[[^\]]+\]|[^:/]+):", health).group(1)  # type: ignore[union-attr]
        assert host in ("127.0.0.1", "[::1]"), health
        with urllib.request.urlopen(health, timeout=10) as response:
            assert json.load(response)["status"] == "ok"


# --- 14: shared mode ------------------------------------------------------------------------
def _user_auth(http: str, user: str, password: str) -> str:
    url = f"{http}/X?op=user-auth&library=usr00&staff_user={user}&staff_pass={password}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def test_shared_mode_loads_no_demo_libraries_unless_asked(tmp_path: Path) -> None:
    data = tmp_path / "d"
    shared = {**SMALL_DEMO, f"{ENV_PREFIX}SHARED": "true", f"{ENV_PREFIX}ADMIN_TOKEN": "t"}
    with serving(data, env=shared) as server:
        banner = "\n".join(server.banner)
        assert "Shared mode: no demo libraries or demo passwords loaded" in banner
        assert "helka-demo" not in banner
        assert "<error>" in _user_auth(server.http, "HELKA", "helka-demo")
    assert record_count(data) == 0
    assert run_cli("library", "list", "--data-dir", str(data)).stdout.strip() == ""

    asked = {**shared, f"{ENV_PREFIX}DEMO": "true"}
    with serving(tmp_path / "d2", env=asked) as server:
        assert "<error>" not in _user_auth(server.http, "HELKA", "helka-demo")
        assert "its passwords are public" in "\n".join(server.banner)


def test_shared_settings_turn_the_demo_off_only_by_default(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text("shared = true\n")
    assert Settings.load(config, environ={}).demo is False
    config.write_text("shared = true\ndemo = true\n")
    assert Settings.load(config, environ={}).demo is True
    assert Settings.load(None, environ={f"{ENV_PREFIX}SHARED": "1"}).demo is False
    assert Settings.load(None, environ={}, flags={"shared": True, "demo": True}).demo is True
    assert Settings.load(None, environ={}).demo is True


# --- 9: loading and read-only verbs ---------------------------------------------------------
def test_load_reports_and_warns_about_replaced_records(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    with first.open("wb") as fh:
        write_marcxml_collection(generate_records(20, 1), fh)
    with second.open("wb") as fh:
        write_marcxml_collection(generate_records(5, 2, start_id=18), fh)  # ids 18-22
    assert run_cli("load", "--data-dir", data, str(first)).returncode == 0
    result = run_cli("load", "--data-dir", data, str(second))
    assert result.returncode == 0, result.stderr
    assert "loaded 2, replaced 3, rejected 0" in result.stdout
    assert (
        "warning: 3 record(s) had the Melinda ID of a record already in the store" in result.stderr
    )
    assert "000000018, 000000019, 000000020" in result.stderr
    assert "--start-id" in result.stderr
    fresh = tmp_path / "c.xml"
    with fresh.open("wb") as fh:
        write_marcxml_collection(generate_records(5, 3, start_id=1001), fh)
    clean = run_cli("load", "--data-dir", data, str(fresh))
    assert "replaced 0" in clean.stdout and "warning" not in clean.stderr


@pytest.mark.parametrize(
    "verb", [["export"], ["library", "list"], ["library", "remove", "HELKA"], ["reset", "--yes"]]
)
def test_verbs_that_need_a_store_refuse_a_data_dir_without_one(
    tmp_path: Path, verb: list[str]
) -> None:
    missing = tmp_path / "typo"
    result = run_cli(*verb, "--data-dir", str(missing))
    assert result.returncode == 2
    assert f"no store at {missing}" in result.stderr
    assert not missing.exists()  # nothing was created


# --- 10: the CLI's basics -------------------------------------------------------------------
def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"melinda-gateway \d+\.\d+\.\d+\S*\n", result.stdout)


HELPS = [
    [], ["serve"], ["load"], ["export"], ["library"], ["library", "add"], ["library", "list"],
    ["library", "remove"], ["reset"],
]  # fmt: skip


@pytest.mark.parametrize("verb", HELPS, ids=lambda v: " ".join(v) or "main")
def test_every_help_names_each_settings_default_and_variable(verb: list[str]) -> None:
    result = run_cli(*verb, "--help")
    assert result.returncode == 0
    defaults = Settings()
    for f in fields(Settings):
        variable = f"{ENV_PREFIX}{f.name.upper()}"
        line = next(
            (x for x in result.stdout.splitlines() if x.strip().startswith(f.name + " ")), ""
        )
        assert variable in line, (f.name, result.stdout)
        if isinstance(getattr(defaults, f.name), int) and f.name != "data_dir":
            value = getattr(defaults, f.name)
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            assert f" {shown} " in line, line


def test_serve_flags_show_default_and_variable() -> None:
    text = " ".join(run_cli("serve", "--help").stdout.split())
    for flag, name, default in (
        ("--http-port", "HTTP_PORT", "8080"),
        ("--z3950-port", "Z3950_PORT", "2100"),
        ("--sftp-port", "SFTP_PORT", "2222"),
        ("--host", "HOST", '"127.0.0.1"'),
    ):
        help_text = text.split(flag, 2)[2] if text.count(flag) > 1 else text
        assert f"default {default}; env {ENV_PREFIX}{name}" in help_text, flag


def test_unreachable_server_url_is_not_printed_for_a_wildcard_bind(tmp_path: Path) -> None:
    with serving(tmp_path / "d", "--no-demo", "--host", "0.0.0.0") as server:
        assert server.urls["health"].startswith("http://127.0.0.1:")
        assert any("every interface" in line for line in server.banner)
        try:
            with urllib.request.urlopen(server.urls["health"], timeout=10) as response:
                assert response.status == 200
        except urllib.error.URLError as exc:  # pragma: no cover - the assertion message
            raise AssertionError(exc) from exc


# --- 12: logs -------------------------------------------------------------------------------
def test_json_log_format_gives_one_object_per_access_line(tmp_path: Path) -> None:
    environment = {f"{ENV_PREFIX}LOG_FORMAT": "json"}
    with serving(tmp_path / "d", "--no-demo", env=environment) as server:
        sru = server.urls["sru"] + "?query=dc.title%3Dx"
        with urllib.request.urlopen(sru, timeout=10) as response:
            assert response.status == 200
        rest = server.stop()
    objects = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    (access,) = [o for o in objects if o["logger"] == "melinda.access"]
    assert access["interface"] == "sru" and access["operation"] == "searchRetrieve"
    assert access["outcome"] == "ok" and access["level"] == "INFO"
    assert isinstance(access["ms"], float)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", access["time"])


def test_a_bad_log_setting_is_a_usage_error(tmp_path: Path) -> None:
    environment = {**os.environ, f"{ENV_PREFIX}LOG_FORMAT": "xml"}
    result = run_cli("serve", "--data-dir", str(tmp_path / "d"), env=environment)
    assert result.returncode == 2
    assert "log_format" in result.stderr and "text, json" in result.stderr
