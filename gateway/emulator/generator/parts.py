"""The later fields of a generated record: series, notes, subjects, added entries, host links,
online access, local fields and Aleph's own (CAT, LOW, SID, STA)."""

from __future__ import annotations

from pymarc import Field, Indicators, Subfield

from gateway.emulator.generator.asteri import BODY_IDS, PERSON_IDS, link
from gateway.emulator.generator.fields import (
    ASTERI_PREFIX,
    BLANK,
    FAST_FIELDS,
    MELINDA_PREFIX,
    issn_with_check,
    make_field,
    new_object,
    sf,
    slow_field,
)
from gateway.emulator.generator.pools import (
    DAYS,
    HOST_RING,
    I_0,
    I_1,
    I_14,
    I_24,
    I_40,
    I__4,
    I__7,
    Host,
    Name,
    RecordSource,
    Title,
)
from gateway.emulator.generator.vocabulary import (
    ASTERI_TOPICS,
    LANGUAGE_NOTES,
    LIBRARIES,
    LIBRARY_INDEX,
    LOCAL_NOTES,
    NOTES,
    RELATORS,
    SERIES,
    Publisher,
)


class RecordParts:
    """Fields a `RecordBuilder` appends after the description (its state is declared here)."""

    f: RecordSource
    id: str
    kind: str
    host: Host | None
    part_level: str
    language: str
    cat_lang: str
    deleted: bool
    test: bool
    created: int
    year: int
    brief_level: str
    publisher: Publisher
    fennica: bool
    viola: bool
    national: bool
    fiction: bool
    title_text: str
    fields: list[Field]

    def add(self, tag: str, indicators: Indicators, subfields: list[Subfield]) -> None:
        if FAST_FIELDS:
            field = new_object(Field)
            field.tag = tag
            field._indicators = indicators
            field.subfields = subfields
            field.data = None
            field.control_field = False
            self.fields.append(field)
        else:  # pragma: no cover - only on a pymarc whose Field internals changed
            self.fields.append(slow_field(tag, indicators, subfields))

    def relator(self, index: int) -> str:
        return RELATORS[self.cat_lang][index]

    def add_490(self) -> tuple[str, str] | None:
        f = self.f
        title, issn7 = f.pick(SERIES)
        number = str(f.between(1, 1500))
        traced = f.rnd() < 0.6
        subfields = [sf(("a", f"{title}," if issn7 else f"{title} ;"))]
        if issn7:
            subfields.append(sf(("x", f"{issn_with_check(issn7)} ;")))
        subfields.append(sf(("v", number)))
        self.add("490", I_1 if traced else I_0, subfields)
        return (title, f"{number}.") if traced else None

    def add_notes(self) -> None:
        f = self.f
        notes_lang = self.cat_lang if self.cat_lang in NOTES else "fin"
        if self.brief_level == "8":
            self.add("500", BLANK, [sf(("a", "ENNAKKOTIETO / KIRJAVÄLITYS"))])
        elif self.brief_level == "5":
            self.add("500", BLANK, [sf(("a", "Hankintatietue."))])
        elif f.rnd() < 0.35:
            self.add("500", BLANK, [sf(("a", f.pick(NOTES[notes_lang])))])
        if self.brief_level:
            return
        if self.kind == "music":
            self.add_505(f.rnd() < 0.1, tracks=True)
        elif f.rnd() < 0.15:
            self.add_505(f.rnd() < 0.08, tracks=False)
        if f.rnd() < 0.02:
            thesis = f"Pro gradu -tutkielma : {self.publisher.name}, {self.year}."
            self.add("509", BLANK, [sf(("a", thesis))])
        if f.rnd() < 0.25:
            self.add_520(f.rnd() < 0.05)
        if f.rnd() < 0.2:
            self.add("546", BLANK, [sf(("a", LANGUAGE_NOTES[self.language]))])
        if self.fennica:
            if f.rnd() < 0.4:
                self.add("583", BLANK, [sf(("a", "BTJ")), sf(("5", "FENNI"))])
            if f.rnd() < 0.3:
                self.add("594", BLANK, [sf(("a", "ENNAKKOTIETO / KIRJAVÄLITYS")),
                                        sf(("5", "FENNI"))])

    def add_505(self, long: bool, *, tracks: bool) -> None:
        f = self.f
        rnd = f.rnd
        language = self.language if self.language in f.pools.chapters else "eng"
        items = (f.pools.tracks if tracks else f.pools.chapters)[language]
        count = f.between(90, 220) if long else f.between(3, 14)
        size = len(items)
        parts = [items[int(rnd() * size)] for _ in range(count)]
        self.add("505", I_0, [sf(("a", " -- ".join(parts) + "."))])

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
        self.add("520", BLANK, [sf(("a", " ".join(text)))])

    def add_subjects(self) -> None:
        f = self.f
        pools = f.pools
        count = int(f.rnd() * 5) if not self.brief_level else 0
        both = self.fennica or f.rnd() < 0.5
        keep = [sf(("9", "FENNI<KEEP>"))] if self.fennica else []
        if f.rnd() < 0.05 and not self.brief_level:
            name = f.name(self.language)
            self.add("600", I_14, [sf(("a", name.inverted)),
                                    sf(("0", link(PERSON_IDS[name.inverted], f.rnd())))])
        if f.rnd() < 0.02 and not self.brief_level:
            self.add("610", I_24, [sf(("a", f"{self.publisher.name}")),
                                    sf(("0", link(BODY_IDS[self.publisher.name], f.rnd())))])
        # distinct concepts, in the order drawn
        chosen = list(dict.fromkeys(int(f.rnd() * len(pools.yso_fin)) for _ in range(count)))
        for index in chosen:
            self.add("650", I__7, [*pools.yso_fin[index], *keep])
        if both:
            for index in chosen:
                self.add("650", I__7, list(pools.yso_swe[index]))
        if f.rnd() < 0.05 and not self.brief_level:
            self.add("650", I__4, [sf(("a", f.pick(ASTERI_TOPICS))),
                                    sf(("0", f"{ASTERI_PREFIX}{f.between(10_000, 99_999):09d}"))])
        if count and f.rnd() < 0.15:
            place = int(f.rnd() * len(pools.places_fin))
            self.add("651", I__7, list(pools.places_fin[place]))
            if both:
                self.add("651", I__7, list(pools.places_swe[place]))
        genres = pools.genres_music if self.kind == "music" else (
            pools.genres_fiction if self.fiction else ())
        if genres and count:
            genre = f.pick(genres)
            self.add("655", I__7, list(genre[0]))
            if both:
                self.add("655", I__7, list(genre[1]))

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
            self.add("700", I_1, [sf(("a", f"{name.inverted},")),
                                   sf(("e", f"{self.relator(role)}."))])

    def add_773(self) -> None:
        host = self.host
        if host is None:
            return
        subfields = [
            sf(("7", "nnas" if self.part_level == "ab" else "nnam")),
            sf(("w", f"{MELINDA_PREFIX}{host.melinda_id}")),
            sf(("t", f"{host.title}.")),
        ]
        if self.part_level == "ab":
            if host.identifier:
                subfields.append(sf(("x", host.identifier)))
            subfields.append(sf(("g", f"{self.year} : {self.f.between(1, 12)}.")))
        else:
            subfields.append(
                sf(("d", f"{host.publisher.place} : {host.publisher.name}, {host.year}."))
            )
            if host.identifier:
                subfields.append(sf(("z", host.identifier)))
        self.add("773", I_0, subfields)

    def add_856(self, isbn: str) -> None:
        f = self.f
        if self.fennica and isbn:
            subfields = [sf(("u", f"http://urn.fi/URN:ISBN:{isbn}")),
                         sf(("z", "Käytettävissä vapaakappalekirjastoissa"))]
        else:
            document = f.between(100_000, 9_999_999)
            url = f"https://ebookcentral.proquest.com/lib/helsinki-ebooks/detail.action?docID={document}"
            subfields = [sf(("u", url)), sf(("z", "Linkki verkkoaineistoon"))]
        self.add("856", I_40, subfields)

    def add_local_9xx(self) -> None:
        f = self.f
        if self.fennica:
            self.add("901", BLANK, [sf(("a", f"MU{DAYS[self.created]}")), sf(("5", "FENNI"))])
        if not self.brief_level and f.rnd() < 0.02:
            self.add("930", BLANK, [sf(("a", f.pick(LOCAL_NOTES))),
                                    sf(("5", f.pick(LIBRARIES)[0]))])
        if self.kind == "part" and f.rnd() < 0.5:
            self.add("960", BLANK, [sf(("a", "ARTO"))])

    # -- component parts and their hosts -------------------------------------------------------

    def remember_host(self, title: Title, identifier: str) -> None:
        if self.kind not in ("book", "serial"):
            return
        pool = self.f.serial_hosts if self.kind == "serial" else self.f.monograph_hosts
        host = Host(self.id, title.text, self.publisher, self.year, identifier, self.language,
                    self.kind == "serial")
        if len(pool) < HOST_RING:
            pool.append(host)
        else:
            pool[int(self.id) % HOST_RING] = host

    # -- Aleph fields --------------------------------------------------------------------------

    def cat_history(self) -> list[int]:
        """When each save happened (day index * 1440 + minute), oldest first; the first save
        created the record, in office hours."""
        rnd = self.f.rnd
        count = 1 + int(rnd() ** 3 * 20)
        first = self.created * 1440 + 420 + int(rnd() * 720)
        remaining = len(DAYS) * 1440 - first
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
            code = f.pick(LIBRARIES)[0]
            if code not in chosen:
                chosen.append(code)
        return chosen

    def add_aleph_fields(self, cats: list[int]) -> None:
        f = self.f
        pools = f.pools
        lows = [] if self.deleted else self.lows()
        if self.deleted:
            self.add("STA", BLANK, [sf(("a", "DELETED"))])
        elif self.test:
            self.add("STA", BLANK, [sf(("a", "TEST"))])
        number = int(self.id)
        append = self.fields.append
        owner = ""
        for code in lows:
            library = LIBRARY_INDEX.get(code)
            if library is None:
                continue  # national collections (FENNI, VIOLA, FIKKA, MUSA) keep no SID
            index, sid_code, prefix = library
            owner = owner or code
            # unique per library for any id below nine million: 7919 is coprime to 9e6
            local = 1_000_000 + (number * 7919 + index * 104_729) % 9_000_000
            append(make_field("SID", BLANK, [sf(("c", f"{prefix}{local}")), sf(("b", sid_code))]))
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
            append(make_field("CAT", BLANK, [user, level, days[day], fin01, times[minute]]))
        low = pools.low
        for code in lows:
            append(make_field("LOW", BLANK, list(low[code])))
