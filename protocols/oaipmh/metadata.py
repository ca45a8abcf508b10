"""The metadata formats (oai_dc, marc21, melinda_marc) and the record forms Melinda sends.

The MARC forms are made by `gateway.records.marc_forms` (the catalog also makes a record's
`marc21` form when it saves the record); oai_dc is made here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from gateway.records import xmlsafe
from gateway.records.marc_forms import (
    MARC21,
    MARC_NS,
    MELINDA_ISIL,
    MELINDA_MARC,
    authority_marc_form,
    marc_form,
)

__all__ = [
    "DC_NS",
    "MARC21",
    "MARC_NS",
    "MELINDA_MARC",
    "METADATA_FORMATS",
    "OAI_DC",
    "MetadataFormat",
    "authority_marc_form",
    "dublin_core",
    "marc_form",
]

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

OAI_DC = "oai_dc"


@dataclass(frozen=True, slots=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


METADATA_FORMATS: dict[str, MetadataFormat] = {
    OAI_DC: MetadataFormat(
        OAI_DC,
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
    ),
    MARC21: MetadataFormat(
        MARC21, "https://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS
    ),
    # Melinda declares its own namespace for this format yet sends plain MARCXML records
    MELINDA_MARC: MetadataFormat(
        MELINDA_MARC,
        "https://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
        "https://melinda.kansalliskirjasto.fi/melinda-marc",
    ),
}
_CONTROLFIELD = f"{{{MARC_NS}}}controlfield"
_DATAFIELD = f"{{{MARC_NS}}}datafield"

# --- oai_dc -------------------------------------------------------------------------------
# Melinda's own oai_dc is a placeholder (title, language, 008 date); this is the usual
# MARC → unqualified Dublin Core crosswalk of the Library of Congress, kept short.
_TRAILING = re.compile(r"[\s/:;,=.]+$")
_DC_TYPES = {
    "a": "Text",
    "t": "Text",
    "c": "Text",
    "d": "Text",
    "e": "Image",
    "f": "Image",
    "g": "MovingImage",
    "k": "StillImage",
    "i": "Sound",
    "j": "Sound",
    "m": "Software",
    "o": "Collection",
    "p": "Collection",
    "r": "PhysicalObject",
}
_DC_FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # element, tags, subfield codes joined into one value
    ("title", ("245",), "abnp"),
    ("creator", ("100", "110", "111"), "abcdq"),
    ("contributor", ("700", "710", "711"), "abcdq"),
    ("subject", tuple(f"6{n:02d}" for n in range(100)), "abcdvxyz"),
    ("description", ("500", "520"), "a"),
    ("publisher", ("260", "264"), "b"),
    ("relation", ("773",), "t"),
)


def dublin_core(xml: bytes, record_id: int) -> bytes:
    """An `<oai_dc:dc>` description of the record."""
    root = etree.fromstring(xml, xmlsafe.parser())
    dc = etree.Element(
        f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    dc.set(
        f"{{{XSI_NS}}}schemaLocation",
        f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    )
    fields = [el for el in root if el.tag == _DATAFIELD]
    control = {el.get("tag"): el.text or "" for el in root if el.tag == _CONTROLFIELD}
    leader = next((el.text or "" for el in root if etree.QName(el).localname == "leader"), "")

    def add(name: str, value: str) -> None:
        value = _TRAILING.sub("", value.strip())
        if value:
            etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value

    for name, tags, codes in _DC_FIELDS:
        for field in fields:
            if (field.get("tag") or "") in tags:
                add(name, " ".join(s.text or "" for s in field if (s.get("code") or "") in codes))
    fixed = control.get("008", "")
    year = fixed[7:11]
    if year.isdigit():
        add("date", year)
    if len(leader) > 6 and leader[6] in _DC_TYPES:
        add("type", _DC_TYPES[leader[6]])
    for field in fields:
        tag = field.get("tag")
        for sub in field:
            code, text = sub.get("code"), sub.text or ""
            if tag == "020" and code == "a":
                add("identifier", f"URN:ISBN:{text.split(' ')[0]}")
            elif tag == "022" and code == "a":
                add("identifier", f"URN:ISSN:{text}")
            elif tag == "856" and code == "u":
                add("identifier", text)
    language = fixed[35:38]
    if len(language) == 3 and language.isalpha():
        add("language", language)
    add("identifier", f"({MELINDA_ISIL}){record_id:09d}")
    return etree.tostring(dc, encoding="UTF-8", xml_declaration=False)
