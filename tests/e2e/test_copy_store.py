"""`melinda-gateway copy-store` moves a catalog SQLite -> PostgreSQL -> SQLite with the real
CLI: every record, library and change survives, byte for byte; a non-empty target is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.emulator.generator import generate_records
from gateway.records import write_marcxml_collection
from tests.e2e.cli_support import run_cli
from tests.e2e.test_postgresql_processes import database  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e


def cli(*args: str, store: str) -> str:
    done = run_cli(*args, "--store-url", store, env={**os.environ})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_copy_store_there_and_back_keeps_every_record_byte_for_byte(
    tmp_path: Path, database: str  # noqa: F811
) -> None:
    corpus = tmp_path / "c.xml"
    with corpus.open("wb") as fh:
        write_marcxml_collection(generate_records(300, 11), fh)
    source = f"sqlite://{tmp_path / 'a' / 'melinda.sqlite'}"
    back = f"sqlite://{tmp_path / 'b' / 'melinda.sqlite'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cli("load", str(corpus), store=source)
    cli("library", "add", "KIRJA", "--password", "salasana", "--low", "KIRJA", store=source)

    there = run_cli("copy-store", "--from", source, "--to", database)
    assert there.returncode == 0, there.stderr
    assert "records 300" in there.stdout and "libraries 1" in there.stdout
    assert "records" in there.stderr  # the progress bars name each table
    again = run_cli("copy-store", "--from", source, "--to", database)
    assert again.returncode == 1 and "not empty" in again.stderr

    home = run_cli("copy-store", "--from", database, "--to", back)
    assert home.returncode == 0, home.stderr
    for view in ("fin01", "fin01alma"):
        original = cli("export", "--view", view, store=source)
        assert original.count("<record") == 300
        assert cli("export", "--view", view, store=database) == original
        assert cli("export", "--view", view, store=back) == original
    assert "KIRJA" in cli("library", "list", store=back)
