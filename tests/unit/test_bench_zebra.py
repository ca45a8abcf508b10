"""The Zebra configuration the bench writes: indexes that match the gateway's, levels declared in
order (grs.marc refuses `tag/?/code` before `tag/?`), and the CQL map for SRU."""

from __future__ import annotations

from pathlib import Path

from bench.servers import PQF_PROPERTIES, ZEBRA_INDEXES, melinda_abs, write_zebra_config


def test_abs_declares_each_level_before_the_next() -> None:
    declared: set[str] = set()
    for line in melinda_abs().splitlines():
        if not line.startswith("elm "):
            continue
        path = line.split()[1]
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        assert parent is None or parent in declared, f"{path} before {parent}"
        declared.add(path)


def test_abs_indexes_what_the_bench_searches() -> None:
    text = melinda_abs()
    assert "elm 001\t\tLocal-number\tLocal-number:w" in text
    assert "elm 020/?/a\t\tISBN\tISBN:w" in text
    assert "elm 245/?/a\t\ttitle\ttitle:w" in text
    assert "elm 700/?/a\t\tauthor\tauthor:w" in text
    # 245 $c (statement of responsibility) is not a title word in the gateway either.
    assert "245/?/c" not in text
    assert ZEBRA_INDEXES["100"] == ("author", "abcdq")


def test_cql_indexes_map_to_the_bib1_uses_of_the_z3950_workload() -> None:
    mapping = dict(
        line.split(" = ", 1) for line in PQF_PROPERTIES.splitlines() if line.startswith("index.")
    )
    assert mapping == {
        "index.dc.title": "1=4",
        "index.dc.author": "1=1003",
        "index.bath.isbn": "1=7",
        "index.rec.id": "1=12",
    }


def test_config_is_written_into_its_own_directory(tmp_path: Path) -> None:
    write_zebra_config(tmp_path)
    cfg = (tmp_path / "zebra.cfg").read_text()
    assert f"register: {tmp_path / 'register'}" in cfg
    assert "recordType: grs.marc.melinda" in cfg
    assert (tmp_path / "tab" / "melinda.abs").read_text() == melinda_abs()
    assert "<cql2rpn>pqf.properties</cql2rpn>" in (tmp_path / "server.xml").read_text()
