"""Serialises X-server replies the way Aleph writes them: one element a line, `<session-id>` last.

Shapes follow the real replies (shared/fixtures/xserver/): an XML declaration written
`<?xml version = "1.0" encoding = "UTF-8"?>`, the op's name as root element, errors as
`<error>` children of that root, records as `<record><metadata><oai_marc>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from gateway.model import User
from gateway.records.xmlsafe import escape

DECLARATION: Final = b'<?xml version = "1.0" encoding = "UTF-8"?>\n'
# Characters XML 1.0 cannot carry (error texts may quote arbitrary client input).
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LEADING_DECLARATION: Final = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")


def text(value: str) -> str:
    return escape(_NOT_XML_CHAR.sub("\ufffd", value))


def element(name: str, value: str) -> bytes:
    return f"<{name}>{text(value)}</{name}>\n".encode()


def document(root: str, body: Iterable[bytes], session_id: str) -> bytes:
    """The complete reply: declaration, `<root>`, body, `<session-id>`, `</root>`."""
    parts = [DECLARATION, f"<{root}>\n".encode()]
    parts.extend(body)
    parts.append(element("session-id", session_id))
    parts.append(f"</{root}>\n".encode())
    return b"".join(parts)


def errors(messages: Sequence[str]) -> list[bytes]:
    return [element("error", message) for message in messages]


def find_result(set_number: int, no_records: int, no_entries: int) -> list[bytes]:
    return [
        element("set_number", f"{set_number:06d}"),
        element("no_records", f"{no_records:09d}"),
        element("no_entries", f"{no_entries:09d}"),
    ]


def oai_marc_fragment(oai_marc: bytes) -> bytes:
    """An `<oai_marc>` document without its XML declaration, ready to splice."""
    return _LEADING_DECLARATION.sub(b"", oai_marc).strip()


def record(oai_marc: bytes, doc_number: int, set_entry: int | None = None) -> bytes:
    """One `<record>` as present (with `record_header`) and find-doc write it."""
    parts = [b"<record>\n"]
    if set_entry is not None:
        parts.append(b"<record_header>\n")
        parts.append(element("set_entry", f"{set_entry:09d}"))
        parts.append(b"</record_header>\n")
    parts.append(element("doc_number", f"{doc_number:09d}"))
    parts.append(b"<metadata>\n")
    parts.append(oai_marc_fragment(oai_marc))
    parts.append(b"\n</metadata>\n</record>\n")
    return b"".join(parts)


def user_auth_ok(user: User) -> list[bytes]:
    """`<reply>ok</reply>` and the staff record (z66) in the order Aleph writes it."""
    own = " ".join(sorted(user.lows)) or user.library
    z66 = [
        ("z66-user-library", user.library),
        ("z66-name", user.name),
        ("z66-department", user.library),
        ("z66-email", ""),
        ("z66-address", ""),
        ("z66-telephone", ""),
        ("z66-note-1", ""),
        ("z66-note-2", ""),
        ("z66-user-cat-level", f"{user.level:02d}"),
        ("z66-function-proxy", ""),
        ("z66-catalog-proxy", ""),
        ("z66-budget-proxy", ""),
        ("z66-order-unit-proxy", ""),
        ("z66-user-own-create", own),
        ("z66-user-own-check", own),
        ("z66-user-circ-level", ""),
        ("z66-ill-unit", ""),
        ("z66-open-date", ""),
        ("z66-update-date", ""),
        ("z66-expiry-date", ""),
        ("z66-last-alert-date", ""),
        ("z66-last-login-date", ""),
        ("z66-block", ""),
        ("z66-block-reason", ""),
        ("z66-no-fail", "0"),
        ("z66-erm-user", ""),
        ("z66-erm-password", ""),  # always empty: passwords never leave the gateway
    ]
    return [
        element("reply", "ok"),
        b"<z66>\n",
        *(element(name, value) for name, value in z66),
        b"</z66>\n",
    ]
