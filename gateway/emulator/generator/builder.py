"""Seeded, deterministic generator of realistic Finnish Melinda records for demos and benchmarks.

`generate_records(count, seed)` yields `pymarc.Record`s with Melinda ids start_id.. in 001: books,
serials, e-books, music recordings, component parts (773 $w to an earlier host of the same run),
Fennica and Viola national-bibliography records, brief acquisition and pre-publication records,
Aleph fields (STA, SID, CAT, LOW) as Melinda stores them, some deleted and some test records, and
some 505/520 fields over Aleph's 2000-byte field limit.

Determinism: one `random.Random(seed)` drives everything and only its `random()` is called (its
stream is stable across Python versions, unlike `choice`/`randrange`); nothing iterates a set or
depends on `hash()`, the clock or the locale, so the same seed gives the same records everywhere.

Speed: the word lists, name and subject pools and date tables are built once, fields are put
together from precomputed subfields and pymarc objects are made without re-validation, so a
record costs under 100 microseconds (`scripts/generate-records` prints records/s).

Names and subjects: 6XX yso labels and p-numbers, ISBN publisher prefixes and Asteri ids are
plausible, not real look-ups. Person names carry no `$d` dates because SPEC section 3 adds
authority-enriched dates only in the `fin01alma` view.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import IO, NamedTuple, TypeVar

from pymarc import Field, Indicators, Leader, Record, Subfield

__all__ = [
    "generate_records",
    "isbn10_check_digit",
    "isbn13_check_digit",
    "issn_check_digit",
    "main",
]

_T = TypeVar("_T")

MELINDA_PREFIX = "(FI-MELINDA)"
ASTERI_PREFIX = "(FIN11)"
# CAT histories run up to this day; a fixed end keeps the output independent of today's date.
_FIRST_DAY = datetime.date(1995, 1, 1)
_LAST_DAY = datetime.date(2024, 12, 31)

# ---------------------------------------------------------------------------------------------
# Fast field construction: generating a million records spends most of its time building
# pymarc objects, so fields are made without re-validating what is known to be well formed.
# ---------------------------------------------------------------------------------------------

# _sf(("a", "value")) is a Subfield made at C speed (pymarc's Subfield is a NamedTuple)
_sf: Callable[[tuple[str, str]], Subfield] = partial(tuple.__new__, Subfield)


_new = object.__new__


def _slow_field(tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
    return Field(tag, indicators, subfields)


def _fast_field(tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
    field = _new(Field)
    field.tag = tag
    field._indicators = indicators
    field.subfields = subfields
    field.data = None
    field.control_field = False
    return field


def _slow_control(tag: str, data: str) -> Field:
    return Field(tag, data=data)


def _fast_control(tag: str, data: str) -> Field:
    field = _new(Field)
    field.tag = tag
    field._indicators = None
    field.subfields = []
    field.data = data
    field.control_field = True
    return field


def _slow_record(leader: str, fields: list[Field]) -> Record:
    return Record(leader=leader, fields=fields)


def _fast_record(leader: str, fields: list[Field]) -> Record:
    """A Record as pymarc's constructor makes it (our leaders already hold the 22 and 4500 it
    would force into Leader/10-11 and /20-23)."""
    record = _new(Record)
    record.leader = Leader(leader)
    record.fields = fields
    record.pos = 0
    record.force_utf8 = False
    record.to_unicode = True
    setattr(record, "_Record__pos", 0)  # noqa: B010 - the name-mangled slot of Record.__pos
    return record


def _record_state(record: Record) -> list[object]:
    missing = object()
    names = [("_Record" + n) if n.startswith("__") else n for n in getattr(Record, "__slots__", ())]
    state = [getattr(record, name, missing) for name in names]
    return [str(v) if isinstance(v, Leader) else v for v in state] + [type(record)]


def _state(field: Field) -> list[object]:
    """Every slot pymarc's constructor sets ("__pos" only exists once a field is iterated)."""
    missing = object()
    names = [n for n in getattr(Field, "__slots__", ()) if not n.startswith("__")]
    return [getattr(field, name, missing) for name in names] + [type(field)]


def _fast_path_matches_pymarc() -> bool:
    """The shortcut is used only while it builds exactly what pymarc's own constructor does."""
    subfields = [_sf(("a", "x"))]
    indicators = Indicators("1", "0")
    fast, slow = _fast_field("245", indicators, list(subfields)), Field("245", indicators, subfields)
    control, slow_control = _fast_control("001", "1"), Field("001", data="1")
    return (
        bool(getattr(Field, "__slots__", ()))
        and _state(fast) == _state(slow)
        and _state(control) == _state(slow_control)
        and fast.as_marc("utf-8") == slow.as_marc("utf-8")
        and subfields == [Subfield("a", "x")]
        and _record_state(_fast_record(_LEADER_SAMPLE, [fast]))
        == _record_state(Record(leader=_LEADER_SAMPLE, fields=[fast]))
    )


_LEADER_SAMPLE = "00000nam a2200000 i 4500"


_FAST_FIELDS = _fast_path_matches_pymarc()
if _FAST_FIELDS:
    _field, _control, _record = _fast_field, _fast_control, _fast_record
else:  # pragma: no cover - only on a pymarc whose Field/Record internals changed
    _field, _control, _record = _slow_field, _slow_control, _slow_record


def _ind(first: str, second: str) -> Indicators:
    return Indicators(first, second)


BLANK = _ind(" ", " ")




# ---------------------------------------------------------------------------------------------
# Identifier check digits (ISBN-10/13, ISSN): every generated identifier is valid.
# ---------------------------------------------------------------------------------------------


def isbn13_check_digit(first12: str) -> str:
    """The check digit of an ISBN-13 whose first twelve digits are `first12`."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_check_digit(first9: str) -> str:
    """The check digit (0-9 or X) of an ISBN-10 whose first nine digits are `first9`."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def issn_check_digit(first7: str) -> str:
    """The check digit (0-9 or X) of an ISSN whose first seven digits are `first7`."""
    total = sum(int(d) * (8 - i) for i, d in enumerate(first7))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _issn(first7: str) -> str:
    return f"{first7[:4]}-{first7[4:]}{issn_check_digit(first7)}"


# ---------------------------------------------------------------------------------------------
# Word lists. Finnish and Swedish (as catalogued in Finland), some English, German and French.
# ---------------------------------------------------------------------------------------------

FINNISH_SURNAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
    "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi",
    "Heikkilä", "Kinnunen", "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen",
    "Karjalainen", "Jokinen", "Mattila", "Savolainen", "Lahtinen", "Ahonen", "Räsänen", "Kokkonen",
    "Ojanen", "Nuotio", "Pöllänen", "Kärkkäinen", "Hyvönen", "Väisänen", "Lönnqvist", "Äijälä",
)
FINNISH_FORENAMES = (
    "Matti", "Juha", "Mikko", "Timo", "Jukka", "Antti", "Kari", "Pekka", "Eero", "Väinö", "Ilmari",
    "Otso", "Jyrki", "Sari", "Päivi", "Anne", "Tiina", "Minna", "Hannele", "Eeva", "Leena", "Liisa",
    "Aino", "Sirkka", "Pirjo", "Outi", "Ville", "Tuula", "Kyösti", "Jääskö", "Seija", "Märta",
)
SWEDISH_SURNAMES = (
    "Lindqvist", "Lindholm", "Johansson", "Karlsson", "Nyström", "Åberg", "Sjöberg", "Björklund",
    "Lindström", "Wikström", "Forsström", "Grönroos", "Ekström", "Söderström", "Holmström",
    "Westerlund", "Åström", "Granö",
)
SWEDISH_FORENAMES = (
    "Erik", "Anders", "Johan", "Karin", "Ingrid", "Åsa", "Märta", "Göran", "Björn", "Maj-Britt",
    "Ulla", "Henrik", "Agneta", "Mårten", "Solveig",
)
FOREIGN_SURNAMES = (
    "Müller", "Schröder", "Dubois", "Lefèvre", "García", "Núñez", "Smith", "Brown", "Dvořák",
    "Jørgensen", "Brontë", "Özdemir", "Nováková", "Łukasiewicz", "Saint-Exupéry", "Gödel",
)
FOREIGN_FORENAMES = (
    "Hélène", "René", "Jürgen", "Günter", "Zoë", "José", "François", "Chloé", "John", "Mary",
    "Anaïs", "Jiří", "Søren", "Agnès",
)

_FI_ADJ = (
    "Pitkä", "Hiljainen", "Pimeä", "Valoisa", "Vanha", "Uusi", "Kaunis", "Sininen", "Punainen",
    "Kadonnut", "Viimeinen", "Ensimmäinen", "Suomalainen", "Pohjoinen", "Outo", "Yksinäinen",
    "Kylmä", "Lämmin", "Salainen", "Unohdettu",
)
_FI_NOUN = (
    "metsä", "järvi", "kesä", "talvi", "sota", "rakkaus", "elämä", "kaupunki", "meri", "saari",
    "historia", "tarina", "matka", "koti", "sydän", "yö", "päivä", "lapsuus", "kieli", "kirja",
    "laulu", "tie", "valo", "varjo", "tuuli", "lumi", "kivi", "joki", "ääni", "perintö", "äiti",
    "kylä", "ystävä", "kirje", "puutarha", "tähti", "silta", "muisti", "raja", "unelma",
)
_FI_GEN = (
    "Metsän", "Järven", "Kesän", "Talven", "Sodan", "Rakkauden", "Elämän", "Kaupungin", "Meren",
    "Saaren", "Lapsuuden", "Kielen", "Tuulen", "Lumen", "Joen", "Kylän", "Äidin", "Tähtien",
    "Suomen", "Karjalan", "Lapin", "Pohjolan", "Hämeen", "Ahvenanmaan",
)
_FI_TOPIC = (
    "filosofia", "historia", "taloustiede", "kasvatus", "psykologia", "tietotekniikka", "biologia",
    "sosiologia", "kielitiede", "arkkitehtuuri", "musiikki", "oikeustiede", "lääketiede",
    "ympäristö", "politiikka", "uskonto", "kirjallisuus", "matematiikka",
)
_SV_ADJ = (
    "långa", "tysta", "mörka", "gamla", "nya", "vackra", "blå", "röda", "sista", "första",
    "finländska", "förlorade", "hemliga", "glömda", "kalla", "varma",
)
_SV_NOUN = (
    "skog", "sjö", "sommar", "vinter", "krig", "kärlek", "liv", "stad", "hav", "ö", "historia",
    "berättelse", "resa", "hem", "hjärta", "natt", "dag", "barndom", "språk", "bok", "sång", "väg",
    "ljus", "skugga", "vind", "snö", "sten", "älv", "röst", "trädgård", "bro", "stjärna", "gräns",
)
_SV_GEN = (
    "Skogens", "Sjöns", "Sommarens", "Vinterns", "Krigets", "Kärlekens", "Livets", "Stadens",
    "Havets", "Öns", "Barndomens", "Språkets", "Vindens", "Snöns", "Älvens", "Finlands",
    "Österbottens", "Ålands", "Nylands",
)
_EN_ADJ = (
    "long", "silent", "dark", "old", "new", "beautiful", "blue", "red", "last", "first", "Finnish",
    "northern", "lost", "secret", "forgotten", "cold", "hidden", "endless",
)
_EN_NOUN = (
    "forest", "lake", "summer", "winter", "war", "love", "life", "city", "sea", "island", "history",
    "story", "journey", "home", "heart", "night", "day", "childhood", "language", "book", "song",
    "road", "light", "shadow", "wind", "snow", "stone", "river", "voice", "garden", "bridge",
    "star", "border", "dream",
)
_DE_TITLE_HEADS = ("Die Geschichte", "Das Leben", "Der Weg", "Die Kunst", "Das Land", "Der Traum")
_DE_TITLE_TAILS = (
    "des Nordens", "der Wälder", "der Seen", "der Stille", "der Musik", "der Erinnerung",
    "in Finnland", "über Grenzen hinweg",
)
_FR_TITLE_HEADS = ("L'histoire", "La vie", "Le chemin", "L'été", "La mémoire", "Les forêts")
_FR_TITLE_TAILS = (
    "du Nord", "des lacs", "de la musique", "en Finlande", "d'un été", "à Helsinki", "sans fin",
)

_FI_SUBTITLE = (
    "romaani", "novelleja", "runoja", "tietokirja", "muistelmat", "esseitä", "opas", "käsikirja",
    "tutkimus {topic_gen}", "johdatus aiheeseen", "kertomuksia vuosien varrelta",
    "valokuvia ja tarinoita", "elämäkerta", "historiikki", "oppikirja lukiolaisille",
)
_FI_TOPIC_GEN = (
    "suomalaisesta yhteiskunnasta", "metsien käytöstä", "kielten oppimisesta",
    "kaupunkien kehityksestä", "musiikin historiasta", "ilmastonmuutoksesta", "lapsuudesta",
)
_SV_SUBTITLE = (
    "roman", "noveller", "dikter", "essäer", "memoarer", "en handbok", "en studie",
    "berättelser från förr", "en biografi", "historik", "lärobok för gymnasiet",
)
_EN_SUBTITLE = (
    "a novel", "stories", "poems", "essays", "a memoir", "a handbook", "an introduction",
    "a history", "a biography", "new perspectives", "theory and practice",
)
_DE_SUBTITLE = ("Roman", "Erzählungen", "Gedichte", "eine Einführung", "Studien")
_FR_SUBTITLE = ("roman", "nouvelles", "poèmes", "essai", "une introduction")

# Languages: MARC code, share, the cataloguing language used for relators/RDA terms.
_LANGUAGES: tuple[tuple[str, float], ...] = (
    ("fin", 0.62),
    ("swe", 0.15),
    ("eng", 0.16),
    ("ger", 0.04),
    ("fre", 0.03),
)


class Publisher(NamedTuple):
    place: str
    name: str
    country: str  # 008/15-17
    isbn_group: str
    isbn_publisher: str


_PUBLISHERS: dict[str, tuple[Publisher, ...]] = {
    "fin": (
        Publisher("Helsinki", "Otava", "fi ", "951", "1"),
        Publisher("Helsinki", "WSOY", "fi ", "951", "0"),
        Publisher("Helsinki", "Tammi", "fi ", "951", "31"),
        Publisher("Helsinki", "Gummerus", "fi ", "951", "20"),
        Publisher("Helsinki", "Teos", "fi ", "951", "851"),
        Publisher("Helsinki", "Siltala", "fi ", "952", "234"),
        Publisher("Helsinki", "Like", "fi ", "952", "471"),
        Publisher("Helsinki", "Kirjapaja", "fi ", "952", "354"),
        Publisher("Helsinki", "Gaudeamus", "fi ", "952", "495"),
        Publisher("Helsinki", "Suomalaisen Kirjallisuuden Seura", "fi ", "951", "746"),
        Publisher("Tampere", "Vastapaino", "fi ", "951", "768"),
        Publisher("Tampere", "Tampere University Press", "fi ", "952", "03"),
        Publisher("Jyväskylä", "Atena", "fi ", "951", "796"),
        Publisher("Jyväskylä", "Jyväskylän yliopisto", "fi ", "951", "39"),
        Publisher("Hämeenlinna", "Karisto", "fi ", "951", "23"),
        Publisher("Espoo", "Aalto-yliopisto", "fi ", "952", "60"),
        Publisher("Oulu", "Oulun yliopisto", "fi ", "952", "62"),
        Publisher("Turku", "Turun yliopisto", "fi ", "951", "29"),
        Publisher("Rovaniemi", "Lapin yliopisto", "fi ", "952", "337"),
        Publisher("Joensuu", "Itä-Suomen yliopisto", "fi ", "952", "61"),
        Publisher("Porvoo", "Bookcover", "fi ", "952", "6630"),
        Publisher("Vaasa", "Vaasan yliopisto", "fi ", "952", "476"),
    ),
    "swe": (
        Publisher("Helsingfors", "Schildts & Söderströms", "fi ", "951", "52"),
        Publisher("Helsingfors", "Förlaget", "fi ", "952", "333"),
        Publisher("Helsingfors", "Svenska litteratursällskapet i Finland", "fi ", "951", "583"),
        Publisher("Åbo", "Åbo Akademis förlag", "fi ", "951", "765"),
        Publisher("Vasa", "Scriptum", "fi ", "951", "8915"),
        Publisher("Stockholm", "Bonnier", "sw ", "91", "0"),
        Publisher("Stockholm", "Norstedts", "sw ", "91", "1"),
        Publisher("Malmö", "Liber", "sw ", "91", "38"),
    ),
    "eng": (
        Publisher("London", "HarperCollins", "xxk", "0", "00"),
        Publisher("London", "Penguin Books", "xxk", "0", "14"),
        Publisher("Oxford", "Oxford University Press", "xxk", "0", "19"),
        Publisher("Cambridge", "Cambridge University Press", "xxk", "0", "521"),
        Publisher("New York", "Routledge", "xxu", "0", "415"),
        Publisher("Helsinki", "Finnish Literature Society", "fi ", "951", "858"),
    ),
    "ger": (
        Publisher("Berlin", "Suhrkamp", "gw ", "3", "518"),
        Publisher("München", "C.H. Beck", "gw ", "3", "406"),
        Publisher("Würzburg", "Augustinus-Verlag", "gw ", "3", "7613"),
        Publisher("Köln", "DuMont", "gw ", "3", "8321"),
    ),
    "fre": (
        Publisher("Paris", "Gallimard", "fr ", "2", "07"),
        Publisher("Paris", "Éditions du Seuil", "fr ", "2", "02"),
    ),
}
_MUSIC_LABELS = (
    Publisher("Helsinki", "Warner Music Finland", "fi ", "", ""),
    Publisher("Helsinki", "Universal Music", "fi ", "", ""),
    Publisher("Helsinki", "Sony Music Entertainment Finland", "fi ", "", ""),
    Publisher("Espoo", "Ondine", "fi ", "", ""),
    Publisher("Helsinki", "Texicalli Records", "fi ", "", ""),
    Publisher("Tampere", "Svart Records", "fi ", "", ""),
    Publisher("Helsinki", "Johanna Kustannus", "fi ", "", ""),
    Publisher("Åkersberga", "BIS", "sw ", "", ""),
    Publisher("Tampere", "Alba Records", "fi ", "", ""),
)
_MUSIC_LABEL_CODES = ("WMF", "UMF", "SMEF", "ODE", "TEXCD", "SVR", "JHNCD", "BIS-CD", "ABCD")

# RDA content/media/carrier terms as Melinda records carry them, per cataloguing language.
_RDA_TERMS = {
    ("fin", "print"): (("teksti", "txt"), ("käytettävissä ilman laitetta", "n"), ("nide", "nc")),
    ("swe", "print"): (("text", "txt"), ("omedierad", "n"), ("volym", "nc")),
    ("fin", "online"): (("teksti", "txt"), ("tietokonekäyttöinen", "c"), ("verkkoaineisto", "cr")),
    ("swe", "online"): (("text", "txt"), ("dator", "c"), ("onlineresurs", "cr")),
    ("fin", "audio"): (("esitetty musiikki", "prm"), ("audio", "s"), ("äänilevy", "sd")),
    ("swe", "audio"): (("framförd musik", "prm"), ("audio", "s"), ("ljudskiva", "sd")),
}
_RELATORS = {
    "fin": ("kirjoittaja", "kuvittaja", "kääntäjä", "toimittaja", "säveltäjä", "esittäjä"),
    "swe": ("författare", "illustratör", "översättare", "redaktör", "kompositör", "artist"),
}
_BINDINGS = {
    "fin": ("nidottu", "sidottu", "kovakantinen", "pehmeäkantinen"),
    "swe": ("inb.", "hft.", "mjuka pärmar"),
}

# Melinda's member libraries: LOW code, SID $b code, prefix of the local id. Aurora (Axiell)
# consortia prefix SID $c with their database id, as the fixtures show: (ANDL100013)1504442.
_LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("HELKA", "helka", ""),
    ("TAMK", "tamk", ""),
    ("JYU", "jyu", ""),
    ("OULU", "oulu", ""),
    ("TUNI", "tuni", ""),
    ("HELME", "helme", ""),
    ("ANDER", "ander", "(ANDL100013)"),
    ("PIKI", "piki", "(ANDL100008)"),
    ("KESKI", "keski", "(ANDL100006)"),
    ("JOKI", "joki", "(ANDL100022)"),
    ("SATA", "sata", "(ANDL100020)"),
    ("EEPOS", "eepos", "(ANDL100007)"),
    ("KUOPI", "kuopi", "(ANDL100026)"),
    ("LASTU", "lastu", "(AFI000044)"),
    ("JAMK", "jamk", ""),
    ("HAMK", "hamk", ""),
    ("DIAK", "diak", ""),
    ("TAMCA", "tamca", ""),
    ("VAARI", "vaari", ""),
    ("VOLTE", "volte", ""),
    ("UEF", "uef", ""),
    ("ABO", "abo", ""),
)
_LIBRARY_INDEX = {code: (n, sid, prefix) for n, (code, sid, prefix) in enumerate(_LIBRARIES)}
# Library ISIL codes for 040 $a of records catalogued outside the national library.
_CATALOGUING_AGENCIES = ("FI-Hy", "FI-Jy", "FI-Ou", "FI-Tampere", "FI-BTJ", "FI-KV", "FI-Uef")

_GENERIC_CAT_USERS = ("LOAD-FIX", "LOAD-YSO", "CONV-RDA", "MINTTU", "LOAD-ALINK", "KVP-FENNI")


class Concept(NamedTuple):
    """A YSO concept with its Finnish and Swedish labels."""

    fin: str
    swe: str
    uri: str


def _yso(fin: str, swe: str, number: int) -> Concept:
    return Concept(fin, swe, f"http://www.yso.fi/onto/yso/p{number}")


_YSO = (
    _yso("filosofia", "filosofi", 1056),
    _yso("metsät", "skogar", 5454),
    _yso("puut (kasvit)", "träd", 8147),
    _yso("luonto", "naturen", 13084),
    _yso("kansanperinne", "folktradition", 1362),
    _yso("kulttuurihistoria", "kulturhistoria", 18452),
    _yso("musiikki", "musik", 1808),
    _yso("saamelaiset", "samer", 11537),
    _yso("maailmanmusiikki", "världsmusik", 3065),
    _yso("luontosuhde", "naturrelation", 16315),
    _yso("kansallinen identiteetti", "nationell identitet", 3351),
    _yso("ihminen", "människan", 18849),
    _yso("uskomukset", "trosföreställningar", 6088),
    _yso("historia", "historia", 1780),
    _yso("sotahistoria", "krigshistoria", 2950),
    _yso("talvisota", "vinterkriget", 10573),
    _yso("kaupungit", "städer", 5870),
    _yso("perhe", "familjen", 4363),
    _yso("lapsuus", "barndom", 11617),
    _yso("koulutus", "utbildning", 84),
    _yso("opetus", "undervisning", 2630),
    _yso("kielet", "språk", 556),
    _yso("suomen kieli", "finska språket", 9278),
    _yso("ruotsin kieli", "svenska språket", 11094),
    _yso("tietotekniikka", "informationsteknik", 5462),
    _yso("ohjelmointi", "programmering", 4887),
    _yso("tekoäly", "artificiell intelligens", 2616),
    _yso("ilmastonmuutokset", "klimatförändringar", 5729),
    _yso("ympäristönsuojelu", "miljövård", 1401),
    _yso("talous", "ekonomi", 3508),
    _yso("yrittäjyys", "företagande", 7349),
    _yso("johtaminen", "ledarskap", 2297),
    _yso("terveys", "hälsa", 4376),
    _yso("ravitsemus", "näring", 3496),
    _yso("psykologia", "psykologi", 2468),
    _yso("mielenterveys", "mental hälsa", 6006),
    _yso("politiikka", "politik", 2533),
    _yso("demokratia", "demokrati", 1544),
    _yso("uskonto", "religion", 2921),
    _yso("kirkkohistoria", "kyrkohistoria", 1922),
    _yso("arkkitehtuuri", "arkitektur", 2978),
    _yso("kuvataide", "bildkonst", 2787),
    _yso("valokuvaus", "fotografering", 1979),
    _yso("elokuvat", "filmer", 1940),
    _yso("urheilu", "idrott", 916),
    _yso("ruoanlaitto", "matlagning", 2630 + 10000),
    _yso("puutarhanhoito", "trädgårdsskötsel", 5227),
    _yso("matkailu", "turism", 3917),
    _yso("maatalous", "jordbruk", 2128),
    _yso("kalastus", "fiske", 3592),
    _yso("metsästys", "jakt", 1617),
    _yso("lintuharrastus", "fågelskådning", 21520),
    _yso("tähtitiede", "astronomi", 2745),
    _yso("matematiikka", "matematik", 3160),
    _yso("fysiikka", "fysik", 4210),
    _yso("lääketiede", "medicin", 2162),
    _yso("hoitotyö", "vårdarbete", 4609),
    _yso("sosiaalityö", "socialt arbete", 7246),
    _yso("maahanmuuttajat", "invandrare", 1778),
    _yso("vanhukset", "åldringar", 2433),
)
_YSO_PLACES = (
    _yso("Suomi", "Finland", 94426),
    _yso("Helsinki", "Helsingfors", 94137),
    _yso("Tampere", "Tammerfors", 94155),
    _yso("Turku", "Åbo", 94137 + 30),
    _yso("Lappi", "Lappland", 94207),
    _yso("Karjala", "Karelen", 94231),
    _yso("Ahvenanmaa", "Åland", 94158),
    _yso("Norja", "Norge", 94309),
    _yso("Ruotsi", "Sverige", 94278),
    _yso("Itämeri", "Östersjön", 94111),
)
_ASTERI_TOPICS = (
    "Tietojenkäsittely", "Kotiseutuhistoria", "Paikallishistoria", "Sukututkimus", "Kansanrunous",
    "Yhdistykset", "Järjestöhistoria", "Kuntahistoria",
)
_GENRES_FICTION = (
    ("romaanit", "romaner", "s518"),
    ("kaunokirjallisuus", "skönlitteratur", "s975"),
    ("fantasiakirjallisuus", "fantasylitteratur", "s1140"),
    ("psykologiset romaanit", "psykologiska romaner", "s604"),
    ("novellit", "noveller", "s584"),
    ("runot", "dikter", "s727"),
)
_GENRES_MUSIC = (
    ("populaarimusiikki", "populärmusik", "s1218"),
    ("maailmanmusiikki", "världsmusik", "s1188"),
    ("perinnemusiikki", "traditionell musik", "s662"),
    ("rock", "rock", "s1307"),
    ("jazz", "jazz", "s1057"),
    ("taidemusiikki", "konstmusik", "s1398"),
)

# Classification: YKL (Finnish public library classification) and UDC.
_YKL_NONFICTION = (
    "10.1", "17.3", "17.5", "27.1", "30.1", "32.2", "33.1", "36.1", "38.1", "50.1", "54.1",
    "59.1", "61.1", "67.1", "67.501", "70.1", "77.1", "79.3", "90.1", "92.7", "99.1",
)
_YKL_FICTION = {"fin": "84.2", "swe": "84.31", "eng": "84.5", "ger": "84.5", "fre": "84.5"}
_YKL_MUSIC = ("78.891", "78.8911", "78.852", "78.3411", "78.611", "78.897")
_UDC_NONFICTION = (
    "1", "101.1", "30", "316", "37", "502/504", "630", "65.012.2", "004", "94(480)", "339.137",
    "61", "7.03", "27", "52", "51",
)
_UDC_FICTION = {
    "fin": "821.511.111-3", "swe": "821.113.5-3", "eng": "821.111-3", "ger": "821.112.2-3",
    "fre": "821.133.1-3",
}

_SERIES: tuple[tuple[str, str], ...] = (
    ("Suomalaisen Kirjallisuuden Seuran toimituksia", "0355176"),
    ("Tampereen yliopiston julkaisuja", ""),
    ("Acta Universitatis Ouluensis. B, Humaniora", "0355320"),
    ("Skrifter utgivna av Svenska litteratursällskapet i Finland", "0039684"),
    ("Gaudeamus-kirjasto", ""),
    ("Keltainen kirjasto", ""),
    ("Jyväskylä studies in humanities", "1459432"),
    ("Kotimaisten kielten keskuksen julkaisuja", "1796801"),
    ("Bibliotheca historica", "1238350"),
    ("Studia Fennica. Ethnologica", "1235194"),
)
# Serial titles per language; "{}" takes a field of study.
_SERIAL_TITLES = {
    "fin": (
        "Suomen kuvalehti", "Tieteessä tapahtuu", "Kanava", "Hiidenkivi", "Kotiseutu", "Agricola",
        "Historiallinen aikakauskirja", "Virittäjä", "Kulttuurintutkimus", "Kasvatus",
        "Sosiologia", "Musiikki", "Rondo", "Kirjastolehti", "Signum", "Tieteessä ja taiteessa",
        "{} aikakauskirja", "{} vuosikirja", "{} seuran tiedotuslehti", "Suomen {} julkaisuja",
    ),
    "swe": (
        "Finsk tidskrift", "Nya Argus", "Horisont", "Ny tid", "Hufvudstadsbladet",
        "Historisk tidskrift för Finland", "Tidskrift för {}", "Årsbok för {}",
    ),
    "eng": (
        "Scandinavian journal of history", "Nordic journal of music therapy",
        "Journal of Finnish studies", "Journal of {}", "Nordic review of {}",
    ),
}
_SERIAL_TOPICS = {
    "fin": (
        "Kasvatustieteen", "Taloustieteen", "Kirjastotieteen", "Ympäristötieteen", "Kielitieteen",
        "Teologian", "Musiikkitieteen", "Sosiaalipolitiikan", "Maantieteen", "Historiatieteen",
    ),
    "swe": ("pedagogik", "ekonomi", "miljövetenskap", "teologi", "musikvetenskap", "geografi"),
    "eng": ("education", "economics", "environmental studies", "theology", "musicology"),
}
_FREQUENCIES = (
    ("q", "4 kertaa vuodessa"), ("m", "Kuukausittain"), ("b", "6 kertaa vuodessa"),
    ("a", "Kerran vuodessa"), ("w", "Viikoittain"), ("f", "2 kertaa vuodessa"),
)

_NOTES = {
    "fin": (
        "Lähdeluettelo s. 201-210.", "Sisältää hakemiston.", "Kuvitettu.", "Lähdeviitteitä.",
        "Alkuteos julkaistu myös englanniksi.", "Tekijän aiemmat teokset kansilehdellä.",
        "Julkaistu aiemmin verkkojulkaisuna.", "Painettu Virossa.", "Kirjan kansi: Timo Mänttäri.",
    ),
    "swe": (
        "Litteraturförteckning s. 201-210.", "Innehåller register.", "Illustrerad.",
        "Tidigare utgiven på finska.", "Tryckt i Estland.",
    ),
    "eng": (
        "Includes bibliographical references and index.", "Illustrated.",
        "Originally published in Finnish.", "Printed in Latvia.",
    ),
}
_EDITIONS = {
    "fin": ("2. painos.", "3., uudistettu painos.", "Uusi laitos.", "1. painos."),
    "swe": ("Andra upplagan.", "Ny upplaga.", "Tredje reviderade upplagan."),
    "eng": ("Second edition.", "Revised edition.", "Illustrated hardback edition."),
    "ger": ("2. Auflage.",),
    "fre": ("2e édition.",),
}
_SUMMARY_SENTENCES = {
    "fin": (
        "Teos tarkastelee aihettaan monipuolisesti ja tuo esiin uusia näkökulmia.",
        "Kirjoittaja yhdistää omakohtaiset kokemukset laajaan lähdeaineistoon.",
        "Kirja kertoo pienen pohjoissavolaisen kylän elämästä sotien jälkeen.",
        "Tarinan keskiössä on perhe, jonka salaisuudet paljastuvat vähitellen.",
        "Teos on tarkoitettu sekä opiskelijoille että aiheesta kiinnostuneille lukijoille.",
        "Kuvitus tuo esiin järvimaiseman vaihtelevat vuodenajat.",
        "Tutkimus perustuu laajaan haastatteluaineistoon ja arkistolähteisiin.",
        "Romaanin päähenkilö palaa lapsuutensa maisemiin Lappiin ja kohtaa menneisyytensä.",
        "Käsikirja esittelee keskeiset käsitteet selkeästi ja esimerkein.",
        "Teoksessa pohditaan ihmisen ja luonnon suhdetta muuttuvassa maailmassa.",
        "Äänikirjan lukee näyttelijä, jonka ääni kantaa kertomusta.",
        "Kirjassa on runsaasti valokuvia ja karttoja.",
    ),
    "swe": (
        "Boken skildrar livet i en liten österbottnisk by under efterkrigstiden.",
        "Författaren förenar egna erfarenheter med ett omfattande källmaterial.",
        "Romanens huvudperson återvänder till sin barndoms skärgård.",
        "Verket vänder sig både till studerande och till den intresserade läsaren.",
        "Studien bygger på intervjuer och arkivmaterial från Åbo och Helsingfors.",
        "Boken innehåller rikligt med fotografier och kartor.",
    ),
    "eng": (
        "The book examines its subject from several perspectives and offers new insights.",
        "The author combines personal experience with a wide range of sources.",
        "Set in a small village in northern Finland, the novel follows three generations.",
        "Intended for students and general readers alike.",
        "The study is based on interviews and archival material.",
        "Richly illustrated with photographs and maps.",
    ),
}
_LANGUAGE_NOTES = {
    "fin": "suomi.", "swe": "svenska.", "eng": "englanti.", "ger": "saksa.", "fre": "ranska.",
}
_LOCAL_NOTES = (
    "Kaukolainakappale.", "Lahjoitus.", "Varastokappale.", "Käsikirjasto.", "Tilattu.",
    "Ei lainata kotiin.",
)

# 008/18-34 (17 characters) per material, in the shapes Melinda's records show.
_BOOK_008 = (
    "    " + " " + " " + "    " + " " + "000" + " " + "1" + " ",  # fiction
    "a   " + " " + " " + "b   " + " " + "001" + " " + "0" + " ",  # illustrated non-fiction
    "    " + " " + " " + "    " + " " + "000" + " " + "0" + " ",
    "|" * 17,  # converted records, unspecified
)
_EBOOK_008 = "    " + " " + "o" + "    " + " " + "000" + " " + "0" + " "
_MUSIC_008 = ("pp" + "n" + " " + " " + " " + "      " + "  " + " " + "n" + " ",
              "rc" + "n" + " " + " " + " " + "      " + "  " + " " + "n" + " ")
# 008/24-34 of a serial, after frequency, regularity, type and form of item
_SERIAL_008_TAIL = " " + "   " + " " + "0" + "   " + " " + "0"


def _check_lengths() -> None:
    for value in (*_BOOK_008, _EBOOK_008, *_MUSIC_008, f"qr p  {_SERIAL_008_TAIL}"):
        if len(value) != 17:
            raise AssertionError(f"008/18-34 template {value!r} is not 17 characters")


_check_lengths()


# ---------------------------------------------------------------------------------------------
# Precomputed pools
# ---------------------------------------------------------------------------------------------


class Name(NamedTuple):
    """A personal name in inverted (`$a`) and direct (`$c`) order."""

    inverted: str
    direct: str


class Title(NamedTuple):
    text: str
    nonfiling: str  # 245 ind2


class Host(NamedTuple):
    """What a component part needs of its host record."""

    melinda_id: str
    title: str
    publisher: Publisher
    year: int
    identifier: str  # ISSN (serial) or ISBN (monograph); may be empty
    language: str
    serial: bool


def _names(surnames: Sequence[str], forenames: Sequence[str]) -> tuple[Name, ...]:
    return tuple(
        Name(f"{surname}, {forename}", f"{forename} {surname}")
        for surname in surnames
        for forename in forenames
    )


def _draw(picker: random.Random, seq: Sequence[_T]) -> _T:
    """One item of `seq`, using only `random()` (whose stream every Python version shares)."""
    return seq[int(picker.random() * len(seq))]


def _name_pool(language: str) -> str:
    return language if language in ("fin", "swe") else "foreign"


_NAME_POOLS = {
    "fin": _names(FINNISH_SURNAMES, FINNISH_FORENAMES),
    "swe": _names(SWEDISH_SURNAMES, SWEDISH_FORENAMES),
    "foreign": _names(FOREIGN_SURNAMES, FOREIGN_FORENAMES),
}


def _title_pool(language: str, picker: random.Random, size: int) -> tuple[Title, ...]:
    """Distinct-looking titles for one language, made once from a fixed internal seed."""
    rnd = picker.random

    def pick(seq: Sequence[_T]) -> _T:
        return seq[int(rnd() * len(seq))]

    titles: list[Title] = []
    for _ in range(size):
        shape = rnd()
        if language == "fin":
            if shape < 0.35:
                text = f"{pick(_FI_ADJ)} {pick(_FI_NOUN)}"
            elif shape < 0.7:
                text = f"{pick(_FI_GEN)} {pick(_FI_NOUN)}"
            elif shape < 0.85:
                noun = pick(_FI_NOUN)
                text = f"{noun[0].upper()}{noun[1:]} ja {pick(_FI_NOUN)}"
            else:
                topic = pick(_FI_TOPIC)
                text = f"Johdatus: {topic}" if rnd() < 0.3 else f"{topic.capitalize()} tänään"
            titles.append(Title(text, "0"))
        elif language == "swe":
            if shape < 0.4:
                adjective, noun = pick(_SV_ADJ), pick(_SV_NOUN)
                article = "Den" if noun[-1] in "gkrnsl" else "Det"
                ending = "en" if article == "Den" else "et"
                titles.append(Title(f"{article} {adjective} {noun}{ending}", "4"))
            elif shape < 0.8:
                titles.append(Title(f"{pick(_SV_GEN)} {pick(_SV_NOUN)}", "0"))
            else:
                titles.append(Title(f"En {pick(_SV_NOUN)} om {pick(_SV_NOUN)}", "3"))
        elif language == "eng":
            if shape < 0.45:
                titles.append(Title(f"The {pick(_EN_ADJ)} {pick(_EN_NOUN)}", "4"))
            elif shape < 0.7:
                noun = pick(_EN_NOUN)
                article = "An" if noun[0] in "aeiou" else "A"
                titles.append(
                    Title(f"{article} {noun} of {pick(_EN_NOUN)}", "3" if article == "An" else "2")
                )
            else:
                noun = pick(_EN_NOUN)
                titles.append(Title(f"{noun.capitalize()} and {pick(_EN_NOUN)}", "0"))
        elif language == "ger":
            head = pick(_DE_TITLE_HEADS)
            titles.append(Title(f"{head} {pick(_DE_TITLE_TAILS)}", "4"))
        else:
            head = pick(_FR_TITLE_HEADS)
            nonfiling = "2" if head.startswith("L'") else ("3" if head.startswith("La ") else "4")
            if head.startswith("Le "):
                nonfiling = "3"
            titles.append(Title(f"{head} {pick(_FR_TITLE_TAILS)}", nonfiling))
    return tuple(titles)


def _subtitle_pool(language: str) -> tuple[str, ...]:
    if language == "fin":
        expanded: list[str] = []
        for subtitle in _FI_SUBTITLE:
            if "{topic_gen}" in subtitle:
                expanded.extend(subtitle.format(topic_gen=t) for t in _FI_TOPIC_GEN)
            else:
                expanded.append(subtitle)
        return tuple(expanded)
    return {"swe": _SV_SUBTITLE, "eng": _EN_SUBTITLE, "ger": _DE_SUBTITLE}.get(language, _FR_SUBTITLE)


def _day_table() -> tuple[str, ...]:
    days = (_LAST_DAY - _FIRST_DAY).days + 1
    return tuple((_FIRST_DAY + datetime.timedelta(days=n)).strftime("%Y%m%d") for n in range(days))


_DAYS = _day_table()
_YEAR_START = {int(day[:4]): n for n, day in reversed(list(enumerate(_DAYS)))}
_HHMM = tuple(f"{m // 60:02d}{m % 60:02d}" for m in range(24 * 60))
_POOL_SEED = 20_240_601  # fixed: the pools are part of the generator, not of a run's seed
_TITLE_POOL_SIZE = 3000


class _Pools:
    """Everything computed once per process and shared by all runs."""

    def __init__(self) -> None:
        picker = random.Random(_POOL_SEED)
        self.titles = {lang: _title_pool(lang, picker, _TITLE_POOL_SIZE) for lang, _ in _LANGUAGES}
        self.subtitles = {lang: _subtitle_pool(lang) for lang, _ in _LANGUAGES}
        # 505 contents notes: chapter titles, some with their author; tracks with composer
        self.chapters = {
            lang: tuple(
                f"{t.text} / {_draw(picker, _NAME_POOLS[_name_pool(lang)]).direct}"
                if picker.random() < 0.3 else t.text
                for t in self.titles[lang][:1000]
            )
            for lang in ("fin", "swe", "eng")
        }
        self.tracks = {
            lang: tuple(
                f"{t.text} / {_draw(picker, _NAME_POOLS[_name_pool(lang)]).direct}"
                for t in self.titles[lang][1000:2000]
            )
            for lang in ("fin", "swe", "eng")
        }
        self.yso_fin = tuple(
            [_sf(("a", c.fin)), _sf(("2", "yso/fin")), _sf(("0", c.uri))] for c in _YSO
        )
        self.yso_swe = tuple(
            [_sf(("a", c.swe)), _sf(("2", "yso/swe")), _sf(("0", c.uri))] for c in _YSO
        )
        self.places_fin = tuple(
            [_sf(("a", c.fin)), _sf(("2", "yso/fin")), _sf(("0", c.uri))] for c in _YSO_PLACES
        )
        self.places_swe = tuple(
            [_sf(("a", c.swe)), _sf(("2", "yso/swe")), _sf(("0", c.uri))] for c in _YSO_PLACES
        )
        slm = "http://urn.fi/URN:NBN:fi:au:slm:"
        self.genres_fiction = tuple(
            ([_sf(("a", fi)), _sf(("2", "slm/fin")), _sf(("0", slm + n))],
             [_sf(("a", sv)), _sf(("2", "slm/swe")), _sf(("0", slm + n))])
            for fi, sv, n in _GENRES_FICTION
        )
        self.genres_music = tuple(
            ([_sf(("a", fi)), _sf(("2", "slm/fin")), _sf(("0", slm + n))],
             [_sf(("a", sv)), _sf(("2", "slm/swe")), _sf(("0", slm + n))])
            for fi, sv, n in _GENRES_MUSIC
        )
        self.cat_users = {
            code: (f"LOAD-{code}"[:10], *(f"{code}{n:04d}" for n in (1, 7, 42, 108, 1234)))
            for code, _, _ in _LIBRARIES
        }
        self.low = {code: [_sf(("a", code))] for code in (
            *(c for c, _, _ in _LIBRARIES), "FENNI", "VIOLA", "FIKKA", "MUSA")}
        self.rda = {
            key: tuple(
                [_sf(("a", term)), _sf(("b", code)), _sf(("2", scheme))]
                for (term, code), scheme in zip(terms, ("rdacontent", "rdamedia", "rdacarrier"),
                                                strict=True)
            )
            for key, terms in _RDA_TERMS.items()
        }
        self.cat_user_subfields = {
            code: tuple(_sf(("a", user)) for user in users) for code, users in self.cat_users.items()
        }
        self.generic_cat_users = tuple(_sf(("a", user)) for user in _GENERIC_CAT_USERS)
        self.cat_fenni_kv = _sf(("a", "FENNI-KV"))
        self.cat_viola_kv = _sf(("a", "VIOLA-KV"))
        self.cat_import = _sf(("a", "IMP_ENNAKK"))
        # cataloguing levels: mostly 30 (full), sometimes 20 or 00 (loads)
        self.cat_levels = (
            *(_sf(("b", "30")),) * 17, _sf(("b", "20")), _sf(("b", "20")), _sf(("b", "00"))
        )
        self.cat_days = tuple(_sf(("c", day)) for day in _DAYS)
        self.cat_times = tuple(_sf(("h", hhmm)) for hhmm in _HHMM)
        self.cat_fin01 = _sf(("l", "FIN01"))
        self.summaries = {lang: _SUMMARY_SENTENCES[lang] for lang in ("fin", "swe", "eng")}


_POOLS: _Pools | None = None


def _pools() -> _Pools:
    global _POOLS
    if _POOLS is None:
        _POOLS = _Pools()
    return _POOLS


# Indicator pairs used below, made once.
_I_0 = _ind("0", " ")
_I_1 = _ind("1", " ")
_I_01 = _ind("0", "1")
_I__0 = _ind(" ", "0")
_I__1 = _ind(" ", "1")
_I__4 = _ind(" ", "4")
_I__7 = _ind(" ", "7")
_I_14 = _ind("1", "4")
_I_24 = _ind("2", "4")
_I_40 = _ind("4", "0")
_I_245 = {(i1, i2): _ind(i1, i2) for i1 in "01" for i2 in "01234"}

_KINDS = (
    ("book", 0.47),
    ("ebook", 0.10),
    ("serial", 0.06),
    ("music", 0.07),
    ("part", 0.17),
    ("brief", 0.13),
)
_HOST_RING = 4096  # component parts point at one of the most recent hosts


class _RecordFactory:
    """Makes one record at a time from one seeded random stream."""

    def __init__(self, seed: int) -> None:
        self.pools = _pools()
        self.rnd = random.Random(seed).random
        self.monograph_hosts: list[Host] = []
        self.serial_hosts: list[Host] = []

    # -- small helpers ------------------------------------------------------------------------

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.rnd() * len(seq))]

    def between(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        return low + int(self.rnd() * (high - low + 1))

    def language(self) -> str:
        x = self.rnd()
        for code, share in _LANGUAGES:
            if x < share:
                return code
            x -= share
        return "fin"

    def name(self, language: str) -> Name:
        if language == "fin":
            pool = _NAME_POOLS["fin"] if self.rnd() < 0.93 else _NAME_POOLS["swe"]
        elif language == "swe":
            pool = _NAME_POOLS["swe"] if self.rnd() < 0.8 else _NAME_POOLS["fin"]
        else:
            pool = _NAME_POOLS["foreign"]
        return self.pick(pool)

    def isbn(self, publisher: Publisher, year: int) -> str:
        group, code = publisher.isbn_group, publisher.isbn_publisher
        width = 9 - len(group) - len(code)
        title = f"{int(self.rnd() * 10 ** width):0{width}d}"
        if year < 2007 and self.rnd() < 0.8:
            body = group + code + title
            check = isbn10_check_digit(body)
            return f"{group}-{code}-{title}-{check}" if self.rnd() < 0.7 else body + check
        body = "978" + group + code + title
        check = isbn13_check_digit(body)
        return f"978-{group}-{code}-{title}-{check}" if self.rnd() < 0.6 else body + check

    # -- the record ---------------------------------------------------------------------------

    def record(self, number: int) -> Record:
        melinda_id = f"{number:09d}"
        x = self.rnd()
        kind = "book"
        for name, share in _KINDS:
            if x < share:
                kind = name
                break
            x -= share
        if kind == "part" and not (self.monograph_hosts or self.serial_hosts):
            kind = "book"
        return _RecordBuilder(self, melinda_id, kind).build()


class _RecordBuilder:
    """The fields of one record, appended in tag order."""

    def __init__(self, factory: _RecordFactory, melinda_id: str, kind: str) -> None:
        self.f = factory
        self.id = melinda_id
        self.kind = kind
        rnd = factory.rnd
        # A component part's host: a serial (Leader/07 b) or a book (Leader/07 a); the part
        # shares its language and publisher.
        self.host: Host | None = None
        self.part_level = ""
        if kind == "part":
            serial = bool(factory.serial_hosts) and (not factory.monograph_hosts or rnd() < 0.6)
            self.part_level = "ab" if serial else "aa"
            self.host = factory.pick(factory.serial_hosts if serial else factory.monograph_hosts)
            self.language = self.host.language
        elif kind == "music":
            self.language = "fin" if rnd() < 0.8 else "swe"
        elif kind == "serial":
            self.language = "fin" if rnd() < 0.7 else ("swe" if rnd() < 0.6 else "eng")
        else:
            self.language = factory.language()
        # Records catalogued in Swedish use Swedish RDA terms and relators.
        self.cat_lang = "swe" if self.language == "swe" and rnd() < 0.8 else "fin"
        self.deleted = rnd() < 0.01
        self.test = not self.deleted and rnd() < 0.005
        # Creation day and a publication year no later than it.
        self.created = int(rnd() ** 0.7 * (len(_DAYS) - 200))
        created_year = int(_DAYS[self.created][:4])
        if rnd() < 0.75:
            self.year = created_year - (1 if rnd() < 0.3 else 0)
        else:
            self.year = max(1900, created_year - int(rnd() * 60))
        self.brief_level = ""
        if kind == "brief":
            self.brief_level = "8" if rnd() < 0.6 else "5"
            if self.brief_level == "8":
                self.year = created_year + (1 if rnd() < 0.4 else 0)
        if self.host is not None:
            self.publisher = self.host.publisher
            # an article appears in its host's year, or (serials) any year since the first issue
            self.year = self.host.year if not self.host.serial else max(self.year, self.host.year)
            self.created = max(self.created, _YEAR_START.get(self.year, 0))
        elif kind == "music":
            self.publisher = factory.pick(_MUSIC_LABELS)
        else:
            self.publisher = factory.pick(_PUBLISHERS[self.language])
        finnish = self.publisher.country == "fi "
        self.fennica = (
            not self.brief_level and finnish and kind in ("book", "ebook", "serial", "part")
            and rnd() < 0.3
        )
        self.viola = kind == "music" and finnish and rnd() < 0.25
        self.national = self.fennica or self.viola
        self.fiction = kind in ("book", "ebook", "brief") and rnd() < 0.45
        self.title_text = ""
        self.fields: list[Field] = []

    def add(self, tag: str, indicators: Indicators, subfields: list[Subfield]) -> None:
        if _FAST_FIELDS:
            field = _new(Field)
            field.tag = tag
            field._indicators = indicators
            field.subfields = subfields
            field.data = None
            field.control_field = False
            self.fields.append(field)
        else:  # pragma: no cover - only on a pymarc whose Field internals changed
            self.fields.append(_slow_field(tag, indicators, subfields))

    # -- assembly -----------------------------------------------------------------------------

    def build(self) -> Record:
        f, rnd = self.f, self.f.rnd
        kind = self.kind
        cats = self.cat_history()
        last_day, last_minute = divmod(cats[-1], 1440)
        fields = self.fields
        fields.append(_control("001", self.id))
        fields.append(_control("003", "FI-MELINDA"))
        fields.append(_control(
            "005", f"{_DAYS[last_day]}{_HHMM[last_minute]}{int(rnd() * 60):02d}.0"))
        if kind == "ebook":
            fields.append(_control("007", "cr |||||||||||"))
        elif kind == "music":
            fields.append(_control("007", "sd fsngnnmmned"))
        fields.append(_control("008", self.field_008()))
        if not self.brief_level and rnd() < 0.03:
            self.add("019", BLANK, [_sf(("a", f"{int(rnd() * 900000) + 100000}")),
                                    _sf(("5", f.pick(_LIBRARIES)[0]))])

        title = self.title()
        main_name = f.name(self.language) if kind != "serial" and rnd() < 0.85 else None
        identifier = ""
        if kind in ("book", "ebook", "brief") and (self.year >= 1975 or rnd() < 0.3):
            identifier = self.add_isbns()
        elif kind == "serial":
            identifier = _issn(f"{int(rnd() * 9_000_000) + 1_000_000:07d}")
            self.add("022", _I_0, [_sf(("a", identifier)), _sf(("l", identifier))])
        elif kind == "music":
            self.add("028", _I_01, [_sf(("b", f.pick(_MUSIC_LABEL_CODES))),
                                    _sf(("a", f"{f.between(1000, 99999)}-2"))])

        self.add("035", BLANK, [_sf(("a", MELINDA_PREFIX + self.id))])
        if rnd() < 0.01:
            # an id merged away into this record
            self.add("035", BLANK, [_sf(("z", f"{MELINDA_PREFIX}{900_000_000 + int(self.id):09d}"))])
        if rnd() < 0.1:
            self.add("035", BLANK, [_sf(("a", f"(FI-BTJ){f.between(1_000_000, 9_999_999)}"))])
        if not self.brief_level and rnd() < 0.02:
            self.add("039", BLANK, [_sf(("a", "Fennica-tarkistus")), _sf(("b", str(self.year)))])
        self.add_040()
        self.add_041()
        if self.fennica:
            self.add("042", BLANK, [_sf(("a", "finb"))])
        elif self.viola:
            self.add("042", BLANK, [_sf(("a", "finbd"))])
        if not self.brief_level and rnd() < 0.02:
            self.add("049", BLANK, [_sf(("a", f"{f.pick(_LIBRARIES)[0]}")),
                                    _sf(("b", f.pick(("Pääkirjasto", "Varasto", "Käsikirjasto"))))])
        if not self.brief_level:
            self.add_classification()
        if main_name is not None:
            self.add_main_entry(main_name)
        self.add_245(title, main_name)
        if not self.brief_level and rnd() < 0.12:
            self.add("250", BLANK, [_sf(("a", f.pick(_EDITIONS[self.language])))])
        self.add_publication()
        if not self.brief_level or rnd() < 0.4:
            self.add_300()
        if kind == "serial":
            freq = f.pick(_FREQUENCIES)
            self.add("310", BLANK, [_sf(("a", freq[1]))])
        if not self.brief_level or rnd() < 0.5:
            self.add_rda()
        if kind == "serial":
            self.add("362", _I_0, [_sf(("a", f"{self.year}-"))])
        series = self.add_490() if not self.brief_level and rnd() < 0.15 else None
        self.add_notes()
        if main_name is not None or kind in ("book", "ebook", "part"):
            self.add_subjects()
        self.add_added_entries(main_name)
        if kind == "part":
            self.add_773()
        if series is not None:
            self.add("830", _I__0, [_sf(("a", f"{series[0]} ;")), _sf(("v", series[1]))])
        if kind == "ebook":
            self.add_856(identifier)
        self.add_local_9xx()
        self.add_aleph_fields(cats)
        if not (self.deleted or self.brief_level or self.test):
            self.remember_host(title, identifier)
        return _record(self.leader(len(cats)), fields)

    # -- pieces -------------------------------------------------------------------------------

    def leader(self, cat_count: int) -> str:
        status = "d" if self.deleted else ("c" if cat_count > 1 else "n")
        kind = self.kind
        if kind == "music":
            type_level = "jm"
        elif kind == "serial":
            type_level = "as"
        elif kind == "part":
            type_level = self.part_level
        else:
            type_level = "am"
        if self.brief_level:
            encoding = self.brief_level
        elif self.national:
            encoding = " "
        else:
            encoding = self.f.pick(("4", "4", "4", "z", "u", "3"))
        description = "i" if self.year >= 2015 or self.f.rnd() < 0.5 else "a"
        return f"00000{status}{type_level} a2200000{encoding}{description} 4500"

    def field_008(self) -> str:
        f, rnd = self.f, self.f.rnd
        entered = _DAYS[self.created][2:]
        country = self.publisher.country
        kind = self.kind
        if kind == "serial":
            freq_code = f.pick(_FREQUENCIES)[0]
            form = "o" if rnd() < 0.2 else " "
            dates = f"c{self.year}9999"
            material = f"{freq_code}r p {form}{_SERIAL_008_TAIL}"
        elif kind == "music":
            dates = f"s{self.year}    "
            material = f.pick(_MUSIC_008)
        elif kind == "ebook":
            dates = f"s{self.year}    "
            material = _EBOOK_008
        else:
            dates = f"t{self.year}{self.year}" if rnd() < 0.1 else f"s{self.year}    "
            material = f.pick(_BOOK_008)
        language = self.language
        source = " " if self.national else f.pick(("c", "c", "d", "|"))
        modified = "|" if material[0] == "|" else " "
        return f"{entered}{dates}{country}{material}{language}{modified}{source}"

    def title(self) -> Title:
        f = self.f
        if self.kind == "serial":
            text = f.pick(_SERIAL_TITLES[self.language])
            if "{}" in text:
                topic = f.pick(_SERIAL_TOPICS[self.language])
                text = text.format(topic if text[0] != "{" else topic.capitalize())
            return Title(text, "0")
        title = f.pick(f.pools.titles[self.language])
        if f.rnd() < 0.08:
            # numbered volumes of a multi-part work
            return Title(f"{title.text} {f.between(1, 12)}", title.nonfiling)
        return title

    def add_isbns(self) -> str:
        f = self.f
        isbn = f.isbn(self.publisher, self.year)
        if self.kind == "ebook":
            qualifier = f.pick(("PDF", "EPUB", "verkkoaineisto"))
        else:
            qualifier = f.pick(_BINDINGS.get(self.cat_lang, _BINDINGS["fin"]))
        subfields = [_sf(("a", isbn))]
        if f.rnd() < 0.7:
            subfields.append(_sf(("q", qualifier)))
        self.add("020", BLANK, subfields)
        if f.rnd() < 0.15:
            other = f.isbn(self.publisher, self.year)
            other_form = "PDF" if self.kind != "ebook" else "nidottu"
            self.add("020", BLANK, [_sf(("a", other)), _sf(("q", other_form))])
        return isbn

    def add_040(self) -> None:
        f = self.f
        if self.national:
            agency = "FI-NL"
        elif self.brief_level == "8":
            agency = "FI-KV"
        else:
            agency = f.pick(_CATALOGUING_AGENCIES)
        subfields = [_sf(("a", agency)), _sf(("b", self.cat_lang))]
        if self.year >= 2015 or f.rnd() < 0.3:
            subfields.append(_sf(("e", "rda")))
        if not self.national and f.rnd() < 0.1:
            subfields.append(_sf(("d", "FI-NL")))
        self.add("040", BLANK, subfields)

    def add_041(self) -> None:
        f = self.f
        if self.kind == "music":
            self.add("041", BLANK, [_sf(("d", self.language))])
        elif self.language == "fin" and f.rnd() < 0.15:
            self.add("041", _I_1, [_sf(("a", "fin")), _sf(("h", f.pick(("eng", "swe", "ger", "fre"))))])
        elif f.rnd() < 0.7:
            self.add("041", _I_0, [_sf(("a", self.language))])

    def add_classification(self) -> None:
        f = self.f
        fiction = self.fiction
        keep = [_sf(("9", "FENNI<KEEP>"))] if self.fennica else []
        if self.kind == "music":
            self.add("084", BLANK, [_sf(("a", f.pick(_YKL_MUSIC))), _sf(("2", "ykl")), *keep])
            return
        if f.rnd() < 0.5 or self.fennica:
            udc = _UDC_FICTION[self.language] if fiction else f.pick(_UDC_NONFICTION)
            subfields = [_sf(("a", udc))]
            if self.fennica:
                subfields += [_sf(("2", "1974/fin/fennica")), *keep]
            self.add("080", _I_1 if self.fennica else BLANK, subfields)
        ykl = _YKL_FICTION[self.language] if fiction else f.pick(_YKL_NONFICTION)
        self.add("084", BLANK, [_sf(("a", ykl)), _sf(("2", "ykl")), *keep])

    def relator(self, index: int) -> str:
        return _RELATORS[self.cat_lang][index]

    def add_main_entry(self, name: Name) -> None:
        f = self.f
        role = 5 if self.kind == "music" else 0
        subfields = [_sf(("a", f"{name.inverted},")), _sf(("e", f"{self.relator(role)}."))]
        if self.brief_level == "8":
            subfields.append(_sf(("g", "ENNAKKOTIETO.")))
        elif f.rnd() < 0.15:
            subfields.append(_sf(("0", f"{ASTERI_PREFIX}{f.between(10_000, 199_999):09d}")))
        self.add("100", _I_1, subfields)

    def add_245(self, title: Title, main_name: Name | None) -> None:
        f = self.f
        wants_subtitle = self.kind != "serial" and f.rnd() < 0.45
        subtitle = f.pick(f.pools.subtitles[self.language]) if wants_subtitle else ""
        responsibility = main_name.direct if main_name is not None and f.rnd() < 0.7 else ""
        text = title.text
        subfields: list[Subfield] = []
        if subtitle:
            subfields.append(_sf(("a", f"{text} :")))
            subfields.append(_sf(("b", f"{subtitle}{' /' if responsibility else '.'}")))
        else:
            subfields.append(_sf(("a", f"{text}{' /' if responsibility else '.'}")))
        if responsibility:
            subfields.append(_sf(("c", f"{responsibility}.")))
        indicator1 = "1" if main_name is not None else "0"
        self.add("245", _I_245[(indicator1, title.nonfiling)], subfields)
        self.title_text = text

    def add_publication(self) -> None:
        f = self.f
        publisher = self.publisher
        year = str(self.year)
        if self.kind == "serial":
            year = f"{self.year}-"
        modern = self.year >= 2013 or int(_DAYS[self.created][:4]) >= 2016
        place, name = publisher.place, publisher.name
        # a pre-publication record's projected date (263) sorts between 260 and 264
        projected = (
            [_sf(("a", f"{self.year}{f.between(1, 12):02d}"))] if self.brief_level == "8" else None
        )
        if projected is not None and modern:
            self.add("263", BLANK, projected)
        if modern:
            shown_year = f"[{year}]" if f.rnd() < 0.2 and self.kind != "serial" else year
            self.add("264", _I__1, [_sf(("a", f"{place} :")), _sf(("b", f"{name},")),
                                    _sf(("c", shown_year))])
            if self.kind == "music":
                self.add("264", _I__4, [_sf(("c", f"℗{self.year}"))])
            elif f.rnd() < 0.1 and self.kind != "serial":
                self.add("264", _I__4, [_sf(("c", f"©{self.year}"))])
        else:
            self.add("260", BLANK, [_sf(("a", f"{place} :")), _sf(("b", f"{name},")),
                                    _sf(("c", f"{year}."))])
            if projected is not None:
                self.add("263", BLANK, projected)

    def add_300(self) -> None:
        f = self.f
        kind = self.kind
        swedish = self.cat_lang == "swe"
        if kind == "music":
            minutes = f.between(30, 79)
            extent = [_sf(("a", f"1 CD-äänilevy ({minutes} min) :")), _sf(("b", "digitaalinen ;")),
                      _sf(("c", "12 cm"))]
        elif kind == "serial":
            extent = [_sf(("a", "nidettä :" if not swedish else "volymer :")),
                      _sf(("b", "kuvitettu ;" if not swedish else "illustrerad ;")),
                      _sf(("c", "30 cm"))]
        elif kind == "part":
            start = f.between(1, 300)
            span = f"{start}-{start + f.between(1, 30)}"
            extent = [_sf(("a", f"{'sidorna' if swedish else 'sivut'} {span}"))]
        else:
            pages = f.between(24, 640)
            unit = "sidor" if swedish else "sivua"
            if kind == "ebook":
                extent = [_sf(("a", f"1 verkkoaineisto ({pages} {unit})"))]
            elif self.year < 2013:
                extent = [_sf(("a", f"{pages} s. :")), _sf(("b", "kuv. ;")),
                          _sf(("c", f"{f.between(18, 30)} cm"))]
            else:
                extent = [_sf(("a", f"{pages} {unit} ;")), _sf(("c", f"{f.between(18, 30)} cm"))]
        self.add("300", BLANK, extent)

    def add_rda(self) -> None:
        if self.kind == "ebook":
            media = "online"
        elif self.kind == "music":
            media = "audio"
        else:
            media = "print"
        content, medium, carrier = self.f.pools.rda[(self.cat_lang, media)]
        self.add("336", BLANK, list(content))
        self.add("337", BLANK, list(medium))
        self.add("338", BLANK, list(carrier))

    def add_490(self) -> tuple[str, str] | None:
        f = self.f
        title, issn7 = f.pick(_SERIES)
        number = str(f.between(1, 1500))
        traced = f.rnd() < 0.6
        subfields = [_sf(("a", f"{title}," if issn7 else f"{title} ;"))]
        if issn7:
            subfields.append(_sf(("x", f"{_issn(issn7)} ;")))
        subfields.append(_sf(("v", number)))
        self.add("490", _I_1 if traced else _I_0, subfields)
        return (title, f"{number}.") if traced else None

    def add_notes(self) -> None:
        f = self.f
        notes_lang = self.cat_lang if self.cat_lang in _NOTES else "fin"
        if self.brief_level == "8":
            self.add("500", BLANK, [_sf(("a", "ENNAKKOTIETO / KIRJAVÄLITYS"))])
        elif self.brief_level == "5":
            self.add("500", BLANK, [_sf(("a", "Hankintatietue."))])
        elif f.rnd() < 0.35:
            self.add("500", BLANK, [_sf(("a", f.pick(_NOTES[notes_lang])))])
        if self.brief_level:
            return
        if self.kind == "music":
            self.add_505(f.rnd() < 0.1, tracks=True)
        elif f.rnd() < 0.15:
            self.add_505(f.rnd() < 0.08, tracks=False)
        if f.rnd() < 0.02:
            thesis = f"Pro gradu -tutkielma : {self.publisher.name}, {self.year}."
            self.add("509", BLANK, [_sf(("a", thesis))])
        if f.rnd() < 0.25:
            self.add_520(f.rnd() < 0.05)
        if f.rnd() < 0.2:
            self.add("546", BLANK, [_sf(("a", _LANGUAGE_NOTES[self.language]))])
        if self.fennica:
            if f.rnd() < 0.4:
                self.add("583", BLANK, [_sf(("a", "BTJ")), _sf(("5", "FENNI"))])
            if f.rnd() < 0.3:
                self.add("594", BLANK, [_sf(("a", "ENNAKKOTIETO / KIRJAVÄLITYS")),
                                        _sf(("5", "FENNI"))])

    def add_505(self, long: bool, *, tracks: bool) -> None:
        f = self.f
        rnd = f.rnd
        language = self.language if self.language in f.pools.chapters else "eng"
        items = (f.pools.tracks if tracks else f.pools.chapters)[language]
        count = f.between(90, 220) if long else f.between(3, 14)
        size = len(items)
        parts = [items[int(rnd() * size)] for _ in range(count)]
        self.add("505", _I_0, [_sf(("a", " -- ".join(parts) + "."))])

    def add_520(self, long: bool) -> None:
        f = self.f
        sentences = f.pools.summaries.get(self.language, f.pools.summaries["eng"])
        target = f.between(2100, 5200) if long else f.between(80, 500)
        text: list[str] = []
        size = 0
        while size < target:
            sentence = f.pick(sentences)
            text.append(sentence)
            size += len(sentence) + 1
        self.add("520", BLANK, [_sf(("a", " ".join(text)))])

    def add_subjects(self) -> None:
        f = self.f
        pools = f.pools
        count = int(f.rnd() * 5) if not self.brief_level else 0
        both = self.fennica or f.rnd() < 0.5
        keep = [_sf(("9", "FENNI<KEEP>"))] if self.fennica else []
        if f.rnd() < 0.05 and not self.brief_level:
            name = f.name(self.language)
            self.add("600", _I_14, [_sf(("a", name.inverted)),
                                    _sf(("0", f"{ASTERI_PREFIX}{f.between(10_000, 199_999):09d}"))])
        if f.rnd() < 0.02 and not self.brief_level:
            self.add("610", _I_24, [_sf(("a", f"{self.publisher.name}")),
                                    _sf(("0", f"{ASTERI_PREFIX}{f.between(200_000, 299_999):09d}"))])
        # distinct concepts, in the order drawn
        chosen = list(dict.fromkeys(int(f.rnd() * len(pools.yso_fin)) for _ in range(count)))
        for index in chosen:
            self.add("650", _I__7, [*pools.yso_fin[index], *keep])
        if both:
            for index in chosen:
                self.add("650", _I__7, list(pools.yso_swe[index]))
        if f.rnd() < 0.05 and not self.brief_level:
            self.add("650", _I__4, [_sf(("a", f.pick(_ASTERI_TOPICS))),
                                    _sf(("0", f"{ASTERI_PREFIX}{f.between(10_000, 99_999):09d}"))])
        if count and f.rnd() < 0.15:
            place = int(f.rnd() * len(pools.places_fin))
            self.add("651", _I__7, list(pools.places_fin[place]))
            if both:
                self.add("651", _I__7, list(pools.places_swe[place]))
        genres = pools.genres_music if self.kind == "music" else (
            pools.genres_fiction if self.fiction else ())
        if genres and count:
            genre = f.pick(genres)
            self.add("655", _I__7, list(genre[0]))
            if both:
                self.add("655", _I__7, list(genre[1]))

    def add_added_entries(self, main_name: Name | None) -> None:
        f = self.f
        if self.brief_level or (self.kind == "serial" and f.rnd() < 0.8):
            return
        count = int(f.rnd() ** 2 * 4)
        for _ in range(count):
            name = f.name(self.language)
            if self.kind == "music":
                role = 4 if f.rnd() < 0.6 else 5
            else:
                role = f.pick((1, 2, 3)) if main_name is not None else f.pick((0, 3))
            self.add("700", _I_1, [_sf(("a", f"{name.inverted},")),
                                   _sf(("e", f"{self.relator(role)}."))])

    def add_773(self) -> None:
        host = self.host
        if host is None:
            return
        subfields = [
            _sf(("7", "nnas" if self.part_level == "ab" else "nnam")),
            _sf(("w", f"{MELINDA_PREFIX}{host.melinda_id}")),
            _sf(("t", f"{host.title}.")),
        ]
        if self.part_level == "ab":
            if host.identifier:
                subfields.append(_sf(("x", host.identifier)))
            subfields.append(_sf(("g", f"{self.year} : {self.f.between(1, 12)}.")))
        else:
            subfields.append(
                _sf(("d", f"{host.publisher.place} : {host.publisher.name}, {host.year}."))
            )
            if host.identifier:
                subfields.append(_sf(("z", host.identifier)))
        self.add("773", _I_0, subfields)

    def add_856(self, isbn: str) -> None:
        f = self.f
        if self.fennica and isbn:
            subfields = [_sf(("u", f"http://urn.fi/URN:ISBN:{isbn}")),
                         _sf(("z", "Käytettävissä vapaakappalekirjastoissa"))]
        else:
            document = f.between(100_000, 9_999_999)
            url = f"https://ebookcentral.proquest.com/lib/helsinki-ebooks/detail.action?docID={document}"
            subfields = [_sf(("u", url)), _sf(("z", "Linkki verkkoaineistoon"))]
        self.add("856", _I_40, subfields)

    def add_local_9xx(self) -> None:
        f = self.f
        if self.fennica:
            self.add("901", BLANK, [_sf(("a", f"MU{_DAYS[self.created]}")), _sf(("5", "FENNI"))])
        if not self.brief_level and f.rnd() < 0.02:
            self.add("930", BLANK, [_sf(("a", f.pick(_LOCAL_NOTES))),
                                    _sf(("5", f.pick(_LIBRARIES)[0]))])
        if self.kind == "part" and f.rnd() < 0.5:
            self.add("960", BLANK, [_sf(("a", "ARTO"))])

    # -- component parts and their hosts -------------------------------------------------------

    def remember_host(self, title: Title, identifier: str) -> None:
        if self.kind not in ("book", "serial"):
            return
        pool = self.f.serial_hosts if self.kind == "serial" else self.f.monograph_hosts
        host = Host(self.id, title.text, self.publisher, self.year, identifier, self.language,
                    self.kind == "serial")
        if len(pool) < _HOST_RING:
            pool.append(host)
        else:
            pool[int(self.id) % _HOST_RING] = host

    # -- Aleph fields --------------------------------------------------------------------------

    def cat_history(self) -> list[int]:
        """When each save happened (day index * 1440 + minute), oldest first; the first save
        created the record, in office hours."""
        rnd = self.f.rnd
        count = 1 + int(rnd() ** 3 * 20)
        first = self.created * 1440 + 420 + int(rnd() * 720)
        remaining = len(_DAYS) * 1440 - first
        return [first, *sorted(first + int(rnd() * remaining) for _ in range(count - 1))]

    def lows(self) -> list[str]:
        f = self.f
        chosen: list[str] = []
        if self.fennica:
            chosen += ["FENNI", "FIKKA"]
        elif self.viola:
            chosen += ["VIOLA", "FIKKA"]
        elif self.brief_level == "8" and f.rnd() < 0.5:
            chosen += ["FENNI"]
        if self.kind == "music" and f.rnd() < 0.3:
            chosen.append("MUSA")
        wanted = 1 + int(f.rnd() ** 2 * 6)
        wanted = min(6, max(wanted, len(chosen) + (0 if chosen else 1)))
        while len(chosen) < wanted:
            code = f.pick(_LIBRARIES)[0]
            if code not in chosen:
                chosen.append(code)
        return chosen

    def add_aleph_fields(self, cats: list[int]) -> None:
        f = self.f
        pools = f.pools
        lows = [] if self.deleted else self.lows()
        if self.deleted:
            self.add("STA", BLANK, [_sf(("a", "DELETED"))])
        elif self.test:
            self.add("STA", BLANK, [_sf(("a", "TEST"))])
        number = int(self.id)
        append = self.fields.append
        owner = ""
        for code in lows:
            library = _LIBRARY_INDEX.get(code)
            if library is None:
                continue  # national collections (FENNI, VIOLA, FIKKA, MUSA) keep no SID
            index, sid_code, prefix = library
            owner = owner or code
            # unique per library for any id below nine million: 7919 is coprime to 9e6
            local = 1_000_000 + (number * 7919 + index * 104_729) % 9_000_000
            append(_field("SID", BLANK, [_sf(("c", f"{prefix}{local}")), _sf(("b", sid_code))]))
        rnd = f.rnd
        users = pools.cat_user_subfields[owner] if owner else pools.generic_cat_users
        generic = pools.generic_cat_users
        days, times, levels = pools.cat_days, pools.cat_times, pools.cat_levels
        fin01 = pools.cat_fin01
        first = True
        for stamp in cats:
            day, minute = divmod(stamp, 1440)
            if first and self.national:
                user = pools.cat_fenni_kv if self.fennica else pools.cat_viola_kv
            elif first and self.brief_level == "8":
                user = pools.cat_import
            elif rnd() < 0.6:
                user = users[int(rnd() * len(users))]
            else:
                user = generic[int(rnd() * len(generic))]
            first = False
            level = levels[int(rnd() * len(levels))]
            append(_field("CAT", BLANK, [user, level, days[day], fin01, times[minute]]))
        low = pools.low
        for code in lows:
            append(_field("LOW", BLANK, list(low[code])))


def generate_records(count: int, seed: int = 1, *, start_id: int = 1) -> Iterator[Record]:
    """`count` Melinda bibliographic records with ids start_id, start_id + 1, …; the same seed
    (and start_id) always gives the same records."""
    if count < 0:
        raise ValueError("count must not be negative")
    if start_id < 1:
        raise ValueError("Melinda ids start at 1")
    factory = _RecordFactory(seed)
    for number in range(start_id, start_id + count):
        yield factory.record(number)


def _write(records: Iterator[Record], out: IO[bytes], fmt: str) -> int:
    from gateway.records import record_to_iso2709, write_marcxml_collection

    if fmt == "marcxml":
        return write_marcxml_collection(records, out)
    if fmt == "none":
        return sum(1 for _ in records)
    count = 0
    for record in records:
        out.write(record_to_iso2709(record))
        count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """The `generate-records` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="generate-records",
        description="Write seeded, realistic Melinda bibliographic records (same seed, same bytes).",
    )
    parser.add_argument("--count", type=int, default=1000, help="how many records (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--start-id", type=int, default=1, help="Melinda id of the first record")
    parser.add_argument(
        "--format", choices=("marcxml", "iso2709", "none"), default="marcxml",
        help="output format; none only generates (to time the generator alone)",
    )
    parser.add_argument("--output", default="-", help="file to write, or - for stdout (default)")
    parser.add_argument("--quiet", action="store_true", help="do not report records/s on stderr")
    args = parser.parse_args(argv)
    if args.count < 0 or args.start_id < 1:
        parser.error("--count must be >= 0 and --start-id >= 1")
    # The records hold no reference cycles; the cyclic collector would only rescan them.
    gc.disable()
    started, started_cpu = time.perf_counter(), time.process_time()
    records = generate_records(args.count, args.seed, start_id=args.start_id)
    if args.output == "-":
        try:
            written = _write(records, sys.stdout.buffer, args.format)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # the reader stopped early (`| head`): not an error worth a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    else:
        with open(args.output, "wb", buffering=1 << 20) as out:
            written = _write(records, out, args.format)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    if not args.quiet:
        # CPU time too: on a shared machine the wall clock says more about the neighbours
        rate = written / elapsed if elapsed > 0 else float("inf")
        cpu_rate = written / cpu if cpu > 0 else float("inf")
        print(
            f"generated {written:,} records (seed {args.seed}, {args.format}) in {elapsed:.1f} s:"
            f" {rate:,.0f} records/s ({cpu_rate:,.0f} records per CPU second)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
