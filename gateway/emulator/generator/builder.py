"""One generated record, field by field in tag order, and the factory that draws each record's
kind (book, e-book, serial, music, component part, brief record) from one seeded stream."""

from __future__ import annotations

from collections.abc import Iterator

from pymarc import Field, Record, Subfield

from gateway.emulator.generator.asteri import PERSON_IDS, link
from gateway.emulator.generator.fields import (
    BLANK,
    MELINDA_PREFIX,
    issn_with_check,
    make_control,
    make_record,
    sf,
)
from gateway.emulator.generator.parts import RecordParts
from gateway.emulator.generator.pools import (
    DAYS,
    HHMM,
    I_0,
    I_01,
    I_1,
    I_245,
    I__0,
    I__1,
    I__4,
    KINDS,
    YEAR_START,
    Host,
    Name,
    RecordSource,
    Title,
)
from gateway.emulator.generator.vocabulary import (
    BINDINGS,
    BOOK_008,
    CATALOGUING_AGENCIES,
    EBOOK_008,
    EDITIONS,
    FREQUENCIES,
    LIBRARIES,
    MUSIC_008,
    MUSIC_LABEL_CODES,
    MUSIC_LABELS,
    PUBLISHERS,
    SERIAL_008_TAIL,
    SERIAL_TITLES,
    SERIAL_TOPICS,
    UDC_FICTION,
    UDC_NONFICTION,
    YKL_FICTION,
    YKL_MUSIC,
    YKL_NONFICTION,
)


class RecordBuilder(RecordParts):
    """The fields of one record, appended in tag order."""

    def __init__(self, factory: RecordFactory, melinda_id: str, kind: str) -> None:
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
        self.created = int(rnd() ** 0.7 * (len(DAYS) - 200))
        created_year = int(DAYS[self.created][:4])
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
            self.created = max(self.created, YEAR_START.get(self.year, 0))
        elif kind == "music":
            self.publisher = factory.pick(MUSIC_LABELS)
        else:
            self.publisher = factory.pick(PUBLISHERS[self.language])
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

    # -- assembly -----------------------------------------------------------------------------

    def build(self) -> Record:
        f, rnd = self.f, self.f.rnd
        kind = self.kind
        cats = self.cat_history()
        last_day, last_minute = divmod(cats[-1], 1440)
        fields = self.fields
        fields.append(make_control("001", self.id))
        fields.append(make_control("003", "FI-MELINDA"))
        fields.append(make_control(
            "005", f"{DAYS[last_day]}{HHMM[last_minute]}{int(rnd() * 60):02d}.0"))
        if kind == "ebook":
            fields.append(make_control("007", "cr |||||||||||"))
        elif kind == "music":
            fields.append(make_control("007", "sd fsngnnmmned"))
        fields.append(make_control("008", self.field_008()))
        if not self.brief_level and rnd() < 0.03:
            self.add("019", BLANK, [sf(("a", f"{int(rnd() * 900000) + 100000}")),
                                    sf(("5", f.pick(LIBRARIES)[0]))])

        title = self.title()
        main_name = f.name(self.language) if kind != "serial" and rnd() < 0.85 else None
        identifier = ""
        if kind in ("book", "ebook", "brief") and (self.year >= 1975 or rnd() < 0.3):
            identifier = self.add_isbns()
        elif kind == "serial":
            identifier = issn_with_check(f"{int(rnd() * 9_000_000) + 1_000_000:07d}")
            self.add("022", I_0, [sf(("a", identifier)), sf(("l", identifier))])
        elif kind == "music":
            self.add("028", I_01, [sf(("b", f.pick(MUSIC_LABEL_CODES))),
                                    sf(("a", f"{f.between(1000, 99999)}-2"))])

        self.add("035", BLANK, [sf(("a", MELINDA_PREFIX + self.id))])
        if rnd() < 0.01:
            # an id merged away into this record
            self.add("035", BLANK, [sf(("z", f"{MELINDA_PREFIX}{900_000_000 + int(self.id):09d}"))])
        if rnd() < 0.1:
            self.add("035", BLANK, [sf(("a", f"(FI-BTJ){f.between(1_000_000, 9_999_999)}"))])
        if not self.brief_level and rnd() < 0.02:
            self.add("039", BLANK, [sf(("a", "Fennica-tarkistus")), sf(("b", str(self.year)))])
        self.add_040()
        self.add_041()
        if self.fennica:
            self.add("042", BLANK, [sf(("a", "finb"))])
        elif self.viola:
            self.add("042", BLANK, [sf(("a", "finbd"))])
        if not self.brief_level and rnd() < 0.02:
            self.add("049", BLANK, [sf(("a", f"{f.pick(LIBRARIES)[0]}")),
                                    sf(("b", f.pick(("Pääkirjasto", "Varasto", "Käsikirjasto"))))])
        if not self.brief_level:
            self.add_classification()
        if main_name is not None:
            self.add_main_entry(main_name)
        self.add_245(title, main_name)
        if not self.brief_level and rnd() < 0.12:
            self.add("250", BLANK, [sf(("a", f.pick(EDITIONS[self.language])))])
        self.add_publication()
        if not self.brief_level or rnd() < 0.4:
            self.add_300()
        if kind == "serial":
            freq = f.pick(FREQUENCIES)
            self.add("310", BLANK, [sf(("a", freq[1]))])
        if not self.brief_level or rnd() < 0.5:
            self.add_rda()
        if kind == "serial":
            self.add("362", I_0, [sf(("a", f"{self.year}-"))])
        series = self.add_490() if not self.brief_level and rnd() < 0.15 else None
        self.add_notes()
        if main_name is not None or kind in ("book", "ebook", "part"):
            self.add_subjects()
        self.add_added_entries(main_name)
        if kind == "part":
            self.add_773()
        if series is not None:
            self.add("830", I__0, [sf(("a", f"{series[0]} ;")), sf(("v", series[1]))])
        if kind == "ebook":
            self.add_856(identifier)
        self.add_local_9xx()
        self.add_aleph_fields(cats)
        if not (self.deleted or self.brief_level or self.test):
            self.remember_host(title, identifier)
        return make_record(self.leader(len(cats)), fields)

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
        entered = DAYS[self.created][2:]
        country = self.publisher.country
        kind = self.kind
        if kind == "serial":
            freq_code = f.pick(FREQUENCIES)[0]
            form = "o" if rnd() < 0.2 else " "
            dates = f"c{self.year}9999"
            material = f"{freq_code}r p {form}{SERIAL_008_TAIL}"
        elif kind == "music":
            dates = f"s{self.year}    "
            material = f.pick(MUSIC_008)
        elif kind == "ebook":
            dates = f"s{self.year}    "
            material = EBOOK_008
        else:
            dates = f"t{self.year}{self.year}" if rnd() < 0.1 else f"s{self.year}    "
            material = f.pick(BOOK_008)
        language = self.language
        source = " " if self.national else f.pick(("c", "c", "d", "|"))
        modified = "|" if material[0] == "|" else " "
        return f"{entered}{dates}{country}{material}{language}{modified}{source}"

    def title(self) -> Title:
        f = self.f
        if self.kind == "serial":
            text = f.pick(SERIAL_TITLES[self.language])
            if "{}" in text:
                topic = f.pick(SERIAL_TOPICS[self.language])
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
            qualifier = f.pick(BINDINGS.get(self.cat_lang, BINDINGS["fin"]))
        subfields = [sf(("a", isbn))]
        if f.rnd() < 0.7:
            subfields.append(sf(("q", qualifier)))
        self.add("020", BLANK, subfields)
        if f.rnd() < 0.15:
            other = f.isbn(self.publisher, self.year)
            other_form = "PDF" if self.kind != "ebook" else "nidottu"
            self.add("020", BLANK, [sf(("a", other)), sf(("q", other_form))])
        return isbn

    def add_040(self) -> None:
        f = self.f
        if self.national:
            agency = "FI-NL"
        elif self.brief_level == "8":
            agency = "FI-KV"
        else:
            agency = f.pick(CATALOGUING_AGENCIES)
        subfields = [sf(("a", agency)), sf(("b", self.cat_lang))]
        if self.year >= 2015 or f.rnd() < 0.3:
            subfields.append(sf(("e", "rda")))
        if not self.national and f.rnd() < 0.1:
            subfields.append(sf(("d", "FI-NL")))
        self.add("040", BLANK, subfields)

    def add_041(self) -> None:
        f = self.f
        if self.kind == "music":
            self.add("041", BLANK, [sf(("d", self.language))])
        elif self.language == "fin" and f.rnd() < 0.15:
            self.add("041", I_1, [sf(("a", "fin")), sf(("h", f.pick(("eng", "swe", "ger", "fre"))))])
        elif f.rnd() < 0.7:
            self.add("041", I_0, [sf(("a", self.language))])

    def add_classification(self) -> None:
        f = self.f
        fiction = self.fiction
        keep = [sf(("9", "FENNI<KEEP>"))] if self.fennica else []
        if self.kind == "music":
            self.add("084", BLANK, [sf(("a", f.pick(YKL_MUSIC))), sf(("2", "ykl")), *keep])
            return
        if f.rnd() < 0.5 or self.fennica:
            udc = UDC_FICTION[self.language] if fiction else f.pick(UDC_NONFICTION)
            subfields = [sf(("a", udc))]
            if self.fennica:
                subfields += [sf(("2", "1974/fin/fennica")), *keep]
            self.add("080", I_1 if self.fennica else BLANK, subfields)
        ykl = YKL_FICTION[self.language] if fiction else f.pick(YKL_NONFICTION)
        self.add("084", BLANK, [sf(("a", ykl)), sf(("2", "ykl")), *keep])

    def add_main_entry(self, name: Name) -> None:
        f = self.f
        role = 5 if self.kind == "music" else 0
        subfields = [sf(("a", f"{name.inverted},")), sf(("e", f"{self.relator(role)}."))]
        if self.brief_level == "8":
            subfields.append(sf(("g", "ENNAKKOTIETO.")))
        elif f.rnd() < 0.15:
            # linked to the person's authority, in any of the three forms (`generator.asteri`)
            subfields.append(sf(("0", link(PERSON_IDS[name.inverted], f.rnd()))))
        self.add("100", I_1, subfields)

    def add_245(self, title: Title, main_name: Name | None) -> None:
        f = self.f
        wants_subtitle = self.kind != "serial" and f.rnd() < 0.45
        subtitle = f.pick(f.pools.subtitles[self.language]) if wants_subtitle else ""
        responsibility = main_name.direct if main_name is not None and f.rnd() < 0.7 else ""
        text = title.text
        subfields: list[Subfield] = []
        if subtitle:
            subfields.append(sf(("a", f"{text} :")))
            subfields.append(sf(("b", f"{subtitle}{' /' if responsibility else '.'}")))
        else:
            subfields.append(sf(("a", f"{text}{' /' if responsibility else '.'}")))
        if responsibility:
            subfields.append(sf(("c", f"{responsibility}.")))
        indicator1 = "1" if main_name is not None else "0"
        self.add("245", I_245[(indicator1, title.nonfiling)], subfields)
        self.title_text = text

    def add_publication(self) -> None:
        f = self.f
        publisher = self.publisher
        year = str(self.year)
        if self.kind == "serial":
            year = f"{self.year}-"
        modern = self.year >= 2013 or int(DAYS[self.created][:4]) >= 2016
        place, name = publisher.place, publisher.name
        # a pre-publication record's projected date (263) sorts between 260 and 264
        projected = (
            [sf(("a", f"{self.year}{f.between(1, 12):02d}"))] if self.brief_level == "8" else None
        )
        if projected is not None and modern:
            self.add("263", BLANK, projected)
        if modern:
            shown_year = f"[{year}]" if f.rnd() < 0.2 and self.kind != "serial" else year
            self.add("264", I__1, [sf(("a", f"{place} :")), sf(("b", f"{name},")),
                                    sf(("c", shown_year))])
            if self.kind == "music":
                self.add("264", I__4, [sf(("c", f"℗{self.year}"))])
            elif f.rnd() < 0.1 and self.kind != "serial":
                self.add("264", I__4, [sf(("c", f"©{self.year}"))])
        else:
            self.add("260", BLANK, [sf(("a", f"{place} :")), sf(("b", f"{name},")),
                                    sf(("c", f"{year}."))])
            if projected is not None:
                self.add("263", BLANK, projected)

    def add_300(self) -> None:
        f = self.f
        kind = self.kind
        swedish = self.cat_lang == "swe"
        if kind == "music":
            minutes = f.between(30, 79)
            extent = [sf(("a", f"1 CD-äänilevy ({minutes} min) :")), sf(("b", "digitaalinen ;")),
                      sf(("c", "12 cm"))]
        elif kind == "serial":
            extent = [sf(("a", "nidettä :" if not swedish else "volymer :")),
                      sf(("b", "kuvitettu ;" if not swedish else "illustrerad ;")),
                      sf(("c", "30 cm"))]
        elif kind == "part":
            start = f.between(1, 300)
            span = f"{start}-{start + f.between(1, 30)}"
            extent = [sf(("a", f"{'sidorna' if swedish else 'sivut'} {span}"))]
        else:
            pages = f.between(24, 640)
            unit = "sidor" if swedish else "sivua"
            if kind == "ebook":
                extent = [sf(("a", f"1 verkkoaineisto ({pages} {unit})"))]
            elif self.year < 2013:
                extent = [sf(("a", f"{pages} s. :")), sf(("b", "kuv. ;")),
                          sf(("c", f"{f.between(18, 30)} cm"))]
            else:
                extent = [sf(("a", f"{pages} {unit} ;")), sf(("c", f"{f.between(18, 30)} cm"))]
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



class RecordFactory(RecordSource):
    """Makes one record at a time from one seeded random stream."""

    # -- the record ---------------------------------------------------------------------------

    def record(self, number: int) -> Record:
        melinda_id = f"{number:09d}"
        x = self.rnd()
        kind = "book"
        for name, share in KINDS:
            if x < share:
                kind = name
                break
            x -= share
        if kind == "part" and not (self.monograph_hosts or self.serial_hosts):
            kind = "book"
        return RecordBuilder(self, melinda_id, kind).build()


def generate_records(count: int, seed: int = 1, *, start_id: int = 1) -> Iterator[Record]:
    """`count` Melinda bibliographic records with ids start_id, start_id + 1, …; the same seed
    (and start_id) always gives the same records."""
    if count < 0:
        raise ValueError("count must not be negative")
    if start_id < 1:
        raise ValueError("Melinda ids start at 1")
    factory = RecordFactory(seed)
    for number in range(start_id, start_id + count):
        yield factory.record(number)
