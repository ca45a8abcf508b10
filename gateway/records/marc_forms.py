"""The MARC forms Melinda's OAI-PMH provider sends (marc21, melinda_marc), made from stored MARCXML.

Every MARC form gets what Melinda's provider (NatLibFi/melinda-oai-pmh-provider,
`context/common.js`) does on the way out: 003 becomes `FI-MELINDA`, the record's own 035s
(`(FI-MELINDA)…`, `(FIN01)…`, `FCC…`) fold into one `035 $a (FI-MELINDA)NNNNNNNNN`, and Aleph's
internal prefixes in $w/$0 become ISIL ones (`(FIN01)` → `(FI-MELINDA)`, `(FIN11)` →
`(FI-ASTERI-N)`, …). `marc21` then drops every non-numeric tag (LOW, SID, CAT, STA) and every
$9, and any field left without subfields; `melinda_marc` keeps the Aleph fields but CAT only for
a privileged harvester. The stored MARCXML is filtered with lxml, never through pymarc, so a
full harvest stays fast; a record's `marc21` form is also made when it is saved (`ready_marc21`).
"""

from __future__ import annotations

import re

from lxml import etree

from gateway.records import xmlsafe

MARC_NS = "http://www.loc.gov/MARC21/slim"
MARC21 = "marc21"
MELINDA_MARC = "melinda_marc"
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
_NON_NUMERIC_TAG = re.compile(rb'tag="(?![0-9]++")')
_NUMERIC_TAG = re.compile(rb'tag="[0-9]++"')
_CAT_FIELD = re.compile(
    rb'<datafield tag="CAT" ind1="[^"]*" ind2="[^"]*">' + _SUBFIELDS + rb"</datafield>"
)
_OWN_035_A = re.compile(rb'<subfield code="a">(?:\((?:FI-MELINDA|FIN01)\)|FCC[0-9])')
_AFTER_035 = re.compile(rb'<datafield tag="(?:0(?:3[6-9]|[4-9][0-9])|[1-9][0-9][0-9])"')
_LATE_HEAD_FIELD = re.compile(rb'tag="0(?:0[13]|35)"')
_SUBFIELD_9 = re.compile(rb'<subfield code="9">[^<]*</subfield>')
_EMPTY_DATAFIELD = re.compile(rb'<datafield tag="[^"]*" ind1="[^"]*" ind2="[^"]*"></datafield>')
_ASTERI = {
    b"0": b"(FI-ASTERI-S)",
    b"1": b"(FI-ASTERI-N)",
    b"2": b"(FI-ASTERI-A)",
    b"3": b"(FI-ASTERI-W)",
}
_START_CAT = b'<datafield tag="CAT" '
_END_RECORD = b"</record>"
_END_DATAFIELD = b"</datafield>"
_END_LEADER = b"</leader>"
_003_BYTES = f'<controlfield tag="003">{MELINDA_ISIL}</controlfield>'.encode()


def _marc_form_canonical(
    xml: bytes, record_id: int, standard: bool, with_cat: bool
) -> bytes | None:
    """The filtered record, or None when the bytes are not in the store's form after all."""
    body = _without_aleph_fields(xml, standard, with_cat)
    if body is None:
        return None
    rewrite = _HeadRewrite(record_id, standard)
    # 001, 003 and 035 come before the first data field after 035; the rest of the record
    # is scanned only when it holds a $9 or an Aleph prefix (or fields out of tag order)
    after = _AFTER_035.search(body)
    split = after.start() if after else len(body)
    head, rest = body[:split], body[split:]
    late = _LATE_HEAD_FIELD.search(rest) is not None
    if late:
        head, rest = body, b""
    head = _HEAD_FIELDS.sub(rewrite, head)
    if (standard and b'code="9"' in rest) or b"(FIN" in rest:
        rest = _HEAD_FIELDS.sub(rewrite, rest)
    if not rewrite.placed_003:
        at = head.index(_END_LEADER) + len(_END_LEADER)
        head = head[:at] + _003_BYTES + head[at:]
    if not rewrite.placed_035:
        # in tag order: where the head ends, or before the first data field after 035
        later = _AFTER_035.search(head) if late else None
        at = later.start() if later else len(head)
        head = head[:at] + rewrite.own_035 + head[at:]
    body = head + rest
    if rewrite.dropped_9:
        body = _EMPTY_DATAFIELD.sub(b"", body)
    return body + _END_RECORD


# One pass over the record finds every piece to rewrite: 001 (003 follows it), 003, 035,
# $9, and $w/$0 holding an Aleph prefix (possessive where nothing is to be given back).
_HEAD_FIELDS = re.compile(
    rb'<controlfield tag="00([13])">[^<]*+</controlfield>'
    rb'|<datafield tag="035" ind1="[^"]*+" ind2="[^"]*+">'
    rb'(?:<subfield code="[^"]*+">[^<]*+</subfield>)*+</datafield>'
    rb'|<subfield code="(?:9">[^<]*+</subfield>|w">[^<]*?\(FIN01\)|0">[^<]*?\(FIN1[0-3]\))'
)


class _HeadRewrite:
    """The replacement for each `_HEAD_FIELDS` match of one record."""

    __slots__ = ("dropped_9", "own_035", "placed_003", "placed_035", "standard")

    def __init__(self, record_id: int, standard: bool) -> None:
        self.own_035 = (
            f'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">'
            f"({MELINDA_ISIL}){record_id:09d}</subfield></datafield>"
        ).encode()
        self.standard = standard
        self.placed_003 = self.placed_035 = self.dropped_9 = False

    def __call__(self, match: re.Match[bytes]) -> bytes:
        found = match.group()
        kind = found[1:2]
        if kind == b"c":  # controlfield 001 or 003
            if match.group(1) == b"1" and not self.placed_003:
                self.placed_003 = True
                return found + _003_BYTES
            return b"" if match.group(1) == b"3" else found
        if kind == b"d":  # datafield 035
            if not _OWN_035_A.search(found):
                if self.standard and b'code="9"' in found:
                    self.dropped_9 = True
                    return _SUBFIELD_9.sub(b"", found)
                return found
            if self.placed_035:
                return b""
            self.placed_035 = True
            return self.own_035
        code = found[len(b'<subfield code="') : len(b'<subfield code="') + 1]
        if code == b"9":
            if not self.standard:
                return found
            self.dropped_9 = True
            return b""
        if code == b"w":
            return found[: -len(b"(FIN01)")] + b"(FI-MELINDA)"
        return found[: -len(b"(FIN10)")] + _ASTERI[found[-2:-1]]


def _without_aleph_fields(xml: bytes, standard: bool, with_cat: bool) -> bytes | None:
    """The record up to (without) `</record>`, less the fields the format leaves out.

    Aleph keeps its own fields (STA, SID, CAT, LOW) after the MARC ones, so usually one cut
    drops them all; a record in another order goes through the per-field patterns. A `"` is
    always escaped in the store's form, so `tag="` only ever starts a tag attribute.
    """
    end = len(xml) - len(_END_RECORD)
    if standard:
        found = _NON_NUMERIC_TAG.search(xml)
        if found is None:
            return xml[:end]
        if _NUMERIC_TAG.search(xml, found.end()) is None:
            return xml[: xml.rfind(b"<", 0, found.start())]
        xml = _NON_NUMERIC_CONTROLFIELD.sub(b"", _NON_NUMERIC_DATAFIELD.sub(b"", xml))
        return None if _NON_NUMERIC_TAG.search(xml) else xml[: -len(_END_RECORD)]
    first = xml.find(_START_CAT) if not with_cat else -1
    if first < 0:
        return xml[:end]
    last = xml.rfind(_START_CAT)
    stop = xml.index(_END_DATAFIELD, last) + len(_END_DATAFIELD)
    if xml.count(b"<datafield ", first, stop) == xml.count(_START_CAT, first, stop):
        return xml[:first] + xml[stop:end]
    xml = _CAT_FIELD.sub(b"", xml)
    return None if _START_CAT in xml else xml[: -len(_END_RECORD)]


def _marc_form_tree(xml: bytes, record_id: int, standard: bool, with_cat: bool) -> bytes:
    root = etree.fromstring(xml, xmlsafe.parser())
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



# Asteri's provider: fields a harvester without privileges does not get, and the control
# subfields `marc21` leaves out of headings (1XX) and see-from forms (4XX)
_AUTHORITY_PRIVILEGED_TAGS = frozenset({"CAT", "375", "667"})
_AUTHORITY_MARC21_DROPS = {"1": frozenset("02"), "4": frozenset("027")}


def authority_marc_form(xml: bytes, prefix: str, *, privileged: bool = False) -> bytes:
    """The `<record>` of an authority for `marc21` or `melinda_marc`: 003 stays FI-ASTERI-N
    and no Melinda 035 is added; Aleph's `(FIN11)` in $0 becomes `(FI-ASTERI-N)`; CAT, 375 and
    667 only for a privileged harvester; `marc21` also drops Aleph's fields, $9, and $0/$2 of
    the heading and $0/$2/$7 of see-from forms."""
    standard = prefix == MARC21
    root = etree.fromstring(xml, xmlsafe.parser())
    for element in list(root):
        if element.tag not in (_CONTROLFIELD, _DATAFIELD):
            continue
        tag = element.get("tag") or ""
        if (standard and not tag.isdigit()) or (
            tag in _AUTHORITY_PRIVILEGED_TAGS and not privileged
        ):
            root.remove(element)
            continue
        if element.tag != _DATAFIELD:
            continue
        _clean_subfields(element, drop_nines=standard, rewrite=True)
        drops = _AUTHORITY_MARC21_DROPS.get(tag[:1]) if standard else None
        if drops:
            for subfield in list(element):
                if subfield.get("code") in drops:
                    element.remove(subfield)
        if len(element) == 0:
            root.remove(element)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=False)
