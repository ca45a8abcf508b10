"""The catalog over a real store: ids, writes, the write rules' wiring, LOWs, changes, users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pymarc
import pytest

import gateway.catalog.libraries
from gateway import records, rules
from gateway.catalog import Catalog, SortKey, old_entry, prepare_write
from gateway.emulator.generator import generate_records
from gateway.errors import (
    AuthenticationError,
    CatConflictError,
    InvalidRecordError,
    LowsRemainError,
    OwnAuthorizationError,
    RecordNotFoundError,
    StaleRecordError,
)
from gateway.model import User, View
from gateway.query import AllRecords, Term, Truncation

SF = pymarc.Subfield
IND = pymarc.Indicators


def book(
    title: str, *, low: str | None = None, extra: list[pymarc.Field] | None = None
) -> pymarc.Record:
    """The smallest full record that validates as new."""
    fields = [
        pymarc.Field(tag="008", data="201231s2020    fi |||||||||||||||||fin||"),
        pymarc.Field(tag="020", indicators=IND(" ", " "), subfields=[SF("a", "9789510000007")]),
        pymarc.Field(tag="100", indicators=IND("1", " "), subfields=[SF("a", "Virtanen, Liisa.")]),
        pymarc.Field(tag="245", indicators=IND("1", "0"), subfields=[SF("a", title)]),
        pymarc.Field(
            tag="264",
            indicators=IND(" ", "1"),
            subfields=[SF("a", "Helsinki :"), SF("b", "Otava,"), SF("c", "2020.")],
        ),
        pymarc.Field(tag="300", indicators=IND(" ", " "), subfields=[SF("a", "200 sivua.")]),
        pymarc.Field(
            tag="336",
            indicators=IND(" ", " "),
            subfields=[SF("a", "teksti"), SF("b", "txt"), SF("2", "rdacontent")],
        ),
        pymarc.Field(
            tag="337",
            indicators=IND(" ", " "),
            subfields=[SF("a", "käytettävissä ilman laitetta"), SF("b", "n"), SF("2", "rdamedia")],
        ),
        pymarc.Field(
            tag="338",
            indicators=IND(" ", " "),
            subfields=[SF("a", "nide"), SF("b", "nc"), SF("2", "rdacarrier")],
        ),
        *(extra or []),
    ]
    if low:
        fields.append(pymarc.Field(tag="LOW", indicators=IND(" ", " "), subfields=[SF("a", low)]))
    return records.new_record("00000cam a2200000 i 4500", fields)


HELKA = User("HELKA", "HELKA", 30, frozenset({"HELKA"}))
TAMK = User("TAMK", "TAMK", 30, frozenset({"TAMK"}))


@pytest.fixture
async def catalog(store_url: str) -> AsyncIterator[Catalog]:
    catalog = await Catalog.open(store_url)
    await catalog.add_library("HELKA", password="helka-pw", sid_code="helka")
    await catalog.add_library("TAMK", password="tamk-pw", sid_code="tamk")
    try:
        yield catalog
    finally:
        await catalog.close()


async def test_create_assigns_ids_that_are_never_reused(catalog: Catalog, store_url: str) -> None:
    first = await catalog.create(book("Yksi."), user=HELKA)
    second = await catalog.create(book("Yksi."), user=HELKA)  # no duplicate control
    assert (first.id, second.id) == (1, 2)
    stored = (await catalog.get(second.id)).record()
    assert stored["001"].data == "000000002"
    assert stored["003"].data == "FI-MELINDA"
    assert [f.value() for f in stored.get_fields("035")] == ["(FI-MELINDA)000000002"]
    await catalog.close()
    reopened = await Catalog.open(store_url)
    try:
        third = await reopened.create(book("Kolme."), user=HELKA)
        assert third.id == 3
    finally:
        await reopened.close()
    catalog.store = reopened.store  # the fixture closes this one again harmlessly


async def test_save_appends_cat_and_orders_low_last(catalog: Catalog) -> None:
    result = await catalog.create(book("Tilaus.", low="HELKA"), user=HELKA)
    tags = [f.tag for f in (await catalog.get(result.id)).record().fields]
    assert tags[-2:] == ["CAT", "LOW"]
    cat = (await catalog.get(result.id)).record().get_fields("CAT")[-1]
    assert cat.get_subfields("a") == ["HELKA"] and cat.get_subfields("l") == ["FIN01"]


async def test_invalid_record_is_refused_and_nothing_saved(catalog: Catalog) -> None:
    record = book("X")
    record.remove_fields("245")
    with pytest.raises(InvalidRecordError) as caught:
        await catalog.create(record, user=HELKA)
    assert any(p.tag == "245" for p in caught.value.problems)
    assert await catalog.record_counts() == (0, 0)


async def test_adding_another_librarys_low_is_refused(catalog: Catalog) -> None:
    with pytest.raises(OwnAuthorizationError, match="TAMK"):
        await catalog.create(book("Vieras.", low="TAMK"), user=HELKA)


async def test_update_keeps_protected_fields_of_other_libraries(catalog: Catalog) -> None:
    fenni_note = pymarc.Field(
        tag="500", indicators=IND(" ", " "), subfields=[SF("a", "Huom."), SF("5", "FENNI")]
    )
    created = await catalog.create(book("Suojattu.", low="HELKA", extra=[fenni_note]), user=None)
    incoming = (await catalog.get(created.id)).record()
    incoming.remove_fields("500")
    await catalog.update(created.id, incoming, user=HELKA)
    assert [
        f.get_subfields("5") for f in (await catalog.get(created.id)).record().get_fields("500")
    ] == [["FENNI"]]


async def test_stale_alma_copy_is_refused(catalog: Catalog) -> None:
    created = await catalog.create(book("Vanha."), user=HELKA)
    alma_copy = (await catalog.get(created.id, View.FIN01ALMA)).record()
    await asyncio.sleep(1.05)  # datestamps have second granularity, as Aleph's
    fresh = (await catalog.get(created.id)).record()
    await catalog.update(created.id, fresh, user=HELKA)
    with pytest.raises(StaleRecordError):
        await catalog.update(created.id, alma_copy, user=HELKA)


async def test_two_updates_from_the_same_read_exactly_one_lands(catalog: Catalog) -> None:
    created = await catalog.create(book("Kilpa."), user=HELKA)
    base = (await catalog.get(created.id)).record()

    async def edit(title: str, user: User) -> str:
        record = records.parse_marcxml(records.record_to_marcxml(base))
        record["245"]["a"] = title
        try:
            await catalog.update(created.id, record, user=user)
        except (StaleRecordError, CatConflictError):
            return "refused"
        return "saved"

    outcomes = await asyncio.gather(edit("Ensimmäinen.", HELKA), edit("Toinen.", TAMK))
    assert sorted(outcomes) == ["refused", "saved"]
    title = (await catalog.get(created.id)).record()["245"]["a"]
    assert title == ("Ensimmäinen." if outcomes[0] == "saved" else "Toinen.")


async def test_two_alma_copies_from_the_same_read_within_a_second_exactly_one_lands(
    catalog: Catalog,
) -> None:
    created = await catalog.create(book("Alma-kilpa."), user=HELKA)
    base = records.record_to_marcxml((await catalog.get(created.id, View.FIN01ALMA)).record())

    async def edit(title: str) -> str:
        record = records.parse_marcxml(base)  # Alma copies carry no CAT: only the 024 guards
        record["245"]["a"] = title
        try:
            await catalog.update(created.id, record, user=HELKA)
        except StaleRecordError:
            return "refused"
        return "saved"

    outcomes = await asyncio.gather(edit("Yksi."), edit("Kaksi."))
    assert sorted(outcomes) == ["refused", "saved"]


async def test_updates_without_staleness_marks_both_land_each_on_the_other(
    catalog: Catalog,
) -> None:
    # No CAT and no 024: nothing makes the copies stale, so both save, and the one that
    # saves second (prepared on a row that changed meanwhile) is redone on the new row.
    created = await catalog.create(book("Ilman merkkejä."), user=HELKA)

    async def edit(note: str) -> None:
        record = book("Ilman merkkejä.")
        record.add_ordered_field(
            pymarc.Field(tag="500", indicators=IND(" ", " "), subfields=[SF("a", note)])
        )
        await catalog.update(created.id, record, user=HELKA)

    await asyncio.gather(edit("Yksi."), edit("Kaksi."))
    stored = (await catalog.get(created.id)).record()
    assert len(stored.get_fields("CAT")) == 3  # the create's and one for each update
    seqs = [c.seq for c in await catalog.changes()]
    assert len(seqs) == 1 and seqs[0] == 3


async def test_an_update_queued_behind_a_later_datestamp_is_saved_after_it(
    catalog: Catalog,
) -> None:
    first = await catalog.create(book("Ensin."), user=HELKA)
    second = await catalog.create(book("Toiseksi."), user=HELKA)
    copy = (await catalog.get(first.id)).record()
    async with catalog.store.transaction() as txn:  # the write lock is taken: the update queues
        update = asyncio.create_task(catalog.update(first.id, copy, user=HELKA))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(catalog.store._write_lock._waiters or ()) == 1:
                break
        later = catalog._now() + 5  # a save stamped after the queued update's stamp
        row = await txn.get_row(second.id)
        assert row is not None
        record = records.parse_marcxml(row.xml)
        old = old_entry(row, record)
        await txn.save(
            [prepare_write(record, second.id, later, later)], {second.id: old} if old else {}
        )
    await update
    stamps = [(c.seq, c.datestamp) for c in await catalog.changes()]
    assert [stamp for _, stamp in sorted(stamps)] == sorted(stamp for _, stamp in stamps)
    assert (await catalog.get(first.id)).datestamp >= later


async def test_delete_is_refused_while_lows_remain_then_soft_deletes(catalog: Catalog) -> None:
    created = await catalog.create(book("Poisto.", low="HELKA"), user=HELKA)
    with pytest.raises(LowsRemainError, match="HELKA"):
        await catalog.delete(created.id, user=HELKA)
    assert await catalog.remove_low(created.id, "HELKA", user=HELKA)
    await catalog.delete(created.id, user=HELKA)
    stored = await catalog.get(created.id)
    assert stored.deleted and records.is_deleted(stored.record())
    assert (await catalog.search(Term("dc.title", "poisto"))).ids == []
    assert await catalog.record_counts() == (0, 1)


async def test_search_sees_writes_and_sorts(catalog: Catalog) -> None:
    for title in ("Beta.", "Alfa.", "Gamma."):
        await catalog.create(book(title), user=HELKA)
    found = await catalog.search(AllRecords(), sort=[SortKey("dc.title")])
    titles = [(await catalog.get(i)).record()["245"]["a"] for i in found.ids]
    assert titles == ["Alfa.", "Beta.", "Gamma."]
    assert (await catalog.search(Term("dc.title", "gam", truncation=Truncation.RIGHT))).total == 1


async def test_search_page_reads_the_ids_and_the_records_of_one_page(catalog: Catalog) -> None:
    for title in ("Kirja beta.", "Kirja alfa.", "Kirja gamma.", "Kirja delta."):
        await catalog.create(book(title), user=HELKA)
    # one term, capped below the hits: the first ids, the full count, records 2..3 of them
    found, page = await catalog.search_page(Term("dc.title", "kirja"), cap=3, start=2, count=2)
    assert (found.ids, found.total) == ([1, 2, 3], 4)
    assert [record.id for record in page] == [2, 3]
    assert page[0].record()["245"]["a"] == "Kirja alfa."
    # sorted, in the alma view, a page running past the window: only what the window holds
    found, page = await catalog.search_page(
        AllRecords(), sort=[SortKey("dc.title")], cap=3, start=3, count=5, view=View.FIN01ALMA
    )
    assert (found.ids, found.total) == ([2, 1, 4], 4)
    assert [(record.id, record.view) for record in page] == [(4, View.FIN01ALMA)]
    # no records asked for: none read
    found, page = await catalog.search_page(Term("dc.title", "kirja"), cap=10, count=0)
    assert (found.total, page) == (4, [])


async def test_changes_page_by_seq_and_a_changed_record_comes_again(catalog: Catalog) -> None:
    await catalog.load(list(generate_records(30, 5)))
    first = await catalog.changes(limit=10)
    assert [r.seq for r in first] == sorted(r.seq for r in first)
    rest_before = await catalog.changes(after_seq=first[-1].seq, limit=100)
    touched = first[0].id
    await catalog.update(touched, (await catalog.get(touched)).record(), user=None)
    rest_after = await catalog.changes(after_seq=first[-1].seq, limit=100)
    assert touched not in {r.id for r in rest_before}
    assert rest_after[-1].id == touched


async def test_publish_lows_is_one_transaction_idempotent_and_guards_full_files(
    catalog: Catalog,
) -> None:
    await catalog.load(list(generate_records(20, 9)))
    await catalog.add_library("KOE", sid_code="koe")  # a code the generator never uses
    ids = (await catalog.search(AllRecords())).ids[:10]
    first = await catalog.publish_lows("KOE", [(i, f"99{i}") for i in ids], [], full=False)
    assert sorted(first.added) == sorted(ids)
    again = await catalog.publish_lows("KOE", [(i, f"99{i}") for i in ids], [], full=False)
    assert again.added == [] and sorted(again.unchanged) == sorted(ids)
    stored = (await catalog.get(ids[0])).record()
    assert "KOE" in records.lows(stored) and (f"99{ids[0]}", "koe") in records.sids(stored)
    held = await catalog.publish_lows("KOE", [(i, f"99{i}") for i in ids[:5]], [], full=True)
    assert held.held and "50 %" in held.held_reason
    assert len((await catalog.search(Term("melinda.low", "KOE"))).ids) == 10
    unknown = await catalog.publish_lows("KOE", [(999999, "1")], [ids[0]], full=False)
    assert unknown.unknown == [999999] and unknown.removed == [ids[0]]
    assert "KOE" not in records.lows((await catalog.get(ids[0])).record())


async def test_publish_lows_with_a_file_key_applies_a_file_once(catalog: Catalog) -> None:
    await catalog.load(list(generate_records(10, 4)))
    await catalog.add_library("KOE", sid_code="koe")
    ids = (await catalog.search(AllRecords())).ids[:4]
    first = await catalog.publish_lows(
        "KOE", [(i, f"7{i}") for i in ids], [], full=False, file_key="f.xml@1"
    )
    assert sorted(first.added) == sorted(ids) and not first.replayed
    await catalog.remove_low(ids[0], "KOE")  # the world moves on after the file was applied
    again = await catalog.publish_lows(
        "KOE", [(i, f"7{i}") for i in ids], [], full=False, file_key="f.xml@1"
    )
    assert again.replayed and sorted(again.added) == sorted(ids)
    assert "KOE" not in records.lows((await catalog.get(ids[0])).record())  # not applied again


async def test_logins_at_once_share_one_password_check(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    check = gateway.catalog.libraries._check_password

    def counted(password: str, stored: str) -> bool:
        checks.append(password)
        return check(password, stored)

    monkeypatch.setattr(gateway.catalog.libraries, "_check_password", counted)
    users = await asyncio.gather(*(catalog.authenticate("HELKA", "helka-pw") for _ in range(20)))
    assert {u.name for u in users} == {"HELKA"} and checks == ["helka-pw"]
    wrong = await asyncio.gather(
        *(catalog.authenticate("HELKA", "wrong") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, AuthenticationError) for r in wrong)
    assert checks == ["helka-pw", "wrong"]
    assert (await catalog.authenticate("helka", "helka-pw")).name == "HELKA"


async def test_authenticate_is_case_insensitive_and_checks_the_password(catalog: Catalog) -> None:
    user = await catalog.authenticate("helka", "helka-pw")
    assert user.library == "HELKA" and user.owns_low("HELKA") and not user.owns_low("TAMK")
    with pytest.raises(AuthenticationError):
        await catalog.authenticate("HELKA", "wrong")
    with pytest.raises(AuthenticationError):
        await catalog.authenticate("NOBODY", "x")


async def test_get_unknown_record(catalog: Catalog) -> None:
    with pytest.raises(RecordNotFoundError, match="000000042"):
        await catalog.get(42)


async def test_alma_view_round_trips_through_an_update(catalog: Catalog) -> None:
    created = await catalog.create(book("Alma."), user=HELKA)
    alma = (await catalog.get(created.id, View.FIN01ALMA)).record()
    assert rules.is_alma_form(alma)
    await catalog.update(created.id, alma, user=HELKA)
    stored = (await catalog.get(created.id)).record()
    assert not any(f.tag == "024" for f in stored.get_fields("024"))
