"""Melinda's record matching and the Merge program, over the catalog's public operations.

The API (the harvester and the admin interfaces use these):

- `await find_matches(catalog, record, exclude=())` -> `list[Candidate]`: the stored
  records Melinda's matching takes for the same resource as `record` (a pymarc record,
  saved or not), best first; each `Candidate` has `id`, `probability`, `strategy` (IDS,
  STANDARD_IDS, CONTENT) and `match` (probability >= 0.9). Empty: create the record.
- `await find_candidates(catalog, record, exclude=())`: every record compared, matches and
  non-matches alike (the admin API reports these).
- `await merge(catalog, preferred_id, other_id, user)` -> `MergeResult`: the Merge program;
  `user` is a library code (or a `User`). Raises `MergeRefusedError` (its `rule` names the
  check), `RecordNotFoundError`, `LibraryNotFoundError`; a refusal changes nothing.
- `await merge_record_into(catalog, record, stored_id, user)`: an incoming record merged
  into a stored one (a harvested duplicate): the stored record gains its LOW, SID, 035s and
  the fields it lacks.

Modules: `features` (match detection), `candidates` (candidate search), `validation`
(refusals), `reducers` (the kept record's fields), `merge` (the operation).
"""

from gateway.matching.candidates import (
    THRESHOLD,
    Candidate,
    find_candidates,
    find_matches,
    stored_id_of,
)
from gateway.matching.merge import MergeResult, merge, merge_record_into, merging_user
from gateway.matching.validation import MergeRefusedError

__all__ = [
    "THRESHOLD",
    "Candidate",
    "MergeRefusedError",
    "MergeResult",
    "find_candidates",
    "find_matches",
    "merge",
    "merge_record_into",
    "merging_user",
    "stored_id_of",
]
