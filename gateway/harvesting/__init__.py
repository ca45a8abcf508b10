"""The harvesting interface (haravointirajapinta): a joining library's records taken over OAI-PMH, transformed and matched into Melinda.

The API (the command line and the admin interface use these):

- `HarvestSpec(url, library, metadata_prefix="marc21", set=None, from_=None, until=None)`.
- `await prepare_run(catalog, spec)` -> the run (a JSON-able dict, saved in the store): an
  unfinished run of the same harvest (library, URL, format, set) is resumed; otherwise a new
  run starts from the last datestamp the previous one saw.
- `Harvester(catalog, run, session=None, politeness=None, on_page=None)`: `await h()` runs it
  to its end and returns the report; `h.stop()` stops it after the page in hand.
- `await run_harvest(catalog, spec, ...)`: both.
- `report(run)`: the run with records per second.

Modules: `oai` (the OAI-PMH client), `transform` (Melinda's import transformation), `run`
(match-or-create, the page transaction, resumption).
"""

from gateway.harvesting.oai import OaiClient, OaiError, Politeness, SourceError, retry_after_seconds
from gateway.harvesting.run import (
    COUNTS,
    Harvester,
    HarvestSpec,
    import_user,
    prepare_run,
    report,
    run_harvest,
)
from gateway.harvesting.transform import TransformError, transform

__all__ = [
    "COUNTS",
    "HarvestSpec",
    "Harvester",
    "OaiClient",
    "OaiError",
    "Politeness",
    "SourceError",
    "TransformError",
    "import_user",
    "prepare_run",
    "report",
    "retry_after_seconds",
    "run_harvest",
    "transform",
]
