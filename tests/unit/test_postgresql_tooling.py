"""The PostgreSQL tooling: CI installs it in its one apt step and starts a cluster; the test
command starts one when the binaries are here; store URLs are checked as settings."""

from __future__ import annotations

import pytest

from gateway.emulator.settings import Settings, SettingsError
from gateway.store import store_kind
from tests.conftest import ROOT


def test_ci_installs_postgresql_in_its_one_apt_step_and_starts_a_cluster() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert script.count("apt-get update") == 1
    assert "need+=(postgresql)" in script
    assert script.index("pg-temp start") < script.index("./scripts/test")


def test_the_test_command_starts_a_cluster_only_when_none_is_named() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    assert 'if [ -z "${MELINDA_GATEWAY_TEST_PG_URL:-}" ]' in script
    assert "pg-temp start" in script and "pg-temp stop" in script


def test_store_url_chooses_the_store_and_a_foreign_scheme_is_a_clear_error() -> None:
    assert store_kind("sqlite:///tmp/x.sqlite") == "sqlite"
    assert store_kind("/tmp/x.sqlite") == "sqlite"
    assert store_kind("postgresql://melinda@db:5432/melinda") == "postgresql"
    assert Settings.load(environ={}).store.startswith("sqlite://")
    assert Settings.load(environ={}).store.endswith("melinda.sqlite")
    chosen = Settings.load(environ={"MELINDA_GATEWAY_STORE_URL": "postgresql://u@h/db"})
    assert chosen.store == "postgresql://u@h/db" and not chosen.store_is_file
    with pytest.raises(SettingsError, match="store_url"):
        Settings.load(environ={"MELINDA_GATEWAY_STORE_URL": "mysql://u@h/db"})
