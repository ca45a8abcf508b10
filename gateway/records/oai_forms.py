"""A record's OAI-PMH forms made when it is saved (its set specs, its marc21 form), so a harvest
sends stored bytes; a row saved before they were kept has none, and they are made as it is sent.

They are derived data: a change to how they are made (`gateway.records.marc_forms`,
`gateway.oai_sets`) needs a store migration that sets the stored ones to NULL.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Literal, NamedTuple

from lxml import etree

from gateway.oai_sets import LOW_SET_PREFIX, MELINDA_SETS, set_specs_tuple
from gateway.records.marc_forms import MARC21, marc_form

# What a change-feed read brings of the stored forms: the set specs (headers), or those and
# the marc21 form (ListRecords in marc21); a record without them comes with its MARCXML
Ready = Literal["sets", "marc21"]


class OaiForms(NamedTuple):
    """The stored forms of one record of the fin01 view; None for a deleted one."""

    sets: str | None  # its set specs as a JSON list (`encode_set_specs`)
    marc21: bytes | None  # its `<record>` as the marc21 format sends it


NO_FORMS = OaiForms(None, None)


def oai_forms(xml: bytes, record_id: int, *, deleted: bool) -> OaiForms:
    """The forms to store with the fin01 view `xml` of record `record_id` (pure, CPU only)."""
    if deleted:
        return NO_FORMS
    try:
        marc21: bytes | None = marc_form(xml, record_id, MARC21)
    except (etree.XMLSyntaxError, ValueError):
        marc21 = None  # sent the way it always was (and fails the same way) when harvested
    return OaiForms(encode_set_specs(set_specs_tuple(xml)), marc21)


def encode_set_specs(specs: tuple[str, ...]) -> str:
    return json.dumps(specs, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=4096)
def decode_set_specs(text: str) -> tuple[str, ...]:
    """The set specs stored as `text`: records share a few combinations, so each is read once."""
    return tuple(json.loads(text))


_005 = re.compile(rb'<controlfield tag="005">[^<]*</controlfield>')
_NAMED = frozenset(s.spec for s in MELINDA_SETS)


def after_low_added(old: OaiForms, xml: bytes, record_id: int, low: str) -> OaiForms:
    """The forms of a live record after a LOW splice (`gateway.records.splice`) gave it `xml`:
    that splice changes nothing marc21 sends but the 005 stamp, and adds LOW `low` (never one
    of a named set's, nor a SID of one). Without stored forms to edit, they are made anew."""
    code = low.strip().upper()
    stamp = _005.search(xml)
    if old.sets is None or old.marc21 is None or stamp is None or not code:
        return oai_forms(xml, record_id, deleted=False)
    old_stamp = _005.search(old.marc21)
    if old_stamp is None:
        return oai_forms(xml, record_id, deleted=False)
    marc21 = old.marc21[: old_stamp.start()] + stamp.group() + old.marc21[old_stamp.end() :]
    return OaiForms(sets_after_low_added(old.sets, code), marc21)


def sets_after_low_added(sets: str, code: str) -> str:
    """Stored set specs (`encode_set_specs`) after LOW `code` (not a named set's) was added."""
    spec = LOW_SET_PREFIX + code
    if "\\" in sets or _JSON_ESCAPED.search(spec) is not None:
        specs = decode_set_specs(sets)  # escapes to undo or make: the JSON codec's way
        named = [s for s in specs if s in _NAMED]
        return encode_set_specs((*named, *sorted({*(s for s in specs if s not in _NAMED), spec})))
    # a publication adds one code to each of 100,000 records: no JSON round trip
    specs = tuple(sets[2:-2].split('","')) if sets != "[]" else ()
    named = [s for s in specs if s in _NAMED]
    lows = sorted({*(s for s in specs if s not in _NAMED), spec})
    return '["' + '","'.join((*named, *lows)) + '"]'


# What `json.dumps` (ensure_ascii=False) escapes in a string
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
