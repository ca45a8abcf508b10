"""Resumption tokens: a list request's state, signed so a harvester can neither read nor forge it.

A token carries the verb's arguments, the change sequence of the last record delivered (the
next page is `seq > after_seq`: keyset paging, never an offset), the cursor, the size of the
complete list as counted on the first page, the view and an expiry. It is base64url JSON and
an HMAC-SHA256 over it with the gateway's secret; any change to it, expiry, or use with
another verb or endpoint is `badResumptionToken`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from protocols.oaipmh.errors import BAD_RESUMPTION_TOKEN, OaiError

_VERSION = 1


@dataclass(frozen=True, slots=True)
class ListState:
    """Where a ListRecords/ListIdentifiers harvest stands."""

    verb: str
    view: str
    metadata_prefix: str
    since: int | None
    until: int | None
    set_spec: str | None
    after_seq: int
    cursor: int  # records delivered before the next page
    complete_list_size: int
    expires: int  # epoch seconds


class TokenSigner:
    """Issues and checks tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("a resumption token secret must not be empty")
        self._key = hashlib.sha256(b"melinda-gateway/oai-pmh/" + secret).digest()

    def issue(self, state: ListState) -> str:
        payload = json.dumps([_VERSION, *asdict(state).values()], separators=(",", ":"))
        body = _b64(payload.encode())
        return f"{body}.{_b64(self._sign(body))}"

    def check(self, token: str, *, verb: str, view: str, now: float | None = None) -> ListState:
        """The state inside `token`. Raises OaiError(badResumptionToken)."""
        body, dot, signature = token.partition(".")
        # compared as bytes: compare_digest refuses text that is not ASCII (TypeError)
        given = signature.encode("utf-8", "replace")
        if not dot or not hmac.compare_digest(_b64(self._sign(body)).encode(), given):
            raise OaiError(BAD_RESUMPTION_TOKEN, "The resumptionToken is invalid")
        try:
            values: Any = json.loads(_unb64(body))
            if not isinstance(values, list) or values[0] != _VERSION:
                raise ValueError("unknown token version")
            state = ListState(*values[1:])
        except (ValueError, TypeError, IndexError, binascii.Error) as exc:
            raise OaiError(BAD_RESUMPTION_TOKEN, "The resumptionToken is invalid") from exc
        if state.verb != verb or state.view != view:
            raise OaiError(BAD_RESUMPTION_TOKEN, f"The resumptionToken is not for {verb} here")
        if (time.time() if now is None else now) > state.expires:
            raise OaiError(BAD_RESUMPTION_TOKEN, "The resumptionToken has expired")
        return state

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("utf-8", "replace"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
