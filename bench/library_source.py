"""A joining library's system as an OAI-PMH source: pyoai's server over HTTP (wsgiref), serving generated local records, with injectable faults.

Used by the harvesting tests and scripts/bench-harvest; run alone:
`python -m bench.library_source --records N --duplicates-of-melinda M --port P`.
"""

from __future__ import annotations

import argparse
import copy
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pymarc
from lxml import etree
from oaipmh import common, error  # type: ignore[import-untyped]
from oaipmh.metadata import MetadataRegistry  # type: ignore[import-untyped]
from oaipmh.server import BatchingServer  # type: ignore[import-untyped]

from gateway.emulator.generator.builder import generate_records
from gateway.records import record_to_marcxml

LOCAL_CODE = "FI-LIB"
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def local_copy(record: pymarc.Record, local_id: str) -> pymarc.Record:
    """A Melinda record as a library's system holds it: its own 001/003/005, holdings and a
    local 9XX field, no Melinda ids and no Aleph fields."""
    out = pymarc.Record(leader=str(record.leader))
    out.leader = record.leader
    out.fields.append(pymarc.Field(tag="001", data=local_id))
    out.fields.append(pymarc.Field(tag="003", data=LOCAL_CODE))
    out.fields.append(pymarc.Field(tag="005", data="20240101120000.0"))
    for f in record.fields:
        if not f.tag.isdigit() or f.tag in ("001", "003", "005") or f.tag.startswith("9"):
            continue
        if f.tag == "035":
            continue
        out.fields.append(copy.deepcopy(f))
    out.fields.append(
        pymarc.Field(
            tag="035",
            indicators=[" ", " "],  # type: ignore[arg-type]
            subfields=[pymarc.Subfield("a", f"({LOCAL_CODE}){local_id}")],
        )
    )
    out.fields.append(
        pymarc.Field(
            tag="852",
            indicators=["8", " "],  # type: ignore[arg-type]
            subfields=[pymarc.Subfield("b", "PÄÄ"), pymarc.Subfield("h", "84.2")],
        )
    )
    out.fields.append(
        pymarc.Field(
            tag="990",
            indicators=[" ", " "],  # type: ignore[arg-type]
            subfields=[pymarc.Subfield("a", "hankinta 2023")],
        )
    )
    return out


@dataclass
class SourceRecord:
    identifier: str
    datestamp: datetime
    deleted: bool
    xml: bytes


def library_records(
    count: int, melinda: Iterable[pymarc.Record], *, seed: int = 77
) -> Iterator[tuple[str, pymarc.Record]]:
    """(local id, record): first local copies of the given Melinda records, then records of
    another seed (titles Melinda does not have), `count` in all."""
    made = 0
    for record in melinda:
        if made >= count:
            return
        made += 1
        yield f"L{made:07d}", local_copy(record, f"L{made:07d}")
    for record in generate_records(max(0, count - made), seed=seed, start_id=1):
        made += 1
        yield f"L{made:07d}", local_copy(record, f"L{made:07d}")


@dataclass
class Faults:
    """What the source does wrong, consumed as requests come: counted from the start."""

    unavailable: int = 0  # the next N requests answer 503 with Retry-After
    retry_after: str = "1"
    drop_on_request: set[int] = field(default_factory=set)  # these request numbers drop mid-page
    expire_tokens_after: int | None = None  # tokens older than this request number are rejected
    requests: int = 0
    log: list[str] = field(default_factory=list)


class LibrarySource:
    """pyoai's IBatchingOAIPMH over an in-memory list of records in datestamp order."""

    def __init__(self) -> None:
        self.records: dict[str, SourceRecord] = {}
        self.clock = BASE_TIME
        self.lock = threading.Lock()

    def put(self, local_id: str, record: pymarc.Record) -> None:
        with self.lock:
            self.clock += timedelta(seconds=1)
            identifier = f"oai:library.example:{local_id}"
            self.records.pop(identifier, None)  # a change moves it to the end
            self.records[identifier] = SourceRecord(
                identifier, self.clock, False, record_to_marcxml(record)
            )

    def delete(self, local_id: str) -> None:
        with self.lock:
            self.clock += timedelta(seconds=1)
            identifier = f"oai:library.example:{local_id}"
            self.records.pop(identifier, None)
            self.records[identifier] = SourceRecord(identifier, self.clock, True, b"")

    # --- IBatchingOAIPMH ---------------------------------------------------------------
    def identify(self) -> common.Identify:
        return common.Identify(
            repositoryName="Library system",
            baseURL="http://library.example/oai",
            protocolVersion="2.0",
            adminEmails=["admin@library.example"],
            earliestDatestamp=BASE_TIME.replace(tzinfo=None),
            deletedRecord="persistent",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            compression=["identity"],
        )

    def listMetadataFormats(self, identifier: str | None = None) -> list[tuple[str, str, str]]:
        return [
            (
                "marc21",
                "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
                "http://www.loc.gov/MARC21/slim",
            )
        ]

    def listSets(self, cursor: int = 0, batch_size: int = 10) -> list[Any]:
        raise error.NoSetHierarchyError("no sets")

    def _selected(self, from_: datetime | None, until: datetime | None) -> list[SourceRecord]:
        with self.lock:
            rows = list(self.records.values())

        def naive(d: datetime) -> datetime:
            return d.replace(tzinfo=None)

        return [
            r
            for r in rows
            if (from_ is None or naive(r.datestamp) >= naive(from_))
            and (until is None or naive(r.datestamp) <= naive(until))
        ]

    def _entry(self, r: SourceRecord) -> tuple[Any, Any, None]:
        header = common.Header(None, r.identifier, r.datestamp.replace(tzinfo=None), [], r.deleted)
        return header, (None if r.deleted else common.Metadata(None, {"xml": r.xml})), None

    def listRecords(
        self,
        metadataPrefix: str,
        set: str | None = None,
        from_: datetime | None = None,
        until: datetime | None = None,
        cursor: int = 0,
        batch_size: int = 10,
    ) -> list[Any]:
        if metadataPrefix != "marc21":
            raise error.CannotDisseminateFormatError(metadataPrefix)
        rows = self._selected(from_, until)
        if not rows:
            raise error.NoRecordsMatchError("no records")
        return [self._entry(r) for r in rows[cursor : cursor + batch_size]]

    def listIdentifiers(
        self,
        metadataPrefix: str,
        set: str | None = None,
        from_: datetime | None = None,
        until: datetime | None = None,
        cursor: int = 0,
        batch_size: int = 10,
    ) -> list[Any]:
        return [
            h
            for h, _m, _a in self.listRecords(metadataPrefix, set, from_, until, cursor, batch_size)
        ]

    def getRecord(self, metadataPrefix: str, identifier: str) -> Any:
        with self.lock:
            r = self.records.get(identifier)
        if r is None:
            raise error.IdDoesNotExistError(identifier)
        return self._entry(r)


def _marc21_writer(element: Any, metadata: Any) -> None:
    element.append(etree.fromstring(metadata["xml"]))


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SourceServer:
    """The source on HTTP in a thread: `url`, `faults`, `close()`."""

    def __init__(self, source: LibrarySource, *, page_size: int = 10, port: int = 0) -> None:
        registry = MetadataRegistry()
        registry.registerWriter("marc21", _marc21_writer)
        self.source = source
        self.oai = BatchingServer(source, registry, resumption_batch_size=page_size)
        self.faults = Faults()
        self.httpd: WSGIServer = make_server("127.0.0.1", port, self._app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/oai"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        faults = self.faults
        faults.requests += 1
        number = faults.requests
        params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        faults.log.append(f"{number} {params}")
        if faults.unavailable > 0:
            faults.unavailable -= 1
            start_response(
                "503 Service Unavailable",
                [("Retry-After", faults.retry_after), ("Content-Type", "text/plain")],
            )
            return [b"busy"]
        token = params.get("resumptionToken")
        if token and faults.expire_tokens_after is not None and number > faults.expire_tokens_after:
            faults.expire_tokens_after = None  # one expiry
            params = {
                "verb": "ListRecords",
                "resumptionToken": "expired",
            }  # pyoai: badResumptionToken
        body: bytes = self.oai.handleRequest(params)
        if number in faults.drop_on_request:
            # Headers promise the whole page; half of it comes and the connection closes.
            start_response(
                "200 OK",
                [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return _half_then_drop(body)
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _half_then_drop(body: bytes) -> Iterator[bytes]:
    yield body[: len(body) // 2]
    raise ConnectionAbortedError("dropped mid-page (injected)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--melinda-seed", type=int, default=1)
    parser.add_argument("--store", type=int, default=0, help="records in Melinda (generated)")
    parser.add_argument("--duplicates", type=int, default=0, help="local copies of Melinda records")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    source = LibrarySource()
    stride = max(1, args.store // max(1, args.duplicates))
    melinda = (
        r
        for n, r in enumerate(generate_records(args.store, seed=args.melinda_seed))
        if n % stride == 0
    )
    copies = (r for _n, r in zip(range(args.duplicates), melinda, strict=False))
    for local_id, record in library_records(args.records, copies):
        source.put(local_id, record)
    server = SourceServer(source, page_size=args.page_size, port=args.port)
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
