"""Record schemas SRU serves: MARCXML spliced from the stored bytes, Dublin Core built from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from gateway.records import xmlsafe

MARC_NS: Final = "http://www.loc.gov/MARC21/slim"
DC_NS: Final = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS: Final = "info:srw/schema/1/dc-schema"


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """A schema a client may ask for by any of `names`; responses label it `identifier`."""

    name: str
    identifier: str
    title: str
    names: tuple[str, ...]
    # None: the stored MARCXML bytes are spliced as they are
    convert: Callable[[bytes], bytes] | None = None


_LEADER: Final = f"{{{MARC_NS}}}leader"
_CONTROLFIELD: Final = f"{{{MARC_NS}}}controlfield"
_DATAFIELD: Final = f"{{{MARC_NS}}}datafield"


def marcxml_to_dc(record_xml: bytes) -> bytes:
    """A simple Dublin Core record from a MARCXML record (after LoC's MARC to DC crosswalk)."""
    root = xmlsafe.parse(record_xml)
    leader = ""
    control: dict[str, str] = {}
    fields: dict[str, list[list[tuple[str, str]]]] = {}
    for element in root:  # one pass: records carry dozens of fields
        if element.tag == _DATAFIELD:
            fields.setdefault(element.get("tag", ""), []).append(
                [(sf.get("code", ""), (sf.text or "").strip()) for sf in element]
            )
        elif element.tag == _CONTROLFIELD:
            control[element.get("tag", "")] = element.text or ""
        elif element.tag == _LEADER:
            leader = element.text or ""

    def subfields(tags: str, codes: str) -> list[str]:
        out: list[str] = []
        for tag in tags.split():
            for field in fields.get(tag, ()):
                text = " ".join(v for c, v in field if c in codes and v).strip(" /:;,.=")
                if text:
                    out.append(text)
        return out

    f008 = control.get("008", "")
    elements: list[tuple[str, str]] = []
    elements += [("title", t) for t in subfields("245", "abnp")]
    elements += [("creator", a) for a in subfields("100 110 111 700 710 711", "abcdq")]
    elements += [("subject", s) for s in subfields("600 610 611 630 650 651 653", "abcdxyzv")]
    elements += [("description", d) for d in subfields("500 505 520", "a")]
    elements += [("publisher", p) for p in subfields("260 264", "b")]
    dates = subfields("260 264", "c") or ([f008[7:11]] if f008[7:11].strip() else [])
    elements += [("date", d) for d in dates]
    if len(leader) > 6:
        elements.append(("type", _DC_TYPES.get(leader[6], "Text")))
    elements += [("format", f) for f in subfields("300", "a")]
    elements += [("identifier", f"URN:ISBN:{i}") for i in subfields("020", "a")]
    elements += [("identifier", f"URN:ISSN:{i}") for i in subfields("022", "a")]
    if control.get("001"):
        elements.append(("identifier", f"(FI-MELINDA){control['001']}"))
    language = f008[35:38].strip() if len(f008) >= 38 else ""
    if language and language not in ("|||", "   "):
        elements.append(("language", language))
    elements += [("relation", r) for r in subfields("773", "t")]

    dc = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})
    for name, value in elements:
        etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return bytes(etree.tostring(dc, encoding="utf-8"))


_DC_TYPES: Final[dict[str, str]] = {
    "a": "Text",
    "t": "Text",
    "c": "Notated music",
    "d": "Notated music",
    "e": "Cartographic",
    "f": "Cartographic",
    "g": "Moving image",
    "i": "Sound",
    "j": "Sound",
    "k": "Still image",
    "m": "Software, multimedia",
    "o": "Kit",
    "p": "Mixed material",
    "r": "Three dimensional object",
}

MARCXML: Final = RecordSchema(
    name="marcxml",
    identifier="info:srw/schema/1/marcxml-v1.1",
    title="MARCXML: MARC 21 bibliographic records with Melinda's LOW, SID, CAT and STA",
    names=(
        "marcxml",
        "info:srw/schema/1/marcxml-v1.1",
        "info:srw/schema/1/marcxml-v1.1-light",
        "marc21-xml",
        "marc21",
        "marc21slim",
        "http://www.loc.gov/marc21/slim",
    ),
)
DUBLIN_CORE: Final = RecordSchema(
    name="dc",
    identifier="info:srw/schema/1/dc-v1.1",
    title="Dublin Core",
    names=("dc", "info:srw/schema/1/dc-v1.1", "info:srw/schema/1/dc-schema", DC_NS),
    convert=marcxml_to_dc,
)
SCHEMAS: Final[tuple[RecordSchema, ...]] = (MARCXML, DUBLIN_CORE)
DEFAULT_SCHEMA: Final = MARCXML


def find_schema(name: str) -> RecordSchema | None:
    """The schema a client-given recordSchema means (case-insensitive), or None."""
    wanted = name.strip().lower()
    for schema in SCHEMAS:
        if wanted in (n.lower() for n in schema.names):
            return schema
    return None


def convert_all(schema: RecordSchema, records: Sequence[bytes]) -> list[bytes]:
    """Each record in the schema (the stored bytes themselves for MARCXML)."""
    if schema.convert is None:
        return list(records)
    return [schema.convert(xml) for xml in records]
