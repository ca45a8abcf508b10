"""Reads X-server parameters from a GET query or a form POST, with a cap on the request's size."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from protocols.forms import kept_form, parse_qsl

SESSION_COOKIE = "ALEPH_SESSION_ID"
# A percent-encoded UTF-8 character takes up to 12 bytes (4 bytes x "%XX").
_BYTES_PER_CHAR = 12
_SLACK_BYTES = 16 * 1024  # the other parameters beside xml_full_req


class RequestError(Exception):
    """The request itself is unusable; the message is the `<error>` text."""


class OverlongRequestError(RequestError):
    pass


@dataclass(frozen=True, slots=True)
class Params:
    """Case-insensitive parameter names; the first value of a repeated name wins."""

    values: Mapping[str, str]

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self.values.get(name)
            if value is not None and value.strip():
                return value
        return None

    def require(self, *names: str) -> str:
        value = self.get(*names)
        if value is None:
            raise RequestError(f"Missing input: {names[0]}")
        return value


def _collect(pairs: list[tuple[str, str]], into: dict[str, str]) -> None:
    for key, value in pairs:
        into.setdefault(key.strip().lower(), value)


async def read_params(request: web.Request, max_chars: int) -> Params:
    """GET query and, for POST, the form body (urlencoded or multipart), capped in size."""
    values: dict[str, str] = {}
    if request.method == "POST":
        limit = max_chars * _BYTES_PER_CHAR + _SLACK_BYTES
        if request.content_length is not None and request.content_length > limit:
            raise OverlongRequestError(f"The request is longer than {max_chars} characters (setting xserver_max_request_chars)")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            _collect([(k, v) for k, v in form.items() if isinstance(v, str)], values)
        else:
            charset = request.charset or "utf-8"  # a form may declare another (Latin-1)
            kept = kept_form(request, charset)  # the journal decoded it already
            body = b"" if kept is not None else await request.content.read(limit + 1)
            if (kept[0] if kept is not None else len(body)) > limit:
                raise OverlongRequestError(f"The request is longer than {max_chars} characters (setting xserver_max_request_chars)")
            _collect(kept[1] if kept is not None else _decoded_form(body, charset), values)
    try:
        _collect(list(request.query.items()), values)
    except UnicodeDecodeError as exc:  # aiohttp decodes the query lazily
        raise RequestError("The request is not valid UTF-8") from exc
    return Params(values)


def _decoded_form(body: bytes, charset: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode(charset), encoding=charset, errors="strict")
    except LookupError as exc:
        raise RequestError(f"The request's charset {charset} is not known") from exc
    except UnicodeDecodeError as exc:
        raise RequestError(f"The request is not valid {charset}") from exc


def session_id_of(request: web.Request, params: Params) -> str | None:
    """The session the client names: `session_id` parameter first, then the cookie."""
    return params.get("session_id", "session-id") or request.cookies.get(SESSION_COOKIE)
