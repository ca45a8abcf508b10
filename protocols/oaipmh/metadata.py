"""The metadata formats (oai_dc, marc21, melinda_marc) and the record forms Melinda sends.

Every MARC form gets what Melinda's provider (NatLibFi/melinda-oai-pmh-provider,
`context/common.js`) does on the way out: 003 becomes `FI-MELINDA`, the record's own 035s
(`(FI-MELINDA)…`, `(FIN01)…`, `FCC…`) fold into one `035 $a (FI-MELINDA)NNNNNNNNN`, and Aleph's
internal prefixes in $w/$0 become ISIL ones (`(FIN01)` → `(FI-MELINDA)`, `(FIN11)` →
`(FI-ASTERI-N)`, …). `marc21` then drops every non-numeric tag (LOW, SID, CAT, STA) and every
$9, and any field left without subfields; `melinda_marc` keeps the Aleph fields but CAT only for
a privileged harvester. The stored MARCXML is filtered with lxml, never through pymarc, so a
full harvest stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

OAI_DC = "oai_dc"
MARC21 = "marc21"
MELINDA_MARC = "melinda_marc"


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

MELINDA_ISIL = "FI-MELINDA"
# Aleph library prefixes Melinda's provider rewrites, and in which subfield
_PREFIX_REWRITES: dict[str, tuple[tuple[str, str], ...]] = {
    "w": (("(FIN01)", "(FI-MELINDA)"),),
    "0": (
        ("(FIN10)", "(FI-ASTERI-S)"),
        ("(FIN11)", "(FI-ASTERI-N)"),
        ("(FIN12)", "(FI-ASTERI-A)"),
        ("(FIN13)", "(FI-ASTERI-W)"),
    ),
}
# the record's own id in 035 $a: today's form, Aleph's, and the older `FCC000123456`
_OWN_035 = re.compile(r"\((?:FI-MELINDA|FIN01)\)|FCC[0-9]")

_CONTROLFIELD = f"{{{MARC_NS}}}controlfield"
_DATAFIELD = f"{{{MARC_NS}}}datafield"
_SUBFIELD = f"{{{MARC_NS}}}subfield"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def marc_form(xml: bytes, record_id: int, prefix: str, *, with_cat: bool = False) -> bytes:
    """The `<record>` Melinda's provider sends for `marc21` or `melinda_marc`."""
    if xml.startswith(_CANONICAL_START) and xml.endswith(b"</record>"):
        filtered = _marc_form_canonical(xml, record_id, prefix == MARC21, with_cat)
        if filtered is not None:
            return filtered
    return _marc_form_tree(xml, record_id, prefix == MARC21, with_cat)


# The store keeps records in one compact form (gateway.records.record_to_marcxml): fixed
# attribute order, every `< > & "` escaped, no comments, nothing self-closed. On that form
# fields are filtered by byte patterns, several times faster than parsing; any other input
# takes the lxml path below, and a unit test holds the two paths equal.
_CANONICAL_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>'
_SUBFIELDS = rb'(?:<subfield code="[^"]*">[^<]*</subfield>)*'
_NON_NUMERIC_DATAFIELD = re.compile(
    rb'<datafield tag="(?![0-9]+")[^"]*" ind1="[^"]*" ind2="[^"]*">' + _SUBFIELDS + rb"</datafield>"
)
_NON_NUMERIC_CONTROLFIELD = re.compile(
    rb'<controlfield tag="(?![0-9]+")[^"]*">[^<]*</controlfield>'
)
_NON_NUMERIC_TAG = re.compile(rb'tag="(?![0-9]+")')
_CAT_FIELD = re.compile(
    rb'<datafield tag="CAT" ind1="[^"]*" ind2="[^"]*">' + _SUBFIELDS + rb"</datafield>"
)
_OWN_035_A = re.compile(rb'<subfield code="a">(?:\((?:FI-MELINDA|FIN01)\)|FCC[0-9])')
_AFTER_035 = re.compile(rb'<datafield tag="(?:0(?:3[6-9]|[4-9][0-9])|[1-9][0-9][0-9])"')
_SUBFIELD_9 = re.compile(rb'<subfield code="9">[^<]*</subfield>')
_EMPTY_DATAFIELD = re.compile(rb'<datafield tag="[^"]*" ind1="[^"]*" ind2="[^"]*"></datafield>')
_PREFIX_W = re.compile(rb'(<subfield code="w">[^<]*?)\(FIN01\)')
_PREFIX_0 = re.compile(rb'(<subfield code="0">[^<]*?)\(FIN1([0-3])\)')
_ASTERI = {
    b"0": b"(FI-ASTERI-S)",
    b"1": b"(FI-ASTERI-N)",
    b"2": b"(FI-ASTERI-A)",
    b"3": b"(FI-ASTERI-W)",
}
_START_003 = b'<controlfield tag="003">'
_START_001 = b'<controlfield tag="001">'
_START_035 = b'<datafield tag="035" '
_END_CONTROLFIELD = b"</controlfield>"
_END_DATAFIELD = b"</datafield>"
_END_LEADER = b"</leader>"
_003_BYTES = f"{_START_003.decode()}{MELINDA_ISIL}</controlfield>".encode()


def _marc_form_canonical(
    xml: bytes, record_id: int, standard: bool, with_cat: bool
) -> bytes | None:
    """The filtered record, or None when the bytes are not in the store's form after all."""
    if standard:
        xml = _NON_NUMERIC_DATAFIELD.sub(b"", xml)
        if _NON_NUMERIC_TAG.search(xml):
            # Aleph's FMT can come as a control field; anything else means an unexpected form
            xml = _NON_NUMERIC_CONTROLFIELD.sub(b"", xml)
            if _NON_NUMERIC_TAG.search(xml):
                return None
    elif not with_cat and b'tag="CAT"' in xml:
        xml = _CAT_FIELD.sub(b"", xml)
        if b'tag="CAT"' in xml:
            return None
    while (at := xml.find(_START_003)) >= 0:
        xml = xml[:at] + xml[xml.index(_END_CONTROLFIELD, at) + len(_END_CONTROLFIELD) :]
    xml = _fold_035(xml, record_id)
    at = xml.find(_START_001)
    if at >= 0:
        at = xml.index(_END_CONTROLFIELD, at) + len(_END_CONTROLFIELD)
    else:
        at = xml.index(_END_LEADER) + len(_END_LEADER)
    xml = xml[:at] + _003_BYTES + xml[at:]
    if standard and b'code="9"' in xml:
        xml = _EMPTY_DATAFIELD.sub(b"", _SUBFIELD_9.sub(b"", xml))
    if b"(FIN" in xml:
        xml = _PREFIX_W.sub(rb"\1(FI-MELINDA)", xml)
        xml = _PREFIX_0.sub(lambda m: m.group(1) + _ASTERI[m.group(2)], xml)
    return xml


def _fold_035(xml: bytes, record_id: int) -> bytes:
    """The record's own 035s replaced by one `(FI-MELINDA)` 035 where the first of them stood."""
    own = (
        f'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">'
        f"({MELINDA_ISIL}){record_id:09d}</subfield></datafield>"
    ).encode()
    pieces: list[bytes] = []
    placed = False
    done = 0
    at = xml.find(_START_035)
    while at >= 0:
        end = xml.index(_END_DATAFIELD, at) + len(_END_DATAFIELD)
        if _OWN_035_A.search(xml, at, end):
            pieces.append(xml[done:at])
            if not placed:
                pieces.append(own)
                placed = True
            done = end
        at = xml.find(_START_035, end)
    if placed:
        pieces.append(xml[done:])
        return b"".join(pieces)
    after = _AFTER_035.search(xml)
    at = after.start() if after else len(xml) - len(b"</record>")
    return xml[:at] + own + xml[at:]


def _marc_form_tree(xml: bytes, record_id: int, standard: bool, with_cat: bool) -> bytes:
    root = etree.fromstring(xml, _PARSER)
    rewrite_prefixes = b"(FIN1" in xml or b"(FIN01)" in xml
    drop_nines = standard and b'code="9"' in xml
    first_own: int | None = None
    first_after: int | None = None
    seen_001 = False
    position = 0
    for element in list(root):
        kind = element.tag
        if kind in (_CONTROLFIELD, _DATAFIELD):
            tag = element.get("tag") or ""
            if tag == "003" or (standard and not tag.isdigit()) or (tag == "CAT" and not with_cat):
                root.remove(element)
                continue
            if kind == _DATAFIELD:
                if tag == "035" and _is_own_035(element):
                    if first_own is None:
                        first_own = position
                    root.remove(element)
                    continue
                if first_after is None and tag > "035" and tag.isdigit():
                    first_after = position
                if drop_nines or rewrite_prefixes:
                    _clean_subfields(element, drop_nines=drop_nines, rewrite=rewrite_prefixes)
                    if drop_nines and len(element) == 0:
                        root.remove(element)
                        continue
            elif tag == "001":
                seen_001 = True
        position += 1
    at = first_own if first_own is not None else first_after
    root.insert(at if at is not None else len(root), _own_035(record_id))
    root.insert(_after_001(root) if seen_001 else _after_leader(root), _controlfield("003"))
    return etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _clean_subfields(field: etree._Element, *, drop_nines: bool, rewrite: bool) -> None:
    for subfield in list(field):
        code = subfield.get("code")
        if drop_nines and code == "9":
            field.remove(subfield)
        elif rewrite and code in _PREFIX_REWRITES and subfield.text:
            for old, new in _PREFIX_REWRITES[code]:
                if old in subfield.text:
                    subfield.text = subfield.text.replace(old, new, 1)


def _is_own_035(field: etree._Element) -> bool:
    return any(sub.get("code") == "a" and _OWN_035.match(sub.text or "") for sub in field)


def _own_035(record_id: int) -> etree._Element:
    field = etree.Element(_DATAFIELD, tag="035", ind1=" ", ind2=" ")
    sub = etree.SubElement(field, _SUBFIELD, code="a")
    sub.text = f"({MELINDA_ISIL}){record_id:09d}"
    return field


def _controlfield(tag: str) -> etree._Element:
    field = etree.Element(_CONTROLFIELD, tag=tag)
    field.text = MELINDA_ISIL
    return field


def _after_001(root: etree._Element) -> int:
    for index, element in enumerate(root):
        if element.tag == _CONTROLFIELD and element.get("tag") == "001":
            return index + 1
    return 0


def _after_leader(root: etree._Element) -> int:
    return 1 if len(root) and etree.QName(root[0]).localname == "leader" else 0


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
    root = etree.fromstring(xml, _PARSER)
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
