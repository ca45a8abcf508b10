"""SRU end to end through the pytest plugin's own `melinda_gateway` fixture: yaz-client and zoomsh."""

from __future__ import annotations

import re
import subprocess

import pytest

from gateway.emulator.pytest_plugin import MelindaGateway
from gateway.records import record_to_marcxml
from tests.conftest import require_tool

pytestmark = pytest.mark.e2e


def run(*argv: str, stdin: str = "") -> str:
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


def kivi_record() -> bytes:
    """A MARCXML record a library system's test would bring along."""
    return (
        b'<record xmlns="http://www.loc.gov/MARC21/slim">'
        b"<leader>00000cam a2200000 i 4500</leader>"
        b'<controlfield tag="001">000012345</controlfield>'
        b'<controlfield tag="008">261122s1870    fi |||||||||||||||||fin||</controlfield>'
        b'<datafield tag="020" ind1=" " ind2=" "><subfield code="a">9789510111111</subfield></datafield>'
        b'<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Kivi, Aleksis.</subfield></datafield>'
        b'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Nummisuutarit /</subfield></datafield>'
        b'<datafield tag="LOW" ind1=" " ind2=" "><subfield code="a">KVP</subfield></datafield>'
        b"</record>"
    )


def test_yaz_client_finds_a_seeded_marcxml_record(melinda_gateway: MelindaGateway) -> None:
    yaz_client = require_tool("yaz-client")
    report = melinda_gateway.load(kivi_record())
    assert report.loaded == 1
    out = run(
        yaz_client,
        stdin=(
            f"sru get 1.2\nopen {melinda_gateway.sru_url}\n"
            "find bath.isbn=9789510111111\nshow 1\nfind dc.title=nummisuutarit\nquit\n"
        ),
    )
    assert re.findall(r"Number of hits: (\d+)", out) == ["1", "1", "1"]
    assert '<controlfield tag="001">000012345</controlfield>' in out
    # the journal saw yaz-client's three requests
    operations = [e.operation for e in melinda_gateway.requests("sru")]
    assert operations == ["searchRetrieve"] * 3
    assert all(e.outcome == "ok" for e in melinda_gateway.requests("sru"))


def test_each_test_starts_from_an_empty_store(melinda_gateway: MelindaGateway) -> None:
    """The previous test's record and journal are gone (the plugin restored its snapshot)."""
    assert melinda_gateway.call(melinda_gateway.catalog.record_counts()) == (0, 0)
    assert melinda_gateway.requests() == []


def test_zoomsh_pages_through_generated_records(melinda_gateway: MelindaGateway) -> None:
    zoomsh = require_tool("zoomsh")
    ids = melinda_gateway.seed(30, seed=11)
    assert len(ids) == 30
    stored = melinda_gateway.call(melinda_gateway.catalog.fetch(ids[:1]))
    title_word = next(
        w.strip(".,:;/") for w in stored[0].record()["245"]["a"].split() if len(w) > 4
    )
    out = run(
        zoomsh,
        "set sru get",
        f"connect {melinda_gateway.sru_url}",
        f"search cql:dc.title={title_word}",
        "show 0 1",
        "quit",
    )
    hits = re.search(r": (\d+) hits", out)
    assert hits is not None and int(hits.group(1)) >= 1, out


def test_library_and_record_helpers(melinda_gateway: MelindaGateway) -> None:
    library = melinda_gateway.add_library("KVP", password="salasana", lows=["KVP"])
    assert library.lows == ("KVP",)
    user = melinda_gateway.call(melinda_gateway.catalog.authenticate("kvp", "salasana"))
    assert user.library == "KVP"
    record = melinda_gateway.call(melinda_gateway.catalog.fetch(melinda_gateway.seed(1)))[0]
    assert record_to_marcxml(record.record()).startswith(b"<record")
