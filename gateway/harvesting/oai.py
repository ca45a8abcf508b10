"""The OAI-PMH client of a harvest: ListRecords pages streamed and parsed as they arrive, politely and with retries."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import pymarc
from lxml import etree

from gateway import records
from gateway.errors import MalformedRecordError

log = logging.getLogger("melinda.harvesting")

OAI_NS: Final = "http://www.openarchives.org/OAI/2.0/"
_RECORD: Final = f"{{{OAI_NS}}}record"
_ERROR: Final = f"{{{OAI_NS}}}error"
_TOKEN: Final = f"{{{OAI_NS}}}resumptionToken"
_HEADER: Final = f"{{{OAI_NS}}}header"
_METADATA: Final = f"{{{OAI_NS}}}metadata"
_IDENTIFIER: Final = f"{{{OAI_NS}}}identifier"
_DATESTAMP: Final = f"{{{OAI_NS}}}datestamp"
MAX_PAGE_BYTES: Final = 256 * 1024 * 1024  # a page larger than this is no page
CHUNK: Final = 64 * 1024


class OaiError(Exception):
    """The source answered with an OAI-PMH error (badResumptionToken, noRecordsMatch, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class SourceError(Exception):
    """The source could not be harvested: an HTTP refusal, or transient failures past the retries."""


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(slots=True)
class Item:
    """One `<record>` of a page: its header, and its record or why it could not be read."""

    position: str
    identifier: str
    datestamp: str
    deleted: bool
    record: pymarc.Record | None = None
    error: str | None = None


@dataclass(slots=True)
class Page:
    """A ListRecords response: its records and the resumption token (None: the list ended)."""

    items: list[Item] = field(default_factory=list)
    token: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Politeness:
    """How the client treats a source: timeouts, retries, backoff, the longest Retry-After obeyed."""

    read_timeout: float = 60.0
    connect_timeout: float = 15.0
    retries: int = 6
    backoff: float = 1.0  # seconds; doubles per retry, with jitter
    max_backoff: float = 60.0
    max_retry_after: float = 600.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (None: absent or unreadable)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _text(element: Any, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _item(element: Any, number: int) -> Item:
    header = element.find(_HEADER)
    identifier = _text(header, _IDENTIFIER) if header is not None else ""
    datestamp = _text(header, _DATESTAMP) if header is not None else ""
    position = f"record {number} ({identifier or 'no identifier'})"
    if header is None or not identifier:
        return Item(position, identifier, datestamp, False, error="no header identifier")
    if header.get("status") == "deleted":
        return Item(position, identifier, datestamp, True)
    metadata = element.find(_METADATA)
    marc = metadata[0] if metadata is not None and len(metadata) else None
    if marc is None or not isinstance(marc.tag, str) or not marc.tag.endswith("record"):
        return Item(position, identifier, datestamp, False, error="no MARCXML record in metadata")
    try:
        record = records.record_from_element(marc, position)
    except MalformedRecordError as exc:
        return Item(position, identifier, datestamp, False, error=str(exc))
    return Item(position, identifier, datestamp, False, record=record)


class OaiClient:
    """ListRecords against one base URL through an aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        politeness: Politeness | None = None,
        wait: Callable[[float], Awaitable[bool]] | None = None,
    ) -> None:
        self.session = session
        self.url = url
        self.politeness = politeness or Politeness()
        # wait(seconds) -> False when the harvest was asked to stop meanwhile
        self._wait = wait or _sleep
        self.retries_used = 0

    async def list_records(self, params: Mapping[str, str], first: int = 1) -> Page:
        """One page, with retries; `first` numbers its records (positions in the report)."""
        p = self.politeness
        attempt = 0
        while True:
            attempt += 1
            try:
                page = await self._request(params, first)
                page.attempts = attempt
                return page
            except _Transient as exc:
                if attempt > p.retries:
                    raise SourceError(f"{exc} (gave up after {attempt} attempts)") from exc
                self.retries_used += 1
                if exc.retry_after is not None:
                    delay = min(exc.retry_after, p.max_retry_after)
                else:
                    delay = min(p.backoff * 2 ** (attempt - 1), p.max_backoff)
                    delay *= 0.5 + random.random() / 2
                log.warning("harvest of %s: %s; retrying in %.1f s", self.url, exc, delay)
                if not await self._wait(delay):
                    raise asyncio.CancelledError from exc

    async def _request(self, params: Mapping[str, str], first: int) -> Page:
        p = self.politeness
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=p.connect_timeout, sock_read=p.read_timeout
        )
        try:
            async with self.session.get(self.url, params=dict(params), timeout=timeout) as resp:
                if resp.status == 503 or resp.status == 429:
                    raise _Transient(
                        f"HTTP {resp.status}", retry_after_seconds(resp.headers.get("Retry-After"))
                    )
                if resp.status >= 500:
                    raise _Transient(f"HTTP {resp.status}")
                if resp.status != 200:
                    raise SourceError(f"{self.url} answered HTTP {resp.status}")
                return await self._parse(resp, first)
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one (and a connection error)
            raise _Transient("the source went silent (timeout)") from exc
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            raise _Transient(f"connection dropped mid-page ({type(exc).__name__})") from exc
        except aiohttp.ClientConnectionError as exc:
            raise _Transient(f"cannot connect: {exc}") from exc
        except aiohttp.ClientError as exc:  # a bad URL, endless redirects: no retry mends them
            raise SourceError(f"{self.url}: {type(exc).__name__}: {exc}") from exc

    async def _parse(self, resp: aiohttp.ClientResponse, first: int) -> Page:
        """Feed the body to the pull parser as it arrives; each record is read and dropped."""
        parser = records.xml_pull_parser([_RECORD, _ERROR, _TOKEN])
        page = Page()
        received = 0
        number = first - 1
        error: OaiError | None = None
        try:
            async for chunk in resp.content.iter_chunked(CHUNK):
                received += len(chunk)
                if received > MAX_PAGE_BYTES:
                    raise SourceError(f"a page over {MAX_PAGE_BYTES} bytes")
                parser.feed(chunk)
                for _event, found in parser.read_events():
                    element: Any = found  # "end" events carry elements
                    if element.tag == _RECORD:
                        number += 1
                        page.items.append(_item(element, number))
                        element.clear(keep_tail=False)
                    elif element.tag == _ERROR:
                        error = OaiError(
                            element.get("code", "unknown"), (element.text or "").strip()
                        )
                    else:
                        page.token = (element.text or "").strip() or None
            parser.close()
        except etree.XMLSyntaxError as exc:
            # A page cut short arrives as XML that never ends: fetched again.
            raise _Transient(f"not well-formed XML ({exc})") from exc
        if error is not None:
            raise error
        return page


async def _sleep(seconds: float) -> bool:
    await asyncio.sleep(seconds)
    return True
