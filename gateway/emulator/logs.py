"""The process's logging: one access line per request on every interface, text or JSON, asyncssh kept quiet."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from gateway.emulator.log_writer import LogWriter

if TYPE_CHECKING:
    from gateway.emulator.journal import Entry

ACCESS: Final = logging.getLogger("melinda.access")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s worker {worker} %(name)s: %(message)s"
# Fields an access record carries besides its message (the JSON form shows them as keys).
ACCESS_FIELDS: Final = ("interface", "operation", "user", "client", "outcome", "ms")


def access(entry: Entry) -> None:
    """One line per journaled request: interface, operation, user, outcome, milliseconds."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    ACCESS.info(
        "%s %s user=%s client=%s %s %.1f ms",
        entry.interface,
        entry.operation,
        entry.user or "-",
        entry.client or "-",
        entry.outcome,
        entry.duration_ms,
        extra={
            "interface": entry.interface,
            "operation": entry.operation,
            "user": entry.user,
            "client": entry.client,
            "outcome": entry.outcome,
            "ms": entry.duration_ms,
        },
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the worker
    process's number under `serve --workers`, and for access lines their fields."""

    def __init__(self, worker: int | None = None) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.worker is not None:
            data["worker"] = self.worker
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                data[name] = record.__dict__[name]
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(
    level: str, log_format: str, *, threaded: bool = False, worker: int | None = None
) -> LogWriter | None:
    """Root logging to stderr at `level`; asyncssh's per-connection INFO lines only at DEBUG.

    `threaded` (a server): lines go out through a writer thread, so a stderr pipe nobody reads
    drops lines instead of stopping the event loop; the caller stops the returned writer.
    `worker`: the number of a `serve --workers` process, named in every line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(worker))
    else:
        text = (
            TEXT_FORMAT if worker is None else WORKER_TEXT_FORMAT.replace("{worker}", str(worker))
        )
        formatter = logging.Formatter(text)
        formatter.converter = time.gmtime  # the journal and OAI-PMH speak UTC too
        handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    writer = LogWriter(handler) if threaded else None
    if writer is not None:
        writer.install(level)
    else:
        root.addHandler(handler)
        root.setLevel(level.upper())
    chatter = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("asyncssh").setLevel(chatter)
    return writer
