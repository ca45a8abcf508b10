"""Form (application/x-www-form-urlencoded) decoding at C speed, as `urllib.parse.parse_qsl`.

An X-server update-doc posts a whole record percent-encoded: a 4 kB record is about a
thousand `%XX` escapes, and the standard library decodes them one by one in Python
(about 0.6 ms per request here, twice per request: the journal reads the form too).
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote


def unquote_plus(text: str, encoding: str = "utf-8", errors: str = "replace") -> str:
    """`urllib.parse.unquote_plus(text, encoding, errors)`, the same result, faster."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        # every %XX becomes \\xXX and the C escape decoder turns them into bytes in one go;
        # a % without two hex digits makes it fail, and the standard library decides
        escaped = text.replace("\\", "\\\\").replace("%", "\\x").encode("ascii")
        try:
            raw = codecs.escape_decode(escaped)[0]
        except ValueError:
            pass
        else:
            return raw.decode(encoding, errors)
    return unquote(text, encoding, errors)


def parse_qsl(text: str, encoding: str = "utf-8", errors: str = "replace") -> list[tuple[str, str]]:
    """`urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=..., errors=...)`."""
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name, encoding, errors), unquote_plus(value, encoding, errors)))
    return pairs
