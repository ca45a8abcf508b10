"""The generator's word lists and tables: names, titles, publishers, subjects, classes, notes
and the 008 shapes, in Finnish and Swedish (as catalogued in Finland) and some other languages."""

from __future__ import annotations

from typing import NamedTuple

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

FI_ADJ = (
    "Pitkä", "Hiljainen", "Pimeä", "Valoisa", "Vanha", "Uusi", "Kaunis", "Sininen", "Punainen",
    "Kadonnut", "Viimeinen", "Ensimmäinen", "Suomalainen", "Pohjoinen", "Outo", "Yksinäinen",
    "Kylmä", "Lämmin", "Salainen", "Unohdettu",
)
FI_NOUN = (
    "metsä", "järvi", "kesä", "talvi", "sota", "rakkaus", "elämä", "kaupunki", "meri", "saari",
    "historia", "tarina", "matka", "koti", "sydän", "yö", "päivä", "lapsuus", "kieli", "kirja",
    "laulu", "tie", "valo", "varjo", "tuuli", "lumi", "kivi", "joki", "ääni", "perintö", "äiti",
    "kylä", "ystävä", "kirje", "puutarha", "tähti", "silta", "muisti", "raja", "unelma",
)
FI_GEN = (
    "Metsän", "Järven", "Kesän", "Talven", "Sodan", "Rakkauden", "Elämän", "Kaupungin", "Meren",
    "Saaren", "Lapsuuden", "Kielen", "Tuulen", "Lumen", "Joen", "Kylän", "Äidin", "Tähtien",
    "Suomen", "Karjalan", "Lapin", "Pohjolan", "Hämeen", "Ahvenanmaan",
)
FI_TOPIC = (
    "filosofia", "historia", "taloustiede", "kasvatus", "psykologia", "tietotekniikka", "biologia",
    "sosiologia", "kielitiede", "arkkitehtuuri", "musiikki", "oikeustiede", "lääketiede",
    "ympäristö", "politiikka", "uskonto", "kirjallisuus", "matematiikka",
)
SV_ADJ = (
    "långa", "tysta", "mörka", "gamla", "nya", "vackra", "blå", "röda", "sista", "första",
    "finländska", "förlorade", "hemliga", "glömda", "kalla", "varma",
)
SV_NOUN = (
    "skog", "sjö", "sommar", "vinter", "krig", "kärlek", "liv", "stad", "hav", "ö", "historia",
    "berättelse", "resa", "hem", "hjärta", "natt", "dag", "barndom", "språk", "bok", "sång", "väg",
    "ljus", "skugga", "vind", "snö", "sten", "älv", "röst", "trädgård", "bro", "stjärna", "gräns",
)
SV_GEN = (
    "Skogens", "Sjöns", "Sommarens", "Vinterns", "Krigets", "Kärlekens", "Livets", "Stadens",
    "Havets", "Öns", "Barndomens", "Språkets", "Vindens", "Snöns", "Älvens", "Finlands",
    "Österbottens", "Ålands", "Nylands",
)
EN_ADJ = (
    "long", "silent", "dark", "old", "new", "beautiful", "blue", "red", "last", "first", "Finnish",
    "northern", "lost", "secret", "forgotten", "cold", "hidden", "endless",
)
EN_NOUN = (
    "forest", "lake", "summer", "winter", "war", "love", "life", "city", "sea", "island", "history",
    "story", "journey", "home", "heart", "night", "day", "childhood", "language", "book", "song",
    "road", "light", "shadow", "wind", "snow", "stone", "river", "voice", "garden", "bridge",
    "star", "border", "dream",
)
DE_TITLE_HEADS = ("Die Geschichte", "Das Leben", "Der Weg", "Die Kunst", "Das Land", "Der Traum")
DE_TITLE_TAILS = (
    "des Nordens", "der Wälder", "der Seen", "der Stille", "der Musik", "der Erinnerung",
    "in Finnland", "über Grenzen hinweg",
)
FR_TITLE_HEADS = ("L'histoire", "La vie", "Le chemin", "L'été", "La mémoire", "Les forêts")
FR_TITLE_TAILS = (
    "du Nord", "des lacs", "de la musique", "en Finlande", "d'un été", "à Helsinki", "sans fin",
)

FI_SUBTITLE = (
    "romaani", "novelleja", "runoja", "tietokirja", "muistelmat", "esseitä", "opas", "käsikirja",
    "tutkimus {topic_gen}", "johdatus aiheeseen", "kertomuksia vuosien varrelta",
    "valokuvia ja tarinoita", "elämäkerta", "historiikki", "oppikirja lukiolaisille",
)
FI_TOPIC_GEN = (
    "suomalaisesta yhteiskunnasta", "metsien käytöstä", "kielten oppimisesta",
    "kaupunkien kehityksestä", "musiikin historiasta", "ilmastonmuutoksesta", "lapsuudesta",
)
SV_SUBTITLE = (
    "roman", "noveller", "dikter", "essäer", "memoarer", "en handbok", "en studie",
    "berättelser från förr", "en biografi", "historik", "lärobok för gymnasiet",
)
EN_SUBTITLE = (
    "a novel", "stories", "poems", "essays", "a memoir", "a handbook", "an introduction",
    "a history", "a biography", "new perspectives", "theory and practice",
)
DE_SUBTITLE = ("Roman", "Erzählungen", "Gedichte", "eine Einführung", "Studien")
FR_SUBTITLE = ("roman", "nouvelles", "poèmes", "essai", "une introduction")

# Languages: MARC code, share, the cataloguing language used for relators/RDA terms.
LANGUAGES: tuple[tuple[str, float], ...] = (
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


PUBLISHERS: dict[str, tuple[Publisher, ...]] = {
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
MUSIC_LABELS = (
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
MUSIC_LABEL_CODES = ("WMF", "UMF", "SMEF", "ODE", "TEXCD", "SVR", "JHNCD", "BIS-CD", "ABCD")

# RDA content/media/carrier terms as Melinda records carry them, per cataloguing language.
RDA_TERMS = {
    ("fin", "print"): (("teksti", "txt"), ("käytettävissä ilman laitetta", "n"), ("nide", "nc")),
    ("swe", "print"): (("text", "txt"), ("omedierad", "n"), ("volym", "nc")),
    ("fin", "online"): (("teksti", "txt"), ("tietokonekäyttöinen", "c"), ("verkkoaineisto", "cr")),
    ("swe", "online"): (("text", "txt"), ("dator", "c"), ("onlineresurs", "cr")),
    ("fin", "audio"): (("esitetty musiikki", "prm"), ("audio", "s"), ("äänilevy", "sd")),
    ("swe", "audio"): (("framförd musik", "prm"), ("audio", "s"), ("ljudskiva", "sd")),
}
RELATORS = {
    "fin": ("kirjoittaja", "kuvittaja", "kääntäjä", "toimittaja", "säveltäjä", "esittäjä"),
    "swe": ("författare", "illustratör", "översättare", "redaktör", "kompositör", "artist"),
}
BINDINGS = {
    "fin": ("nidottu", "sidottu", "kovakantinen", "pehmeäkantinen"),
    "swe": ("inb.", "hft.", "mjuka pärmar"),
}

# Melinda's member libraries: LOW code, SID $b code, prefix of the local id. Aurora (Axiell)
# consortia prefix SID $c with their database id, as the fixtures show: (ANDL100013)1504442.
LIBRARIES: tuple[tuple[str, str, str], ...] = (
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
LIBRARY_INDEX = {code: (n, sid, prefix) for n, (code, sid, prefix) in enumerate(LIBRARIES)}
# Library ISIL codes for 040 $a of records catalogued outside the national library.
CATALOGUING_AGENCIES = ("FI-Hy", "FI-Jy", "FI-Ou", "FI-Tampere", "FI-BTJ", "FI-KV", "FI-Uef")

GENERIC_CAT_USERS = ("LOAD-FIX", "LOAD-YSO", "CONV-RDA", "MINTTU", "LOAD-ALINK", "KVP-FENNI")


class Concept(NamedTuple):
    """A YSO concept with its Finnish and Swedish labels."""

    fin: str
    swe: str
    uri: str


def _yso(fin: str, swe: str, number: int) -> Concept:
    return Concept(fin, swe, f"http://www.yso.fi/onto/yso/p{number}")


YSO_CONCEPTS = (
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
YSO_PLACES = (
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
ASTERI_TOPICS = (
    "Tietojenkäsittely", "Kotiseutuhistoria", "Paikallishistoria", "Sukututkimus", "Kansanrunous",
    "Yhdistykset", "Järjestöhistoria", "Kuntahistoria",
)
GENRES_FICTION = (
    ("romaanit", "romaner", "s518"),
    ("kaunokirjallisuus", "skönlitteratur", "s975"),
    ("fantasiakirjallisuus", "fantasylitteratur", "s1140"),
    ("psykologiset romaanit", "psykologiska romaner", "s604"),
    ("novellit", "noveller", "s584"),
    ("runot", "dikter", "s727"),
)
GENRES_MUSIC = (
    ("populaarimusiikki", "populärmusik", "s1218"),
    ("maailmanmusiikki", "världsmusik", "s1188"),
    ("perinnemusiikki", "traditionell musik", "s662"),
    ("rock", "rock", "s1307"),
    ("jazz", "jazz", "s1057"),
    ("taidemusiikki", "konstmusik", "s1398"),
)

# Classification: YKL (Finnish public library classification) and UDC.
YKL_NONFICTION = (
    "10.1", "17.3", "17.5", "27.1", "30.1", "32.2", "33.1", "36.1", "38.1", "50.1", "54.1",
    "59.1", "61.1", "67.1", "67.501", "70.1", "77.1", "79.3", "90.1", "92.7", "99.1",
)
YKL_FICTION = {"fin": "84.2", "swe": "84.31", "eng": "84.5", "ger": "84.5", "fre": "84.5"}
YKL_MUSIC = ("78.891", "78.8911", "78.852", "78.3411", "78.611", "78.897")
UDC_NONFICTION = (
    "1", "101.1", "30", "316", "37", "502/504", "630", "65.012.2", "004", "94(480)", "339.137",
    "61", "7.03", "27", "52", "51",
)
UDC_FICTION = {
    "fin": "821.511.111-3", "swe": "821.113.5-3", "eng": "821.111-3", "ger": "821.112.2-3",
    "fre": "821.133.1-3",
}

SERIES: tuple[tuple[str, str], ...] = (
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
SERIAL_TITLES = {
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
SERIAL_TOPICS = {
    "fin": (
        "Kasvatustieteen", "Taloustieteen", "Kirjastotieteen", "Ympäristötieteen", "Kielitieteen",
        "Teologian", "Musiikkitieteen", "Sosiaalipolitiikan", "Maantieteen", "Historiatieteen",
    ),
    "swe": ("pedagogik", "ekonomi", "miljövetenskap", "teologi", "musikvetenskap", "geografi"),
    "eng": ("education", "economics", "environmental studies", "theology", "musicology"),
}
FREQUENCIES = (
    ("q", "4 kertaa vuodessa"), ("m", "Kuukausittain"), ("b", "6 kertaa vuodessa"),
    ("a", "Kerran vuodessa"), ("w", "Viikoittain"), ("f", "2 kertaa vuodessa"),
)

NOTES = {
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
EDITIONS = {
    "fin": ("2. painos.", "3., uudistettu painos.", "Uusi laitos.", "1. painos."),
    "swe": ("Andra upplagan.", "Ny upplaga.", "Tredje reviderade upplagan."),
    "eng": ("Second edition.", "Revised edition.", "Illustrated hardback edition."),
    "ger": ("2. Auflage.",),
    "fre": ("2e édition.",),
}
SUMMARY_SENTENCES = {
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
LANGUAGE_NOTES = {
    "fin": "suomi.", "swe": "svenska.", "eng": "englanti.", "ger": "saksa.", "fre": "ranska.",
}
LOCAL_NOTES = (
    "Kaukolainakappale.", "Lahjoitus.", "Varastokappale.", "Käsikirjasto.", "Tilattu.",
    "Ei lainata kotiin.",
)

# 008/18-34 (17 characters) per material, in the shapes Melinda's records show.
BOOK_008 = (
    "    " + " " + " " + "    " + " " + "000" + " " + "1" + " ",  # fiction
    "a   " + " " + " " + "b   " + " " + "001" + " " + "0" + " ",  # illustrated non-fiction
    "    " + " " + " " + "    " + " " + "000" + " " + "0" + " ",
    "|" * 17,  # converted records, unspecified
)
EBOOK_008 = "    " + " " + "o" + "    " + " " + "000" + " " + "0" + " "
MUSIC_008 = ("pp" + "n" + " " + " " + " " + "      " + "  " + " " + "n" + " ",
              "rc" + "n" + " " + " " + " " + "      " + "  " + " " + "n" + " ")
# 008/24-34 of a serial, after frequency, regularity, type and form of item
SERIAL_008_TAIL = " " + "   " + " " + "0" + "   " + " " + "0"


def _check_lengths() -> None:
    for value in (*BOOK_008, EBOOK_008, *MUSIC_008, f"qr p  {SERIAL_008_TAIL}"):
        if len(value) != 17:
            raise AssertionError(f"008/18-34 template {value!r} is not 17 characters")


_check_lengths()
