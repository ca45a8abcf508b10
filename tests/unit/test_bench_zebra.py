"""The Zebra configuration the bench writes (Koha's way: MARCXML through the DOM filter): an
indexing stylesheet that indexes what the gateway indexes, and the CQL map for SRU."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from bench.servers import PQF_PROPERTIES, ZEBRA_INDEXES, index_xsl, write_zebra_config

Z = "{http://indexdata.com/zebra-2.0}"
RECORD = b"""<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 i 4500</leader>
<controlfield tag="001">000000042</controlfield>
<datafield tag="020" ind1=" " ind2=" "><subfield code="a">9789510000011</subfield></datafield>
<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Kivi, Aleksis.</subfield>
<subfield code="e">kirjoittaja.</subfield></datafield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Seitseman veljesta :</subfield>
<subfield code="b">romaani /</subfield><subfield code="c">Aleksis Kivi.</subfield></datafield>
<datafield tag="700" ind1="1" ind2=" "><subfield code="a">Lehtonen, Joel.</subfield></datafield>
</record>"""


def indexed(record: bytes) -> list[tuple[str, str]]:
    transform = etree.XSLT(etree.fromstring(index_xsl().encode()))
    out = transform(etree.fromstring(record))
    root = out.getroot()
    assert root is not None and root.tag == f"{Z}record"
    return [(str(e.get("name")), e.text or "") for e in root.iter(f"{Z}index")]


def test_the_stylesheet_indexes_what_the_bench_searches() -> None:
    assert indexed(RECORD) == [
        ("Local-number:w", "000000042"),
        ("ISBN:w", "9789510000011"),
        ("title:w", "Seitseman veljesta :"),
        ("title:w", "romaani /"),
        ("author:w", "Kivi, Aleksis."),
        ("author:w", "Lehtonen, Joel."),
    ]
    # 245 $c (statement of responsibility) and 100 $e are not indexed in the gateway either
    assert ZEBRA_INDEXES["245"] == ("title", "abnp")
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
    assert f"recordType: dom.{tmp_path / 'dom-config.xml'}" in cfg
    assert (tmp_path / "tab" / "index.xsl").read_text() == index_xsl()
    server = (tmp_path / "server.xml").read_text()
    assert "<cql2rpn>pqf.properties</cql2rpn>" in server
    # SRU's MARCXML is the stored record; Z39.50's USMARC is converted from it (Koha's rules)
    assert '<backend syntax="xml" name="marcxml">' in server
