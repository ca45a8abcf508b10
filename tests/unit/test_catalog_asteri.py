"""Asteri over a real store: the fin11 base's own ids and change sequence, its search, the
fin01alma dates of linked headings, the linking job, the see-from rules, dangling links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pymarc
import pytest

from gateway import records, rules
from gateway.catalog import Catalog
from gateway.emulator.app import running_gateway
from gateway.errors import InvalidRecordError
from gateway.loading import prepare_marcxml
from gateway.model import View
from gateway.query import Term
from gateway.rules.fields import field_line, record_from_lines
from tests import conftest

AUT_LEADER = "00000nz  a2200000n  4500"

BOOK_LINES = (
    "008 201231s2020    fi |||||||||||||||||fin||",
    "020 __$a9789510000007",
    "100 1_$aKivi, Aleksis.$0(FIN11)000000001",
    "245 10$aSeitsemän veljestä.",
    "264 _1$aHelsinki :$bOtava,$c2020.",
    "300 __$a200 sivua.",
    "336 __$ateksti$btxt$2rdacontent",
    "337 __$akäytettävissä ilman laitetta$bn$2rdamedia",
    "338 __$anide$bnc$2rdacarrier",
)


def kivi(dates: str = "1834-1872", name: str = "Kivi, Aleksis,") -> pymarc.Record:
    return record_from_lines(
        f"100 1_$a{name}$d{dates}",
        "400 1_$aStenvall, Alexis,$d1834-1872",
        "670 __$aSeitsemän veljestä, 1870",
        leader=AUT_LEADER,
    )


def book(*link_lines: str) -> pymarc.Record:
    lines = list(BOOK_LINES)
    if link_lines:
        lines[2] = link_lines[0]
        lines[4:4] = link_lines[1:]
    return record_from_lines(*lines)


@pytest.fixture
async def catalog(store_url: str) -> AsyncIterator[Catalog]:
    catalog = await Catalog.open(store_url)
    try:
        yield catalog
    finally:
        await catalog.close()


def lines_of(xml: bytes) -> list[str]:
    return [field_line(f) for f in records.parse_marcxml(xml).fields]


async def test_authorities_have_their_own_ids_and_change_sequence(catalog: Catalog) -> None:
    bib = await catalog.create(book())
    aut = await catalog.authorities.create(kivi())
    assert (bib.id, aut.id) == (1, 1)  # two bases, two id sequences
    second = await catalog.authorities.create(record_from_lines("110 2_$aOtava", leader=AUT_LEADER))
    assert second.id == 2 and catalog.high_id == 1
    stored = await catalog.authorities.get(1, View.FIN11)
    lines = lines_of(stored.xml)
    assert "001 000000001" in lines and "003 FI-ASTERI-N" in lines
    assert any(line.startswith("CAT __$aGATEWAY") and "$lFIN11" in line for line in lines)
    bib_changes = await catalog.changes(view=View.FIN01)
    aut_changes = await catalog.authorities.changes(view=View.FIN11)
    assert [r.seq for r in bib_changes] == [1]
    assert [r.seq for r in aut_changes] == [1, 2]
    assert await catalog.authorities.record_counts() == (2, 0)
    assert await catalog.record_counts() == (1, 0)


async def test_authority_search_finds_heading_and_see_from_words(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    by_heading = await catalog.authorities.search(Term("dc.author", "kivi"))
    by_see_from = await catalog.authorities.search(Term("bath.name", "stenvall"))
    anchored = await catalog.authorities.search(Term("dc.author", "kivi aleksis", anchored=True))
    assert by_heading.ids == by_see_from.ids == anchored.ids == [1]
    assert (await catalog.search(Term("dc.author", "stenvall"))).ids == []
    in_set = await catalog.authorities.changes(set_spec="personal", view=View.FIN11)
    assert [r.id for r in in_set] == [1]
    assert await catalog.authorities.changes(set_spec="corporate", view=View.FIN11) == []


@pytest.mark.parametrize(
    "link",
    ["(FIN11)000000001", "(FI-ASTERI-N)000000001", "http://urn.fi/URN:NBN:fi:au:finaf:000000001"],
)
async def test_every_link_form_reaches_the_authority(catalog: Catalog, link: str) -> None:
    await catalog.authorities.create(kivi())
    created = await catalog.create(book(f"100 1_$aKivi, Aleksis.$0{link}"))
    found = await catalog.search(Term("melinda.asteriid", "000000001"))
    by_urn = await catalog.search(
        Term("melinda.asteriid", "http://urn.fi/URN:NBN:fi:au:finaf:000000001")
    )
    assert found.ids == by_urn.ids == [created.id]
    alma = lines_of((await catalog.get(created.id, View.FIN01ALMA)).xml)
    assert f"100 1_$aKivi, Aleksis,$d1834-1872.$0{link}" in alma


async def test_fin01alma_shows_the_authority_dates_and_update_doc_round_trips(
    catalog: Catalog,
) -> None:
    await catalog.authorities.create(kivi())
    created = await catalog.create(book())
    native = await catalog.get(created.id, View.FIN01)
    alma = await catalog.get(created.id, View.FIN01ALMA)
    assert "100 1_$aKivi, Aleksis.$0(FIN11)000000001" in lines_of(native.xml)
    assert "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001" in lines_of(alma.xml)
    # Alma sends its form back unchanged: the stored record is what it was (only CAT/005 move)
    await catalog.update(created.id, records.parse_marcxml(alma.xml))
    after = await catalog.get(created.id, View.FIN01)
    skip = ("005", "CAT")
    assert [x for x in lines_of(after.xml) if not x.startswith(skip)] == [
        x for x in lines_of(native.xml) if not x.startswith(skip)
    ]


async def test_a_heading_change_relinks_every_linked_record(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    linked = [(await catalog.create(book())).id for _ in range(3)]
    other = (await catalog.create(book("100 1_$aVirtanen, Liisa."))).id
    before = await catalog.changes(view=View.FIN01)
    last_seq = before[-1].seq
    current = records.parse_marcxml((await catalog.authorities.get(1, View.FIN11)).xml)
    current["100"]["a"] = "Kivi, Aleksis Stenvall,"
    await catalog.authorities.update(1, current)
    changed = await catalog.changes(after_seq=last_seq, view=View.FIN01)
    assert sorted(r.id for r in changed) == linked
    for stored in changed:
        lines = lines_of(stored.xml)
        assert "100 1_$aKivi, Aleksis Stenvall.$0(FIN11)000000001" in lines
        assert any(x.startswith("CAT __$aLOAD-ALINK") for x in lines)
    assert other not in {r.id for r in changed}
    assert (await catalog.search(Term("dc.author", "stenvall"))).ids == linked


async def test_new_dates_refresh_the_alma_view_without_touching_the_record(
    catalog: Catalog,
) -> None:
    await catalog.authorities.create(kivi(dates="1834-"))
    created = await catalog.create(book())
    alma = lines_of((await catalog.get(created.id, View.FIN01ALMA)).xml)
    assert "100 1_$aKivi, Aleksis,$d1834-$0(FIN11)000000001" in alma  # open dates: no period
    native = await catalog.get(created.id, View.FIN01)
    current = records.parse_marcxml((await catalog.authorities.get(1, View.FIN11)).xml)
    current["100"]["d"] = "1834-1872"
    await catalog.authorities.update(1, current)
    alma = lines_of((await catalog.get(created.id, View.FIN01ALMA)).xml)
    assert "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001" in alma
    after = await catalog.get(created.id, View.FIN01)
    assert after.xml == native.xml and after.seq > native.seq


async def test_an_update_that_breaks_a_see_from_chain_is_refused(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    other = record_from_lines(
        "100 1_$aLönnrot, Elias,$d1802-1884",
        "400 1_$aKivi, Aleksis,$d1834-1872",
        leader=AUT_LEADER,
    )
    with pytest.raises(InvalidRecordError, match=r"see-from chain would break.*000000001"):
        await catalog.authorities.create(other)
    second = await catalog.authorities.create(
        record_from_lines("100 1_$aKivi, Alma,$d1900-1950", leader=AUT_LEADER)
    )
    current = records.parse_marcxml((await catalog.authorities.get(second.id, View.FIN11)).xml)
    current["100"]["a"] = "Stenvall, Alexis,"  # authority 1's see-from form
    current["100"]["d"] = "1834-1872"
    with pytest.raises(InvalidRecordError, match="is a see-from form of authority 000000001"):
        await catalog.authorities.update(second.id, current)
    unchanged = await catalog.authorities.get(second.id, View.FIN11)
    assert "100 1_$aKivi, Alma,$d1900-1950" in lines_of(unchanged.xml)


async def test_not_an_authority_is_refused(catalog: Catalog) -> None:
    with pytest.raises(InvalidRecordError, match="Leader/06 z"):
        await catalog.authorities.create(record_from_lines("100 1_$aKivi, Aleksis"))


async def test_check_links_reports_dangling_links_and_keeps_them(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    good = await catalog.create(book())
    dangling = await catalog.create(book("100 1_$aNobody.$0(FI-ASTERI-N)000000099"))
    found = await catalog.check_links()
    assert [(d.record_id, d.asteri_id) for d in found] == [(dangling.id, 99)]
    kept = lines_of((await catalog.get(dangling.id, View.FIN01)).xml)
    assert "100 1_$aNobody.$0(FI-ASTERI-N)000000099" in kept
    assert good.id not in {d.record_id for d in found}
    assert rules.asteri.linked_ids(records.parse_marcxml((await catalog.get(good.id)).xml)) == {1}


async def test_a_bulk_load_after_the_authorities_shows_their_dates(catalog: Catalog) -> None:
    await catalog.authorities.load([kivi()])
    as_given = book()
    as_given.add_ordered_field(pymarc.Field(tag="001", data="000000005"))
    prepared = prepare_marcxml(records.record_to_marcxml(as_given))
    assert prepared is not None  # the store's form: prepared without pymarc, as a load does
    plain = book("700 1_$aKivi, Aleksis,$ekirjoittaja.$0(FI-ASTERI-N)000000001")
    await catalog.load([prepared, plain])
    first = lines_of((await catalog.get(5, View.FIN01ALMA)).xml)
    second = lines_of((await catalog.get(6, View.FIN01ALMA)).xml)
    assert "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001" in first
    assert "700 1_$aKivi, Aleksis,$d1834-1872,$ekirjoittaja.$0(FI-ASTERI-N)000000001" in second
    assert (await catalog.search(Term("melinda.asteriid", "1"))).ids == [5, 6]


async def test_the_demo_loads_the_authorities_its_records_link_to(catalog: Catalog) -> None:
    from gateway.emulator.demo import load_demo
    from gateway.emulator.generator import generate_authorities, generate_records
    from gateway.emulator.generator.asteri import LINK_FORMS, all_authority_ids

    await load_demo(catalog, count=600, seed=3)
    links = [
        sf.value
        for record in generate_records(600, 3)
        for field in record.get_fields("100", "600", "610")
        for sf in field.subfields
        if sf.code == "0"
    ]
    # every form occurs, and every link has its authority
    prefixes = {form.split("{")[0] for form in LINK_FORMS}
    assert {p for p in prefixes if any(link.startswith(p) for link in links)} == prefixes
    assert await catalog.check_links() == []
    live, _ = await catalog.authorities.record_counts()
    linked = set().union(*(rules.asteri.linked_ids(r) for r in generate_records(600, 3)))
    assert live == len(all_authority_ids()) and linked <= set(all_authority_ids())
    main_links = [
        link
        for record in generate_records(600, 3)
        for link in record.get_fields("100")
        if "0" in link and "d" not in link
    ]
    assert main_links
    linked_id = rules.asteri.linked_ids(record_from_lines(field_line(main_links[0])))
    (person,) = generate_authorities(linked_id)
    assert str(person.leader)[6] == "z" and person["100"]["d"]
    # a linked main entry without $d shows its authority's dates in fin01alma
    found = await catalog.search(Term("melinda.asteriid", person["001"].data))
    assert found.ids
    for record_id in found.ids[:3]:
        alma = records.parse_marcxml((await catalog.get(record_id, View.FIN01ALMA)).xml)
        dates = [
            sf.value for f in alma.get_fields("100", "600") for sf in f.subfields if sf.code == "d"
        ]
        assert dates and dates[0].rstrip(".,") == person["100"]["d"]


async def test_a_deleted_authority_leaves_a_dangling_link_without_dates(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    created = await catalog.create(book())
    await catalog.authorities.delete(1)
    alma = lines_of((await catalog.get(created.id, View.FIN01ALMA)).xml)
    assert "100 1_$aKivi, Aleksis.$0(FIN11)000000001" in alma
    assert [(d.record_id, d.asteri_id) for d in await catalog.check_links()] == [(created.id, 1)]
    assert (await catalog.authorities.search(Term("dc.author", "kivi"))).ids == []


async def test_a_merged_record_keeps_the_authority_dates_in_fin01alma(catalog: Catalog) -> None:
    from gateway.catalog import SYSTEM_USER

    await catalog.authorities.create(kivi())
    kept = await catalog.create(book())

    def combine(
        stored: pymarc.Record, _other: pymarc.Record | None
    ) -> tuple[pymarc.Record, pymarc.Record | None]:
        stored.add_ordered_field(
            pymarc.Field(
                tag="500",
                indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield("a", "Yhdistetty.")],
            )
        )
        return stored, None

    await catalog.save_merge(kept.id, None, combine, user=SYSTEM_USER)
    alma = lines_of((await catalog.get(kept.id, View.FIN01ALMA)).xml)
    assert "500 __$aYhdistetty." in alma
    assert "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001" in alma


async def test_an_alma_form_update_reads_the_linked_authorities_once(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dates come off the headings and go into the new fin01alma view: one read of the
    authorities when the edit adds no link, a second only for a new link."""
    await catalog.authorities.create(kivi())
    await catalog.authorities.create(kivi("1900-1950", "Toinen, Tekijä,"))
    created = await catalog.create(book())
    reads: list[list[int]] = []
    asteri = catalog.asteri_store
    assert asteri is not None
    real = asteri.fetch

    async def counted(ids: list[int], view: View, *, iso2709: bool = False) -> list[Any]:
        reads.append(list(ids))
        return await real(ids, view, iso2709=iso2709)

    monkeypatch.setattr(asteri, "fetch", counted)
    alma = records.parse_marcxml((await catalog.get(created.id, View.FIN01ALMA)).xml)
    alma.add_ordered_field(
        pymarc.Field(
            tag="500",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", "Huomautus.")],
        )
    )
    await catalog.update(created.id, alma)
    assert reads == [[1]]
    saved = await catalog.get(created.id, View.FIN01ALMA)
    assert "100 1_$aKivi, Aleksis,$d1834-1872.$0(FIN11)000000001" in lines_of(saved.xml)
    # a new link: its authority is read too
    reads.clear()
    alma = records.parse_marcxml(saved.xml)
    alma.add_ordered_field(
        pymarc.Field(
            tag="700",
            indicators=pymarc.Indicators("1", " "),
            subfields=[
                pymarc.Subfield("a", "Toinen, Tekijä."),
                pymarc.Subfield("0", "(FIN11)000000002"),
            ],
        )
    )
    await catalog.update(created.id, alma)
    assert reads == [[1], [1, 2]]
    saved = await catalog.get(created.id, View.FIN01ALMA)
    assert any(
        line.startswith("700 1_$aToinen, Tekijä,$d1900-1950") for line in lines_of(saved.xml)
    )


LINKED = 1500  # three of the linking job's transactions


async def _cut_short_heading_change(catalog: Catalog) -> list[int]:
    """Kivi's heading changed, its linking job stopped mid-way (as by a stop or a crash, after
    the authority's save committed); returns the ids of the linked records."""
    await catalog.authorities.create(kivi())
    report = await catalog.load([book() for _ in range(LINKED)])
    assert report.loaded == LINKED
    linked = (await catalog.search(Term("melinda.asteriid", "000000001"))).ids
    assert len(linked) == LINKED
    current = records.parse_marcxml((await catalog.authorities.get(1, View.FIN11)).xml)
    current["100"]["a"] = "Kivi, Aleksis Stenvall,"
    update = asyncio.create_task(catalog.authorities.update(1, current))
    while not await catalog.store.pending_relinks():
        if update.done():
            pytest.fail("the authority's save left no linking job due")
        await asyncio.sleep(0)
    update.cancel()
    await asyncio.gather(update, return_exceptions=True)
    return linked


async def test_a_linking_job_cut_short_stays_due_and_is_finished_later(catalog: Catalog) -> None:
    linked = await _cut_short_heading_change(catalog)
    following = (await catalog.search(Term("dc.author", "stenvall"))).ids
    assert len(following) < LINKED  # the job did not get to the end
    assert [a for a, _ in await catalog.store.pending_relinks()] == [1]
    assert await catalog.authorities.resume_relinks() == 1
    assert (await catalog.search(Term("dc.author", "stenvall"))).ids == linked
    assert await catalog.store.pending_relinks() == []
    assert await catalog.authorities.resume_relinks() == 0


async def test_a_finished_linking_job_is_not_due_again(catalog: Catalog) -> None:
    await catalog.authorities.create(kivi())
    await catalog.create(book())
    current = records.parse_marcxml((await catalog.authorities.get(1, View.FIN11)).xml)
    current["100"]["d"] = "1834-1873"
    await catalog.authorities.update(1, current)
    await catalog.authorities.delete(1)
    assert await catalog.store.pending_relinks() == []


async def test_a_gateway_finishes_the_linking_jobs_left_when_it_starts(
    store_url: str, tmp_path: Path
) -> None:
    catalog = await Catalog.open(store_url)
    try:
        linked = await _cut_short_heading_change(catalog)
    finally:
        await catalog.close()
    settings = conftest.test_settings(tmp_path / "data", store_url=store_url)
    async with running_gateway(settings) as gateway:
        for _ in range(600):
            following = (await gateway.catalog.search(Term("dc.author", "stenvall"))).ids
            if following == linked:
                break
            await asyncio.sleep(0.05)
        assert following == linked
        for _ in range(100):  # the job is struck off once it has ended
            if not await gateway.catalog.store.pending_relinks():
                break
            await asyncio.sleep(0.05)
        assert await gateway.catalog.store.pending_relinks() == []
