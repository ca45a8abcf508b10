"""OAI-PMH argument rules, datestamps, identifiers and resumption tokens (pure layers)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest

from protocols.oaipmh.arguments import (
    format_datestamp,
    format_identifier,
    parse_identifier,
    parse_request,
)
from protocols.oaipmh.errors import OaiError
from protocols.oaipmh.tokens import ListState, TokenSigner

PREFIX = "oai:melinda.kansalliskirjasto.fi/"


def error_of(*pairs: tuple[str, str]) -> str:
    with pytest.raises(OaiError) as caught:
        parse_request(pairs)
    return caught.value.code


def epoch(text: str) -> int:
    return calendar.timegm(
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timetuple()
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("verb", "Foo")],
        [("verb", "identify")],
        [("verb", "Identify"), ("verb", "Identify")],
        [("metadataPrefix", "marc21")],
    ],
)
def test_bad_verb(pairs: list[tuple[str, str]]) -> None:
    assert error_of(*pairs) == "badVerb"


@pytest.mark.parametrize(
    "pairs",
    [
        [("verb", "Identify"), ("foo", "bar")],
        [("verb", "GetRecord"), ("foo", "bar")],
        [("verb", "GetRecord"), ("metadataPrefix", "marc21")],
        [("verb", "ListRecords")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("metadataPrefix", "oai_dc")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("resumptionToken", "x")],
        [("verb", "ListIdentifiers"), ("resumptionToken", "x"), ("set", "fennica")],
        [("verb", "ListSets"), ("set", "fennica")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("from", "2020-01-01T00:00:00")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("from", "2020-02-30")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("until", "yesterday")],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "marc21"),
            ("from", "2020-01-01"),
            ("until", "2020-01-02T00:00:00Z"),
        ],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "marc21"),
            ("from", "2020-01-02"),
            ("until", "2020-01-01"),
        ],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("set", "no spaces")],
        [("verb", "ListRecords"), ("metadataPrefix", "")],
        [("verb", "ListRecords"), ("metadataPrefix", "a b")],
    ],
)
def test_bad_argument(pairs: list[tuple[str, str]]) -> None:
    assert error_of(*pairs) == "badArgument"


def test_unknown_metadata_prefix_cannot_be_disseminated() -> None:
    assert error_of(("verb", "ListRecords"), ("metadataPrefix", "foo")) == "cannotDisseminateFormat"
    assert (
        error_of(("verb", "GetRecord"), ("metadataPrefix", "marcxml"), ("identifier", PREFIX + "1"))
        == "cannotDisseminateFormat"
    )


def test_day_granularity_covers_whole_days() -> None:
    request = parse_request(
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "marc21"),
            ("from", "2020-01-01"),
            ("until", "2020-01-01"),
        ]
    )
    assert request.since == epoch("2020-01-01T00:00:00Z")
    assert request.until == epoch("2020-01-01T23:59:59Z")


def test_seconds_granularity_and_echo() -> None:
    request = parse_request(
        [
            ("verb", "ListIdentifiers"),
            ("until", "2021-05-06T07:08:09Z"),
            ("metadataPrefix", "oai_dc"),
            ("set", "low:HELKA"),
        ]
    )
    assert request.until == epoch("2021-05-06T07:08:09Z")
    assert request.since is None
    assert request.set_spec == "low:HELKA"
    assert request.arguments == {
        "verb": "ListIdentifiers",
        "metadataPrefix": "oai_dc",
        "set": "low:HELKA",
        "until": "2021-05-06T07:08:09Z",
    }
    assert format_datestamp(epoch("2021-05-06T07:08:09Z")) == "2021-05-06T07:08:09Z"


def test_resumption_token_alone_is_accepted() -> None:
    request = parse_request([("verb", "ListRecords"), ("resumptionToken", "abc")])
    assert request.resumption_token == "abc"
    assert request.metadata_prefix is None


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [(PREFIX + "000123456", 123456), (PREFIX + "123456", 123456), (PREFIX + "7", 7)],
)
def test_identifiers_padded_or_not(identifier: str, expected: int) -> None:
    assert parse_identifier(identifier, PREFIX) == expected


@pytest.mark.parametrize(
    "identifier",
    [PREFIX, PREFIX + "0", PREFIX + "1234567890", PREFIX + "12a", "oai:foo.bar/12345", "123"],
)
def test_illegal_identifiers_do_not_exist(identifier: str) -> None:
    with pytest.raises(OaiError) as caught:
        parse_identifier(identifier, PREFIX)
    assert caught.value.code == "idDoesNotExist"


def test_identifiers_are_written_padded() -> None:
    assert format_identifier(42, PREFIX) == PREFIX + "000000042"


STATE = ListState(
    verb="ListRecords",
    view="fin01",
    metadata_prefix="marc21",
    since=None,
    until=1_700_000_000,
    set_spec="fennica",
    after_seq=1234,
    cursor=100,
    complete_list_size=5000,
    expires=2_000_000_000,
)


def test_token_round_trip() -> None:
    signer = TokenSigner(b"secret")
    token = signer.issue(STATE)
    assert signer.check(token, verb="ListRecords", view="fin01", now=1_900_000_000) == STATE
    # safe to echo in XML and to send back in a URL untouched
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()


def token_error(
    token: str, *, verb: str = "ListRecords", view: str = "fin01", now: float = 1_900_000_000
) -> str:
    with pytest.raises(OaiError) as caught:
        TokenSigner(b"secret").check(token, verb=verb, view=view, now=now)
    return caught.value.code


def test_tampered_foreign_expired_or_misused_tokens_are_refused() -> None:
    token = TokenSigner(b"secret").issue(STATE)
    body, signature = token.split(".")
    forged = TokenSigner(b"other").issue(STATE)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    assert token_error(f"{flipped}.{signature}") == "badResumptionToken"
    assert token_error(forged) == "badResumptionToken"
    assert token_error("garbage") == "badResumptionToken"
    assert token_error(token, now=2_000_000_001) == "badResumptionToken"
    assert token_error(token, verb="ListIdentifiers") == "badResumptionToken"
    assert token_error(token, view="fin01alma") == "badResumptionToken"
