"""The Merge program: two records of one resource become one, the other deleted with its id kept.

A merge is one catalog transaction (`Catalog.save_merge`): the refusal checks
(`validation`) and the field work (`reducers`) run on the records as stored inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import pymarc

from gateway.matching import reducers, validation
from gateway.model import Library, User, WriteResult

log = logging.getLogger("melinda.merge")


class MergingCatalog(Protocol):
    """What a merge needs of the catalog."""

    async def library(self, code: str) -> Library: ...

    async def save_merge(
        self,
        kept_id: int,
        other_id: int | None,
        combine: reducers.Combiner,
        *,
        user: User,
    ) -> WriteResult: ...


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge did: the record kept, the one deleted (None: an incoming record)."""

    kept: int
    deleted: int | None
    user: str
    significant_fields: list[str]

    def as_json(self) -> dict[str, object]:
        return {
            "kept": f"{self.kept:09d}",
            "deleted": None if self.deleted is None else f"{self.deleted:09d}",
            "user": self.user,
            "significant_fields": self.significant_fields,
        }


async def merging_user(catalog: MergingCatalog, user: str | User) -> User:
    """The library user a merge is made as; raises LibraryNotFoundError for an unknown code."""
    if isinstance(user, User):
        return user
    library = await catalog.library(user)
    return User(
        library.code, library.code, library.level, frozenset(library.lows), library.privileged
    )


async def merge(
    catalog: MergingCatalog, preferred_id: int, other_id: int, user: str | User
) -> MergeResult:
    """Merge record `other_id` into `preferred_id` as library user `user` (a code or a User).

    Raises MergeRefusedError (naming the rule), RecordNotFoundError, LibraryNotFoundError;
    a refused merge changes nothing.
    """
    if preferred_id == other_id:
        raise validation.MergeRefusedError(
            "same-record", f"{preferred_id:09d} cannot be merged with itself"
        )
    staff = await merging_user(catalog, user)

    def combine(
        preferred: pymarc.Record, other: pymarc.Record | None
    ) -> tuple[pymarc.Record, pymarc.Record | None]:
        assert other is not None
        validation.check_merge(preferred_id, preferred, other_id, other)
        kept = reducers.merge_fields(preferred, other, other_id)
        return kept, reducers.withdraw_moved_fields(other)

    saved = await catalog.save_merge(preferred_id, other_id, combine, user=staff)
    log.info("merged %09d into %09d as %s (CAT %s)", other_id, preferred_id, staff.name, staff.name)
    return MergeResult(preferred_id, other_id, staff.name, list(saved.significant_fields))


async def merge_record_into(
    catalog: MergingCatalog, record: pymarc.Record, stored_id: int, user: str | User
) -> MergeResult:
    """Merge an incoming record (not saved) into stored record `stored_id`: the stored one
    is preferred and gains what the incoming one brings (its LOW, SID, 035s, fields it
    lacks). The checks are those of a record import (an incoming record may carry a LOW
    the stored one has)."""
    staff = await merging_user(catalog, user)

    def combine(
        stored: pymarc.Record, _none: pymarc.Record | None
    ) -> tuple[pymarc.Record, pymarc.Record | None]:
        validation.check_record_pair(stored, record, internal=False)
        return reducers.merge_fields(stored, record, None), None

    saved = await catalog.save_merge(stored_id, None, combine, user=staff)
    log.info("merged an incoming record into %09d as %s", stored_id, staff.name)
    return MergeResult(stored_id, None, staff.name, list(saved.significant_fields))
