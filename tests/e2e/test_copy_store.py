"""`melinda-gateway copy-store` moves a catalog SQLite -> PostgreSQL -> SQLite with the real
CLI: every record (Asteri's authorities too), library, change and interlibrary loan survives,
byte for byte; a non-empty target is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.emulator.generator import generate_records
from gateway.records import write_marcxml_collection
from gateway.rules.fields import record_from_lines
from gateway.store.copying import copy_store
from gateway.store.ill import NewIllMessage, NewIllRequest
from tests.e2e.cli_support import run_cli
from tests.e2e.test_postgresql_processes import database  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e
AUT = "00000nz  a2200000n  4500"


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
    authorities = tmp_path / "aut.xml"
    with authorities.open("wb") as fh:
        write_marcxml_collection(
            [
                record_from_lines("001 000000001", "100 1_$aKivi, Aleksis,$d1834-1872", leader=AUT),
                record_from_lines("001 000000005", "100 1_$aLinna, Väinö,$d1920-1992", leader=AUT),
            ],
            fh,
        )
    cli("load", "--base", "fin11", str(authorities), store=source)

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
    asteri = cli("export", "--base", "fin11", store=source)
    assert asteri.count("<record") == 2
    assert cli("export", "--base", "fin11", store=database) == asteri
    assert cli("export", "--base", "fin11", store=back) == asteri


async def test_copy_store_carries_authority_numbering_and_interlibrary_loans(
    tmp_path: Path, database: str  # noqa: F811
) -> None:
    source = await Catalog.open(f"sqlite://{tmp_path / 'melinda.sqlite'}")
    target = await Catalog.open(database)
    try:
        async with source.store.base("fin11").transaction() as txn:
            txn.note_id(41)  # Asteri numbers given so far, whether or not their records remain
        loan = NewIllRequest("supplier", "HELKA", "ISIL:FI-Hul", "ISIL:FI-Tay", "http://peer", "r1")
        hello = NewIllMessage("in", "request", "request", "{}", "received")
        first = await source.store.ill.create(loan, [hello], at=1.5)
        copied = await copy_store(source.store, target.store)
        assert copied["ill_requests"] == 1 and copied["ill_messages"] == 1
        assert target.store.base("fin11").high_id == 41
        there = await target.store.ill.find("supplier", "isil:fi-hul", "ISIL:FI-TAY", "r1")
        assert there is not None and there.id == first and there.created == 1.5
        assert [m.kind for m in await target.store.ill.messages(there.id)] == ["request"]
        # new loans are numbered after the copied ones
        later = await target.store.ill.create(
            NewIllRequest("supplier", "HELKA", "ISIL:FI-Hul", "ISIL:FI-Tay", "http://peer", "r2"),
            [hello],
            at=2.0,
        )
        assert first is not None and later == first + 1
    finally:
        await source.close()
        await target.close()
