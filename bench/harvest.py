"""The OAI-PMH workload: one full ListRecords harvest (marc21) following resumption tokens, and an
incremental from/until harvest, while the server's RSS is sampled."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import aiohttp

from bench.system import RssWatch

_TOKEN = re.compile(rb"<(?:\w+:)?resumptionToken[^>]*>([^<]*)</(?:\w+:)?resumptionToken>")
_HEADER = re.compile(rb"<(?:\w+:)?header[ >]")
_ERROR = re.compile(rb"<(?:\w+:)?error code=\"(\w+)\"")
_EDGE = 4096  # bytes at either end of a page that hold an error or the resumption token


@dataclass(frozen=True)
class Harvest:
    records: int
    pages: int
    seconds: float
    server_peak_rss_mb: float
    server_peak_anon_mb: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, float]:
        return {
            "records": self.records,
            "pages": self.pages,
            "seconds": round(self.seconds, 2),
            "records_per_second": round(self.records_per_second),
            "server_peak_rss_mb": round(self.server_peak_rss_mb, 1),
            "server_peak_anon_mb": round(self.server_peak_anon_mb, 1),
        }


def page_counts(body: bytes) -> tuple[int, str | None]:
    """(records in one ListRecords page, its resumption token or None when it was the last).

    A page of 1,000 MARC records is ~5 MB: regular expressions over all of it cost the client
    ~90 ms a page here, as much as the server's work, so only the page's head (where an error
    stands) and tail (where the token stands) are searched and headers are counted as bytes.
    """
    error = _ERROR.search(body, 0, _EDGE)
    if error is not None:
        if error.group(1) == b"noRecordsMatch":
            return 0, None
        raise RuntimeError(f"OAI-PMH error {error.group(1).decode()}: {body[:300]!r}")
    token = _TOKEN.search(body, max(0, len(body) - _EDGE))
    text = token.group(1).decode().strip() if token else ""
    headers = body.count(b"<header>") + body.count(b"<header ")
    if not headers:  # a prefixed form (`<oai:header>`): the slow way
        headers = len(_HEADER.findall(body))
    return headers, text or None


async def harvest(
    url: str,
    server_pid: int,
    *,
    prefix: str = "marc21",
    since: str | None = None,
    until: str | None = None,
) -> Harvest:
    params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": prefix}
    if since:
        params["from"] = since
    if until:
        params["until"] = until
    records = pages = 0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    async with aiohttp.ClientSession(timeout=timeout) as session, RssWatch(server_pid) as rss:
        started = time.perf_counter()
        while True:
            async with session.get(url, params=params) as response:
                body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"OAI-PMH HTTP {response.status}: {body[:300]!r}")
            count, token = page_counts(body)
            records += count
            pages += 1
            if token is None:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
        seconds = time.perf_counter() - started
    return Harvest(records, pages, seconds, rss.peak, rss.peak_anon)
