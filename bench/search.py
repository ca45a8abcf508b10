"""The SRU and Z39.50 search workloads: search, then fetch up to 10 records, from C clients at once.

The same client code runs against the gateway and against Zebra; only the target (address, SRU
version, database name) differs. Each request is one search plus its first 10 records: over SRU
one searchRetrieve with maximumRecords=10, over Z39.50 a Search then a Present of USMARC records.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.corpus import Query
from bench.stats import Throughput, throughput
from protocols.z3950 import pdu
from protocols.z3950.ber import Element, decode_prefix

FETCH = 10
_NUMBER_OF_RECORDS = re.compile(rb"<(?:\w+:)?numberOfRecords>(\d+)<")
_RECORD_DATA = re.compile(rb"<(?:\w+:)?recordData[ >]")
_DIAGNOSTIC = re.compile(rb"info:srw/diagnostic/1/(\d+)")


@dataclass(frozen=True)
class Target:
    """Where one engine answers: SRU base URL and version, Z39.50 port and database."""

    name: str
    sru_url: str
    sru_version: str
    z3950_port: int
    database: str


class SearchFailed(RuntimeError):
    """A search came back with a diagnostic or the wrong number of records."""


# --- SRU ---------------------------------------------------------------------------------------


def sru_params(target: Target, query: Query) -> dict[str, str]:
    return {
        "version": target.sru_version,
        "operation": "searchRetrieve",
        "query": query.cql,
        "maximumRecords": str(FETCH),
        "recordSchema": "marcxml",
    }


def sru_counts(body: bytes) -> tuple[int, int]:
    """(numberOfRecords, records in this response) of a searchRetrieve response."""
    diagnostic = _DIAGNOSTIC.search(body)
    total = _NUMBER_OF_RECORDS.search(body)
    if total is None:
        code = diagnostic.group(1).decode() if diagnostic else "?"
        raise SearchFailed(f"SRU diagnostic {code}: {body[:300]!r}")
    return int(total.group(1)), len(_RECORD_DATA.findall(body))


async def sru_search(session: aiohttp.ClientSession, target: Target, query: Query) -> int:
    """One searchRetrieve; returns the hit count after checking that min(10, hits) came back."""
    async with session.get(target.sru_url, params=sru_params(target, query)) as response:
        body = await response.read()
    if response.status != 200:
        raise SearchFailed(f"HTTP {response.status} for {query.cql}: {body[:300]!r}")
    hits, returned = sru_counts(body)
    if returned != min(FETCH, hits):
        raise SearchFailed(f"{query.cql}: {returned} records for {hits} hits")
    return hits


# --- Z39.50 ------------------------------------------------------------------------------------


class Association:
    """One Z39.50 association from this process: send a PDU, read the answering PDU."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()

    @classmethod
    async def open(cls, port: int) -> Association:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        association = cls(reader, writer)
        answer = await association.ask(pdu.init_request())
        if answer.number != pdu.PduTag.INIT_RESPONSE:
            raise SearchFailed(f"Z39.50 init refused: tag {answer.number}")
        return association

    async def ask(self, request: bytes) -> Element:
        self.writer.write(request)
        while True:
            found = decode_prefix(self.buffer, 1 << 27)
            if found is not None:
                del self.buffer[: found[1]]
                return found[0]
            chunk = await self.reader.read(1 << 16)
            if not chunk:
                raise ConnectionError("the target closed the association")
            self.buffer += chunk

    async def close(self) -> None:
        try:
            self.writer.write(pdu.close_request())
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def _integer(element: Element, number: int) -> int:
    child = element.child(number)
    return child.integer() if child is not None else 0


async def z3950_search(association: Association, target: Target, query: Query) -> int:
    """Search then Present the first min(10, hits) records as USMARC; returns the hit count."""
    search = await association.ask(
        pdu.search_request(pdu.rpn_term_query(query.use, query.term), database=target.database)
    )
    status = search.child(22)
    if status is not None and not status.boolean():
        raise SearchFailed(f"Z39.50 search failed for {query.use}={query.term}")
    hits = _integer(search, 23)
    if hits == 0:
        return 0
    present = await association.ask(pdu.present_request(1, min(FETCH, hits)))
    returned = _integer(present, 24)
    if returned != min(FETCH, hits):
        raise SearchFailed(f"Z39.50 {query.use}={query.term}: {returned} records for {hits} hits")
    return hits


# --- the timed runs ----------------------------------------------------------------------------


@dataclass
class Run:
    figures: Throughput
    zero_hits: int


async def run_sru(
    target: Target, queries: Sequence[Query], clients: int, seconds: float, seed: int
) -> Run:
    latencies: list[float] = []
    zero = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(number: int, deadline: float) -> None:
            nonlocal zero
            pick = random.Random(seed * 1000 + number)
            while time.perf_counter() < deadline:
                query = queries[int(pick.random() * len(queries))]
                started = time.perf_counter()
                hits = await sru_search(session, target, query)
                latencies.append(time.perf_counter() - started)
                zero += hits == 0

        started = time.perf_counter()
        await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return Run(throughput(latencies, elapsed), zero)


async def run_z3950(
    target: Target, queries: Sequence[Query], clients: int, seconds: float, seed: int
) -> Run:
    latencies: list[float] = []
    zero = 0
    associations = [await Association.open(target.z3950_port) for _ in range(clients)]

    async def client(number: int, deadline: float) -> None:
        nonlocal zero
        pick = random.Random(seed * 1000 + number)
        association = associations[number]
        while time.perf_counter() < deadline:
            query = queries[int(pick.random() * len(queries))]
            started = time.perf_counter()
            hits = await z3950_search(association, target, query)
            latencies.append(time.perf_counter() - started)
            zero += hits == 0

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for association in associations:
            await association.close()
    return Run(throughput(latencies, elapsed), zero)


async def hit_counts(target: Target, queries: Sequence[Query]) -> dict[str, tuple[int, int]]:
    """Each query's hits over SRU and over Z39.50 on one target (checks the two agree)."""
    counts: dict[str, tuple[int, int]] = {}
    association = await Association.open(target.z3950_port)
    try:
        async with aiohttp.ClientSession() as session:
            for query in queries:
                counts[query.cql] = (
                    await sru_search(session, target, query),
                    await z3950_search(association, target, query),
                )
    finally:
        await association.close()
    return counts
