"""The plugin as a library system's test suite meets it: installed, found by pytest, no conftest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

# A fictional library system's copy-cataloguing client and its tests (as in docs/pytest-plugin.md).
CLIENT_TESTS = '''
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

SRW = "{http://www.loc.gov/zing/srw/}"


class CopyCataloguing:
    """Finds a record in Melinda by ISBN over SRU (the fictional 'Kirkas' ILS)."""

    def __init__(self, sru_url):
        self.sru_url = sru_url

    def find_by_isbn(self, isbn):
        query = urllib.parse.urlencode(
            {"version": "1.2", "operation": "searchRetrieve", "query": f"bath.isbn={isbn}",
             "recordSchema": "marcxml"}
        )
        with urllib.request.urlopen(f"{self.sru_url}?{query}", timeout=30) as response:
            root = ET.fromstring(response.read())
        hits = int(root.findtext(f"{SRW}numberOfRecords") or 0)
        if root.find(f".//{{http://www.loc.gov/zing/srw/diagnostic/}}uri") is not None:
            raise RuntimeError("Melinda answered with a diagnostic")
        return hits


def test_copy_cataloguing_finds_the_record(melinda_gateway):
    ids = melinda_gateway.seed(5, seed=3)
    record = melinda_gateway.call(melinda_gateway.catalog.get(ids[0])).record()
    isbn = next(f["a"] for r in [record] for f in r.get_fields("020") if f.get("a"))
    assert CopyCataloguing(melinda_gateway.sru_url).find_by_isbn(isbn) == 1
    assert [e.operation for e in melinda_gateway.requests("sru")] == ["searchRetrieve"]


def test_copy_cataloguing_survives_melinda_failing(melinda_gateway):
    melinda_gateway.fault("sru", "error", count=1)
    client = CopyCataloguing(melinda_gateway.sru_url)
    try:
        client.find_by_isbn("9789510000000")
    except RuntimeError:
        pass
    else:
        raise AssertionError("the injected diagnostic was not seen")
    assert client.find_by_isbn("9789510000000") == 0  # the next request is served again


def test_store_is_empty_again(melinda_gateway):
    assert melinda_gateway.call(melinda_gateway.catalog.record_counts()) == (0, 0)
'''


def test_a_library_systems_suite_uses_the_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_kirkas.py").write_text(CLIENT_TESTS)
    (tmp_path / "pytest.ini").write_text(
        textwrap.dedent(
            """\
            [pytest]
            melinda_gateway_scope = module
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_kirkas.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_a_bad_scope_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(melinda_gateway):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmelinda_gateway_scope = forever\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "melinda_gateway_scope = forever" in done.stdout + done.stderr
