"""What a record contributes to the search indexes: normalised words, headings and keys.

Pure functions shared by the store (indexing) and the query compiler (normalising search terms
the same way), so a term is always looked up exactly as it was indexed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

import pymarc

# Index numbers in the `terms` table. Word indexes have a second number for the whole heading.
IX_ID: Final = 1
IX_MELINDAID: Final = 2
IX_ISBN: Final = 3
IX_ISSN: Final = 4
IX_IDENTIFIER: Final = 5
IX_TITLE: Final = 6
IX_TITLE_HEADING: Final = 7
IX_AUTHOR: Final = 8
IX_AUTHOR_HEADING: Final = 9
IX_PUBLISHER: Final = 10
IX_DATE: Final = 11
IX_SUBJECT: Final = 12
IX_SUBJECT_HEADING: Final = 13
IX_SOURCEID: Final = 14
IX_PARTSOFHOST: Final = 15
IX_AUTHCODE: Final = 16
IX_LOW: Final = 17
IX_OAISET: Final = 18
IX_PUBLISHER_HEADING: Final = 19
IX_ASTERIID: Final = 20  # a bib heading's Asteri link ($0); an authority's own id
IX_AUT_ESTABLISHED: Final = 21  # an authority's established heading (1XX), whole
IX_AUT_SEE_FROM: Final = 22  # an authority's see-from forms (4XX), whole

# Query index name -> (word index, heading index or 0); key and date indexes have no heading.
INDEX_NUMBERS: Final[dict[str, tuple[int, int]]] = {
    "rec.id": (IX_ID, 0),
    "melinda.melindaid": (IX_MELINDAID, 0),
    "bath.isbn": (IX_ISBN, 0),
    "bath.issn": (IX_ISSN, 0),
    "dc.identifier": (IX_IDENTIFIER, 0),
    "dc.title": (IX_TITLE, IX_TITLE_HEADING),
    "dc.author": (IX_AUTHOR, IX_AUTHOR_HEADING),
    "dc.publisher": (IX_PUBLISHER, IX_PUBLISHER_HEADING),
    "dc.date": (IX_DATE, 0),
    "dc.subject": (IX_SUBJECT, IX_SUBJECT_HEADING),
    "melinda.sourceid": (IX_SOURCEID, 0),
    "melinda.partsofhost": (IX_PARTSOFHOST, 0),
    "melinda.authenticationcode": (IX_AUTHCODE, 0),
    "melinda.low": (IX_LOW, 0),
    "melinda.asteriid": (IX_ASTERIID, 0),
}

# The three forms of an Asteri name-authority link in $0 (Aleph's own, the ISIL and the URN).
ASTERI_PREFIXES: Final = (
    "(FIN11)",
    "(FI-ASTERI-N)",
    "http://urn.fi/URN:NBN:fi:au:finaf:",
    "https://urn.fi/URN:NBN:fi:au:finaf:",
)
_ASTERI_NUMBER: Final = re.compile(r"[0-9]{1,9}")
# The headings that link to Asteri names: main entries, subjects and added entries.
LINKED_NAME_TAGS: Final = frozenset(
    {"100", "110", "111", "600", "610", "611", "700", "710", "711"}
)


def asteri_id(value: str) -> int | None:
    """The Asteri record number of a $0 in any of its three forms, else None."""
    text = value.strip()
    for prefix in ASTERI_PREFIXES:
        if text.startswith(prefix):
            number = text[len(prefix) :].strip()
            return int(number) if _ASTERI_NUMBER.fullmatch(number) and int(number) else None
    return None


def asteri_id_key(value: str) -> str:
    """A searched Asteri id in any link form, or bare digits, as `melinda.asteriid` holds it."""
    found = asteri_id(value)
    if found is not None:
        return str(found)
    digits = value.strip()
    return str(int(digits)) if _ASTERI_NUMBER.fullmatch(digits) and int(digits) else ""



def _build_fold_table() -> dict[int, str]:
    """Lower-case, strip diacritics, but keep å, ä, ö distinct: Finnish files them apart."""
    table: dict[int, str] = {}
    for code in range(0x20, 0x3000):
        char = chr(code)
        lower = char.lower()
        if lower in "åäö":
            table[code] = lower
            continue
        decomposed = unicodedata.normalize("NFKD", lower)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base != char:
            table[code] = base
    # Nordic letters that have no decomposition, filed as Finnish libraries file them.
    table.update({ord("ø"): "ö", ord("Ø"): "ö", ord("æ"): "ä", ord("Æ"): "ä", ord("ß"): "ss"})
    table.update({ord("đ"): "d", ord("Đ"): "d", ord("ł"): "l", ord("Ł"): "l", ord("þ"): "th"})
    return table


_FOLD: Final = _build_fold_table()
_NON_WORD: Final = re.compile(r"[^\w]+")
_ID_DIGITS: Final = re.compile(r"(\d+)\s*$")


def fold(text: str) -> str:
    """Lower-cased, diacritics removed (å/ä/ö kept), NFC first so decomposed input folds alike."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.translate(_FOLD) if not text.isascii() else text.lower()


def words(text: str) -> list[str]:
    """Search words of a text: folded, split at anything that is not a letter or digit."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


def heading(text: str) -> str:
    """A whole heading as one normalised string (its words joined by single spaces)."""
    return " ".join(words(text))


def melinda_id_key(value: str) -> str:
    """`(FI-MELINDA)000123456`, `(FIN01)123456`, `FCC000123456`, `123456` -> `123456`."""
    match = _ID_DIGITS.search(value)
    if not match:
        return ""
    return str(int(match.group(1)))


def isbn_keys(value: str) -> list[str]:
    """Normalised forms of an ISBN as typed (`951-0-12345-6 (sid.)`): ISBN-10 and -13 alike."""
    compact = "".join(c for c in value.split("(")[0].upper() if c.isdigit() or c == "X")
    if len(compact) == 10:
        body = "978" + compact[:9]
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        return [compact, body + str(check)]
    if len(compact) == 13 and compact.startswith("978") and compact.isdigit():
        body = compact[3:12]
        total = sum(int(d) * (10 - i) for i, d in enumerate(body))
        check10 = (11 - total % 11) % 11
        return [compact, body + ("X" if check10 == 10 else str(check10))]
    return [compact] if compact else []


def isbn_query_key(value: str) -> str:
    """The form a searched ISBN is looked up in (hyphens and spaces ignored)."""
    return "".join(c for c in value.upper() if c.isdigit() or c == "X")


def issn_key(value: str) -> str:
    return "".join(c for c in value.upper() if c.isdigit() or c == "X")


def identifier_key(value: str) -> str:
    """Standard identifiers compare without spaces, hyphens or case."""
    return "".join(c for c in fold(value.split(" (")[0]) if c.isalnum())


_SOURCE_PREFIX: Final = re.compile(r"^\([A-Za-z0-9-]+\)")
_SOURCEID_DROPPED: Final = str.maketrans("", "", "- ")


def sourceid_key(local_id: str, code: str) -> str:
    """SID $c+$b as Melinda's `melinda.sourceid` index keeps it: a bracketed source prefix,
    hyphens and spaces removed, case kept (`(ANDL100020)1077305` + `sata` -> `1077305sata`,
    `VER2741384` + `FI-KV` -> `VER2741384FIKV`), exactly the form Melinda's record matching asks."""
    local = _SOURCE_PREFIX.sub("", local_id.strip(), count=1)
    return unicodedata.normalize("NFC", local + code).translate(_SOURCEID_DROPPED)


_YEAR: Final = re.compile(r"(1[0-9]{3}|20[0-9]{2})")


@dataclass(slots=True)
class IndexEntry:
    """What one record contributes to the indexes, and its sort keys."""

    terms: set[tuple[int, str]]
    sort_title: str
    sort_author: str
    sort_date: str


def _subfields(field: pymarc.Field, codes: str) -> list[str]:
    return [sf.value for sf in field.subfields if sf.code in codes and sf.value]


def _title_heading(field: pymarc.Field) -> str:
    """245 $a$b$n$p without its nonfiling characters (ind2)."""
    text = " ".join(_subfields(field, "abnp"))
    skip = (
        field.indicator2 if field.tag == "245" else field.indicator1 if field.tag == "130" else "0"
    )
    if skip and skip.isdigit() and int(skip) > 0:
        text = text[int(skip) :]
    return heading(text)


# What each tag feeds: one dict lookup classifies a field (most feed nothing).
(
    _SUBJECT,
    _NAME,
    _TITLE,
    _CONTROL_ID,
    _FIXED,
    _ISBN,
    _ISSN,
    _IDENTIFIER,
    _SYSTEM_NUMBER,
    _PUBLICATION,
    _AUTHCODE,
    _HOST,
    _LOW,
    _SID,
) = range(14)
TAG_KINDS: Final[dict[str, int]] = {
    **{f"6{n:02d}": _SUBJECT for n in range(100)},
    **dict.fromkeys(("100", "110", "111", "700", "710", "711"), _NAME),
    **dict.fromkeys(("245", "240", "246", "130", "730", "740", "242"), _TITLE),
    "001": _CONTROL_ID,
    "008": _FIXED,
    "020": _ISBN,
    "022": _ISSN,
    **dict.fromkeys(("015", "024", "028"), _IDENTIFIER),
    "035": _SYSTEM_NUMBER,
    "260": _PUBLICATION,
    "264": _PUBLICATION,
    "042": _AUTHCODE,
    "773": _HOST,
    "LOW": _LOW,
    "SID": _SID,
}


def index_entry(
    record: pymarc.Record,
    *,
    record_id: int | None = None,
    sets: Callable[[pymarc.Record], Iterable[str]] | None = None,
) -> IndexEntry:
    """Every (index, term) of a live record; deleted records are not indexed at all.

    `record_id` is the id the store keeps the record under (found by `rec.id` even when a
    loaded record's 001 is in another form).
    """
    terms: set[tuple[int, str]] = set()
    if record_id is not None:
        terms.add((IX_ID, str(record_id)))
        terms.add((IX_MELINDAID, str(record_id)))
    # word texts per index, split once at the end: one fold and one split per index is far
    # cheaper than one per field
    texts: dict[int, list[str]] = {IX_TITLE: [], IX_AUTHOR: [], IX_SUBJECT: [], IX_PUBLISHER: []}
    sort_title = sort_author = sort_date = ""
    kinds = TAG_KINDS
    for field in record.fields:
        kind = kinds.get(field.tag)
        if kind is None:  # most fields (CAT, 3XX, 5XX, …) feed no index
            continue
        title, author, date = _field_terms(field, kind, terms, texts)
        sort_title = title or sort_title  # the last 245's
        sort_author = sort_author or author  # the first 1XX's
        sort_date = sort_date or date
    for ix, found in texts.items():
        if found:
            terms.update([(ix, word) for word in words(" ".join(found))])
    if sets is not None:
        for spec in sets(record):
            terms.add((IX_OAISET, spec))
    return IndexEntry(terms, sort_title, sort_author, sort_date)


class FieldEntry(NamedTuple):
    """What one field contributes to a record's `IndexEntry` (see `entry_of_fields`)."""

    terms: frozenset[tuple[int, str]]
    title: str  # a 245's title heading: the record's sort title if no later 245 has one
    author: str  # a 1XX's name heading: the sort author if no earlier 1XX has one
    date: str  # the field's first year: the sort date if no earlier field has one


_NO_ENTRY: Final = FieldEntry(frozenset(), "", "", "")
_WORD_KINDS: Final = frozenset({_SUBJECT, _NAME, _TITLE, _PUBLICATION})


def field_entry(field: pymarc.Field) -> FieldEntry:
    """One field's share of `index_entry`, by the same rules; a pure function of the field,
    so a bulk load can compute it once per distinct field. Splitting each field's words
    alone gives the same words as splitting the joined texts: fields are joined by a space,
    which separates words and composes with nothing under NFC."""
    kind = TAG_KINDS.get(field.tag)
    if kind is None:
        return _NO_ENTRY
    terms: set[tuple[int, str]] = set()
    if kind not in _WORD_KINDS:  # identifiers, codes, LOW, SID: no words to split
        title, author, date = _field_terms(field, kind, terms, {})
        return FieldEntry(frozenset(terms), title, author, date)
    texts: dict[int, list[str]] = {IX_TITLE: [], IX_AUTHOR: [], IX_SUBJECT: [], IX_PUBLISHER: []}
    title, author, date = _field_terms(field, kind, terms, texts)
    for ix, found in texts.items():
        if found:
            terms.update([(ix, word) for word in words(" ".join(found))])
    return FieldEntry(frozenset(terms), title, author, date)


def entry_of_fields(
    entries: Iterable[FieldEntry], *, record_id: int, sets: Iterable[str]
) -> IndexEntry:
    """`index_entry` of a record from its fields' `field_entry`s (in field order) and its
    OAI sets."""
    terms: set[tuple[int, str]] = {(IX_ID, str(record_id)), (IX_MELINDAID, str(record_id))}
    sort_title = sort_author = sort_date = ""
    for entry in entries:
        terms |= entry.terms
        sort_title = entry.title or sort_title
        sort_author = sort_author or entry.author
        sort_date = sort_date or entry.date
    terms.update([(IX_OAISET, spec) for spec in sets])
    return IndexEntry(terms, sort_title, sort_author, sort_date)


def _field_terms(
    field: pymarc.Field, kind: int, terms: set[tuple[int, str]], texts: dict[int, list[str]]
) -> tuple[str, str, str]:
    """Add a field's terms to `terms` and its word texts to `texts`; returns its candidate
    (sort title, sort author, sort date)."""
    tag = field.tag
    title = author = date = ""
    if kind in (_SUBJECT, _NAME) and tag in LINKED_NAME_TAGS:
        for sf in field.subfields:
            if sf.code == "0":
                linked = asteri_id(sf.value)
                if linked is not None:
                    terms.add((IX_ASTERIID, str(linked)))
    if kind == _SUBJECT:
        parts = _subfields(field, "abcdvxyzt")
        texts[IX_SUBJECT].extend(parts)
        subject = heading(" ".join(parts))
        if subject:
            terms.add((IX_SUBJECT_HEADING, subject))
    elif kind == _NAME:
        texts[IX_AUTHOR].extend(_subfields(field, "abcdq"))
        name_heading = heading(" ".join(_subfields(field, "abcq")))
        if name_heading:
            terms.add((IX_AUTHOR_HEADING, name_heading))
            if tag[0] == "1":
                author = name_heading
    elif kind == _TITLE:
        texts[IX_TITLE].extend(_subfields(field, "abnp"))
        title_heading = _title_heading(field)
        if title_heading:
            terms.add((IX_TITLE_HEADING, title_heading))
            if tag == "245":
                title = title_heading
    elif kind == _CONTROL_ID:
        key = melinda_id_key(field.data or "")
        if key:
            terms.add((IX_ID, key))
            terms.add((IX_MELINDAID, key))
    elif kind == _FIXED:
        data = field.data or ""
        year = data[7:11]
        if len(year) == 4 and year.isdigit():
            terms.add((IX_DATE, year))
            date = year
    elif kind == _ISBN:
        for value in _subfields(field, "a"):
            for key in isbn_keys(value):
                terms.add((IX_ISBN, key))
                terms.add((IX_IDENTIFIER, key.lower()))
        for value in _subfields(field, "z"):
            for key in isbn_keys(value):
                terms.add((IX_IDENTIFIER, key.lower()))
    elif kind == _ISSN:
        for value in _subfields(field, "a"):
            key = issn_key(value)
            if key:
                terms.add((IX_ISSN, key))
                terms.add((IX_IDENTIFIER, key.lower()))
    elif kind == _IDENTIFIER:
        for value in _subfields(field, "a"):
            key = identifier_key(value)
            if key:
                terms.add((IX_IDENTIFIER, key))
    elif kind == _SYSTEM_NUMBER:
        for sf in field.subfields:
            if sf.code in "az" and (
                "MELINDA" in sf.value or "FIN01" in sf.value or sf.value.startswith("FCC")
            ):
                key = melinda_id_key(sf.value)
                if key:
                    terms.add((IX_MELINDAID, key))
    elif kind == _PUBLICATION:
        publisher = " ".join(_subfields(field, "b"))
        texts[IX_PUBLISHER].append(publisher)
        if publisher:
            terms.add((IX_PUBLISHER_HEADING, heading(publisher)))
        for value in _subfields(field, "c"):
            for year in _YEAR.findall(value):
                terms.add((IX_DATE, year))
                date = date or year
    elif kind == _AUTHCODE:
        for value in _subfields(field, "a"):
            terms.add((IX_AUTHCODE, fold(value).strip()))
    elif kind == _HOST:
        for value in _subfields(field, "w"):
            key = melinda_id_key(value)
            if key:
                terms.add((IX_PARTSOFHOST, key))
    elif kind == _LOW:
        for value in _subfields(field, "a"):
            terms.add((IX_LOW, fold(value).strip()))
    elif kind == _SID:
        local = _subfields(field, "c")
        code = _subfields(field, "b")
        if local and code:
            terms.add((IX_SOURCEID, sourceid_key(local[0], code[0])))
    return title, author, date


# --- Asteri, the authority base --------------------------------------------------------------

AUTHORITY_HEADING_TAGS: Final = ("100", "110", "111", "130", "150", "151")
# the heading and its see-from forms (4XX) are searched
_AUTHORITY_NAME_TAGS: Final = frozenset(
    first + tag[1:] for tag in AUTHORITY_HEADING_TAGS for first in "14"
)
# Melinda's authority OAI sets: a record is in a set by its heading's tag
AUTHORITY_SETS: Final[dict[str, str]] = {"100": "personal", "110": "corporate", "111": "meetings"}


def authority_heading(field: pymarc.Field) -> str:
    """A name heading as searched: $a$b$c$d$q (and $t of a name/title) normalised."""
    return heading(" ".join(_subfields(field, "abcdqt")))


def authority_index_entry(record: pymarc.Record, *, record_id: int) -> IndexEntry:
    """What an authority record contributes to the authority base's indexes: its id (also as
    `melinda.asteriid`), heading and see-from words (`dc.author`), whole headings
    (anchored searches) and the OAI set of its heading's tag."""
    terms: set[tuple[int, str]] = {
        (IX_ID, str(record_id)),
        (IX_MELINDAID, str(record_id)),
        (IX_ASTERIID, str(record_id)),
    }
    texts: list[str] = []
    sort_author = ""
    for field in record.fields:
        if field.tag not in _AUTHORITY_NAME_TAGS or field.control_field:
            continue
        texts.extend(_subfields(field, "abcdqt"))
        name = authority_heading(field)
        if name:
            terms.add((IX_AUTHOR_HEADING, name))
            if field.tag[0] == "1":
                sort_author = sort_author or name
        # the see-from rules compare names without dates, as a searcher types them
        whole = heading(" ".join(_subfields(field, "abcdgnq")))
        if whole:
            terms.add((IX_AUT_ESTABLISHED if field.tag[0] == "1" else IX_AUT_SEE_FROM, whole))
        spec = AUTHORITY_SETS.get(field.tag)
        if spec:
            terms.add((IX_OAISET, spec))
    terms.update([(IX_AUTHOR, word) for word in words(" ".join(texts))])
    return IndexEntry(terms, "", sort_author, "")
