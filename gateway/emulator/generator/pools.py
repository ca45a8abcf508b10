"""The generator's precomputed pools (names, titles, hosts, days) and the seeded random source
every record is drawn from."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from typing import NamedTuple

from gateway.emulator.generator.fields import (
    FIRST_DAY,
    LAST_DAY,
    T,
    ind,
    isbn10_check_digit,
    isbn13_check_digit,
    sf,
)
from gateway.emulator.generator.vocabulary import (
    DE_SUBTITLE,
    DE_TITLE_HEADS,
    DE_TITLE_TAILS,
    EN_ADJ,
    EN_NOUN,
    EN_SUBTITLE,
    FI_ADJ,
    FI_GEN,
    FI_NOUN,
    FI_SUBTITLE,
    FI_TOPIC,
    FI_TOPIC_GEN,
    FINNISH_FORENAMES,
    FINNISH_SURNAMES,
    FOREIGN_FORENAMES,
    FOREIGN_SURNAMES,
    FR_SUBTITLE,
    FR_TITLE_HEADS,
    FR_TITLE_TAILS,
    GENERIC_CAT_USERS,
    GENRES_FICTION,
    GENRES_MUSIC,
    LANGUAGES,
    LIBRARIES,
    RDA_TERMS,
    SUMMARY_SENTENCES,
    SV_ADJ,
    SV_GEN,
    SV_NOUN,
    SV_SUBTITLE,
    SWEDISH_FORENAMES,
    SWEDISH_SURNAMES,
    YSO_CONCEPTS,
    YSO_PLACES,
    Publisher,
)

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


def _draw(picker: random.Random, seq: Sequence[T]) -> T:
    """One item of `seq`, using only `random()` (whose stream every Python version shares)."""
    return seq[int(picker.random() * len(seq))]


def _name_pool(language: str) -> str:
    return language if language in ("fin", "swe") else "foreign"


_NAME_POOLS = {
    "fin": _names(FINNISH_SURNAMES, FINNISH_FORENAMES),
    "swe": _names(SWEDISH_SURNAMES, SWEDISH_FORENAMES),
    "foreign": _names(FOREIGN_SURNAMES, FOREIGN_FORENAMES),
}


def all_names() -> tuple[Name, ...]:
    """Every person the generator names, in a fixed order (their Asteri numbers follow it)."""
    return tuple(
        dict.fromkeys(name for pool in ("fin", "swe", "foreign") for name in _NAME_POOLS[pool])
    )


def _title_pool(language: str, picker: random.Random, size: int) -> tuple[Title, ...]:
    """Distinct-looking titles for one language, made once from a fixed internal seed."""
    rnd = picker.random

    def pick(seq: Sequence[T]) -> T:
        return seq[int(rnd() * len(seq))]

    titles: list[Title] = []
    for _ in range(size):
        shape = rnd()
        if language == "fin":
            if shape < 0.35:
                text = f"{pick(FI_ADJ)} {pick(FI_NOUN)}"
            elif shape < 0.7:
                text = f"{pick(FI_GEN)} {pick(FI_NOUN)}"
            elif shape < 0.85:
                noun = pick(FI_NOUN)
                text = f"{noun[0].upper()}{noun[1:]} ja {pick(FI_NOUN)}"
            else:
                topic = pick(FI_TOPIC)
                text = f"Johdatus: {topic}" if rnd() < 0.3 else f"{topic.capitalize()} tänään"
            titles.append(Title(text, "0"))
        elif language == "swe":
            if shape < 0.4:
                adjective, noun = pick(SV_ADJ), pick(SV_NOUN)
                article = "Den" if noun[-1] in "gkrnsl" else "Det"
                ending = "en" if article == "Den" else "et"
                titles.append(Title(f"{article} {adjective} {noun}{ending}", "4"))
            elif shape < 0.8:
                titles.append(Title(f"{pick(SV_GEN)} {pick(SV_NOUN)}", "0"))
            else:
                titles.append(Title(f"En {pick(SV_NOUN)} om {pick(SV_NOUN)}", "3"))
        elif language == "eng":
            if shape < 0.45:
                titles.append(Title(f"The {pick(EN_ADJ)} {pick(EN_NOUN)}", "4"))
            elif shape < 0.7:
                noun = pick(EN_NOUN)
                article = "An" if noun[0] in "aeiou" else "A"
                titles.append(
                    Title(f"{article} {noun} of {pick(EN_NOUN)}", "3" if article == "An" else "2")
                )
            else:
                noun = pick(EN_NOUN)
                titles.append(Title(f"{noun.capitalize()} and {pick(EN_NOUN)}", "0"))
        elif language == "ger":
            head = pick(DE_TITLE_HEADS)
            titles.append(Title(f"{head} {pick(DE_TITLE_TAILS)}", "4"))
        else:
            head = pick(FR_TITLE_HEADS)
            nonfiling = "2" if head.startswith("L'") else ("3" if head.startswith("La ") else "4")
            if head.startswith("Le "):
                nonfiling = "3"
            titles.append(Title(f"{head} {pick(FR_TITLE_TAILS)}", nonfiling))
    return tuple(titles)


def _subtitle_pool(language: str) -> tuple[str, ...]:
    if language == "fin":
        expanded: list[str] = []
        for subtitle in FI_SUBTITLE:
            if "{topic_gen}" in subtitle:
                expanded.extend(subtitle.format(topic_gen=t) for t in FI_TOPIC_GEN)
            else:
                expanded.append(subtitle)
        return tuple(expanded)
    return {"swe": SV_SUBTITLE, "eng": EN_SUBTITLE, "ger": DE_SUBTITLE}.get(language, FR_SUBTITLE)


def _day_table() -> tuple[str, ...]:
    days = (LAST_DAY - FIRST_DAY).days + 1
    return tuple((FIRST_DAY + datetime.timedelta(days=n)).strftime("%Y%m%d") for n in range(days))


DAYS = _day_table()
YEAR_START = {int(day[:4]): n for n, day in reversed(list(enumerate(DAYS)))}
HHMM = tuple(f"{m // 60:02d}{m % 60:02d}" for m in range(24 * 60))
_POOL_SEED = 20_240_601  # fixed: the pools are part of the generator, not of a run's seed
_TITLE_POOL_SIZE = 3000


class _Pools:
    """Everything computed once per process and shared by all runs."""

    def __init__(self) -> None:
        picker = random.Random(_POOL_SEED)
        self.titles = {lang: _title_pool(lang, picker, _TITLE_POOL_SIZE) for lang, _ in LANGUAGES}
        self.subtitles = {lang: _subtitle_pool(lang) for lang, _ in LANGUAGES}
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
            [sf(("a", c.fin)), sf(("2", "yso/fin")), sf(("0", c.uri))] for c in YSO_CONCEPTS
        )
        self.yso_swe = tuple(
            [sf(("a", c.swe)), sf(("2", "yso/swe")), sf(("0", c.uri))] for c in YSO_CONCEPTS
        )
        self.places_fin = tuple(
            [sf(("a", c.fin)), sf(("2", "yso/fin")), sf(("0", c.uri))] for c in YSO_PLACES
        )
        self.places_swe = tuple(
            [sf(("a", c.swe)), sf(("2", "yso/swe")), sf(("0", c.uri))] for c in YSO_PLACES
        )
        slm = "http://urn.fi/URN:NBN:fi:au:slm:"
        self.genres_fiction = tuple(
            ([sf(("a", fi)), sf(("2", "slm/fin")), sf(("0", slm + n))],
             [sf(("a", sv)), sf(("2", "slm/swe")), sf(("0", slm + n))])
            for fi, sv, n in GENRES_FICTION
        )
        self.genres_music = tuple(
            ([sf(("a", fi)), sf(("2", "slm/fin")), sf(("0", slm + n))],
             [sf(("a", sv)), sf(("2", "slm/swe")), sf(("0", slm + n))])
            for fi, sv, n in GENRES_MUSIC
        )
        self.cat_users = {
            code: (f"LOAD-{code}"[:10], *(f"{code}{n:04d}" for n in (1, 7, 42, 108, 1234)))
            for code, _, _ in LIBRARIES
        }
        self.low = {code: [sf(("a", code))] for code in (
            *(c for c, _, _ in LIBRARIES), "FENNI", "VIOLA", "FIKKA", "MUSA")}
        self.rda = {
            key: tuple(
                [sf(("a", term)), sf(("b", code)), sf(("2", scheme))]
                for (term, code), scheme in zip(terms, ("rdacontent", "rdamedia", "rdacarrier"),
                                                strict=True)
            )
            for key, terms in RDA_TERMS.items()
        }
        self.cat_user_subfields = {
            code: tuple(sf(("a", user)) for user in users) for code, users in self.cat_users.items()
        }
        self.generic_cat_users = tuple(sf(("a", user)) for user in GENERIC_CAT_USERS)
        self.cat_fenni_kv = sf(("a", "FENNI-KV"))
        self.cat_viola_kv = sf(("a", "VIOLA-KV"))
        self.cat_import = sf(("a", "IMP_ENNAKK"))
        # cataloguing levels: mostly 30 (full), sometimes 20 or 00 (loads)
        self.cat_levels = (
            *(sf(("b", "30")),) * 17, sf(("b", "20")), sf(("b", "20")), sf(("b", "00"))
        )
        self.cat_days = tuple(sf(("c", day)) for day in DAYS)
        self.cat_times = tuple(sf(("h", hhmm)) for hhmm in HHMM)
        self.cat_fin01 = sf(("l", "FIN01"))
        self.summaries = {lang: SUMMARY_SENTENCES[lang] for lang in ("fin", "swe", "eng")}


_POOLS: _Pools | None = None


def _pools() -> _Pools:
    global _POOLS
    if _POOLS is None:
        _POOLS = _Pools()
    return _POOLS


# Indicator pairs used below, made once.
I_0 = ind("0", " ")
I_1 = ind("1", " ")
I_01 = ind("0", "1")
I__0 = ind(" ", "0")
I__1 = ind(" ", "1")
I__4 = ind(" ", "4")
I__7 = ind(" ", "7")
I_14 = ind("1", "4")
I_24 = ind("2", "4")
I_40 = ind("4", "0")
I_245 = {(i1, i2): ind(i1, i2) for i1 in "01" for i2 in "01234"}

KINDS = (
    ("book", 0.47),
    ("ebook", 0.10),
    ("serial", 0.06),
    ("music", 0.07),
    ("part", 0.17),
    ("brief", 0.13),
)
HOST_RING = 4096  # component parts point at one of the most recent hosts


class RecordSource:
    """The seeded random stream of one run, and the draws every kind of record makes."""

    def __init__(self, seed: int) -> None:
        self.pools = _pools()
        self.rnd = random.Random(seed).random
        self.monograph_hosts: list[Host] = []
        self.serial_hosts: list[Host] = []

    # -- small helpers ------------------------------------------------------------------------

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.rnd() * len(seq))]

    def between(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        return low + int(self.rnd() * (high - low + 1))

    def language(self) -> str:
        x = self.rnd()
        for code, share in LANGUAGES:
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
