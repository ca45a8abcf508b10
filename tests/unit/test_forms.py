"""protocols.forms decodes forms exactly as urllib.parse.parse_qsl does, escapes and errors alike."""

from __future__ import annotations

import random
import urllib.parse

import pytest

from protocols import forms

CASES = [
    "",
    "a=1&b=2",
    "a=&b",
    "&&a=1&&",
    "x=%3Crecord%3E+%C3%A4%C3%B6+a%2Bb",
    "x=100%",
    "x=%4",
    "x=%zz%41",
    "x=%%41",
    "x=a%5Cb%5C%5C",
    "x=\\x41%41",
    "x=\\",
    "x=ä%C3%B6",
    "x=a=b=c",
    "%41%42=%43",
    "x=%e4",
    "x=%ZZ%e4",
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_parse_qsl_is_the_standard_librarys(text: str, encoding: str) -> None:
    expected = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=encoding)
    assert forms.parse_qsl(text, encoding=encoding) == expected


def test_strict_errors_raise_as_the_standard_library_does() -> None:
    for text in ("x=%e4", "x=ok&y=%C3"):
        with pytest.raises(UnicodeDecodeError):
            urllib.parse.parse_qsl(text, encoding="utf-8", errors="strict")
        with pytest.raises(UnicodeDecodeError):
            forms.parse_qsl(text, encoding="utf-8", errors="strict")


def test_random_forms_decode_the_same() -> None:
    rng = random.Random(10)
    alphabet = "ab%+=&\\xä4FzZ9 <>"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        expected = urllib.parse.parse_qsl(text, keep_blank_values=True)
        assert forms.parse_qsl(text) == expected, text


def test_an_encoded_record_round_trips() -> None:
    record = '<oai_marc><varfield id="245" i1="1" i2="0"><subfield label="a">Kävijä & co + 100 %</subfield></varfield></oai_marc>'
    body = urllib.parse.urlencode({"op": "update-doc", "xml_full_req": record})
    assert dict(forms.parse_qsl(body, errors="strict"))["xml_full_req"] == record


def test_a_form_read_cleanly_is_kept_with_its_request_for_the_protocol() -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("POST", "/X")
    body = b"op=update-doc&xml_full_req=%3Coai_marc%3E%C3%A4%3C%2Foai_marc%3E"
    pairs = forms.read_form(request, body, "utf-8")
    assert pairs == [("op", "update-doc"), ("xml_full_req", "<oai_marc>ä</oai_marc>")]
    assert forms.kept_form(request, "utf-8") == (len(body), pairs)
    assert forms.kept_form(request, "latin-1") is None  # decoded in another charset: read again


def test_a_form_that_does_not_decode_is_read_with_replacements_and_not_kept() -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("POST", "/X")
    pairs = forms.read_form(request, b"op=find&x=%e4\xff", "utf-8")
    assert pairs == [("op", "find"), ("x", "\ufffd\ufffd")]
    assert forms.kept_form(request, "utf-8") is None  # the protocol gives its own error
