"""The ZeeRex explain record, generated from the very tables the server answers with."""

from __future__ import annotations

from typing import Final

from lxml import etree

from gateway.catalog import RESULT_SET_CAP
from gateway.model import View
from gateway.query import INDEXES
from protocols.sru import cql
from protocols.sru.records import DEFAULT_SCHEMA, SCHEMAS
from protocols.sru.request import (
    DEFAULT_MAXIMUM_RECORDS,
    DEFAULT_MAXIMUM_TERMS,
    DEFAULT_VERSION,
    MAXIMUM_RECORDS,
    MAXIMUM_TERMS,
    VERSIONS,
)

ZEEREX_NS: Final = "http://explain.z3950.org/dtd/2.0/"

DATABASE_TITLES: Final[dict[View, str]] = {
    View.FIN01: "Melinda: Finnish union catalogue, bibliographic records (fin01)",
    View.FIN01ALMA: "Melinda for Alma: bibliographic records in Alma's form (fin01alma)",
    View.FIN11: "Asteri: Finnish name authorities, persons, corporate bodies, meetings (fin11)",
}
# The indexes an authority base answers, with what they hold there (names: `bath.name` too).
AUTHORITY_INDEXES: Final[dict[str, str]] = {
    "rec.id": "Asteri record number (001)",
    "melinda.asteriid": "Asteri record number, also given as a $0 link in any of its forms",
    "dc.author": "Name words of the heading (1XX) and its see-from forms (4XX); "
    "`^` anchors at a heading's start",
    "cql.serverChoice": "Any name word or the record number",
}


def _sub(parent: etree._Element, tag: str, text: str = "", **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ZEEREX_NS}}}{tag}", attrib)
    if text:
        element.text = text
    return element


def explain_record(
    *, host: str, port: int, database: str, view: View, version: str = DEFAULT_VERSION
) -> bytes:
    """The `<explain>` record for one database path (e.g. `sru/bib`) in one SRU version."""
    root = etree.Element(f"{{{ZEEREX_NS}}}explain", nsmap={None: ZEEREX_NS})  # type: ignore[dict-item]
    server = _sub(root, "serverInfo", protocol="SRU", version=version,
                  transport="http", method="GET POST SOAP")
    _sub(server, "host", host)
    _sub(server, "port", str(port))
    _sub(server, "database", database)

    info = _sub(root, "databaseInfo")
    _sub(info, "title", DATABASE_TITLES[view], lang="en", primary="true")
    _sub(info, "description",
         f"SRU versions {', '.join(VERSIONS)}; CQL with sortBy; scan. "
         f"Result sets are capped at {RESULT_SET_CAP} records.", lang="en", primary="true")

    index_info = _sub(root, "indexInfo")
    for name, uris in cql.CONTEXT_SETS.items():
        _sub(index_info, "set", identifier=uris[0], name=name)
    _index(index_info, "Every record", "cql.allRecords", scan=False, sort=False)
    for index in INDEXES.values():
        if view.is_authority:
            if index.name in AUTHORITY_INDEXES:
                _index(index_info, AUTHORITY_INDEXES[index.name], index.name,
                       scan=index.name == "dc.author", sort=index.name == "dc.author")
            continue
        _index(index_info, index.title, index.name, scan=index.scannable,
               sort=index.name in cql.SORTABLE)

    schema_info = _sub(root, "schemaInfo")
    for schema in SCHEMAS:
        element = _sub(schema_info, "schema", identifier=schema.identifier, name=schema.name,
                       retrieve="true", sort="false")
        _sub(element, "title", schema.title, lang="en")

    config = _sub(root, "configInfo")
    _sub(config, "default", str(DEFAULT_MAXIMUM_RECORDS), type="numberOfRecords")
    _sub(config, "setting", str(MAXIMUM_RECORDS), type="maximumRecords")
    _sub(config, "default", str(DEFAULT_MAXIMUM_TERMS), type="numberOfTerms")
    _sub(config, "setting", str(MAXIMUM_TERMS), type="maximumTerms")
    _sub(config, "setting", str(RESULT_SET_CAP), type="resultSetSize")
    _sub(config, "default", DEFAULT_SCHEMA.identifier, type="retrieveSchema")
    _sub(config, "default", "cql", type="contextSet")
    _sub(config, "default", "cql.serverChoice", type="index")
    _sub(config, "default", "=", type="relation")
    for relation in cql.RELATIONS:
        _sub(config, "supports", relation, type="relation")
    for modifier in sorted(cql.RELATION_MODIFIERS):
        _sub(config, "supports", modifier, type="relationModifier")
    _sub(config, "supports", "*", type="maskingCharacter")
    _sub(config, "supports", "^", type="anchoring")
    _sub(config, "supports", "", type="sort")
    _sub(config, "supports", "", type="scan")
    return bytes(etree.tostring(root, encoding="utf-8"))


def _index(parent: etree._Element, title: str, name: str, *, scan: bool, sort: bool) -> None:
    element = _sub(parent, "index", search="true", scan=str(scan).lower(), sort=str(sort).lower())
    _sub(element, "title", title, lang="en")
    prefix, _, short = name.partition(".")
    _sub(_sub(element, "map"), "name", short, set=prefix)
