"""Melinda's write rules and the Melinda <-> Alma conversions, as pure functions on records.

The catalog calls exactly these names; each lives in its own module of this package.
"""

from gateway.rules import asteri
from gateway.rules.alma import fin01alma_fields, fin01alma_view, from_alma, is_alma_form
from gateway.rules.protection import protection_merge, withdraw_title
from gateway.rules.significance import significant_changes
from gateway.rules.staleness import check_staleness
from gateway.rules.validation import problem_number, validate

__all__ = [
    "asteri",
    "check_staleness",
    "fin01alma_fields",
    "fin01alma_view",
    "from_alma",
    "is_alma_form",
    "problem_number",
    "protection_merge",
    "significant_changes",
    "validate",
    "withdraw_title",
]
