"""The benchmark's OAI-PMH page reader: counts, tokens and errors, plain and prefixed."""

from __future__ import annotations

import pytest

from bench.harvest import page_counts


def _page(records: int, token: str | None, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f' xmlns:{prefix}="http://www.openarchives.org/OAI/2.0/"' if prefix else ""
    body = "".join(
        f"<{p}record><{p}header><{p}identifier>oai:melinda.kansalliskirjasto.fi:{n}"
        f"</{p}identifier></{p}header><{p}metadata>{'x' * 3000}</{p}metadata></{p}record>"
        for n in range(records)
    )
    tail = (
        f'<{p}resumptionToken cursor="0">{token}</{p}resumptionToken>' if token is not None else ""
    )
    return (
        f'<?xml version="1.0"?><{p}OAI-PMH{ns}><{p}ListRecords>{body}{tail}'
        f"</{p}ListRecords></{p}OAI-PMH>"
    ).encode()


@pytest.mark.parametrize("prefix", ["", "oai"])
def test_a_page_of_records_and_its_token(prefix: str) -> None:
    assert page_counts(_page(25, "abc123", prefix)) == (25, "abc123")


def test_the_last_page_has_no_token() -> None:
    assert page_counts(_page(3, None)) == (3, None)
    assert page_counts(_page(3, "")) == (3, None)


def test_no_records_match_ends_the_harvest_and_other_errors_raise() -> None:
    empty = b'<OAI-PMH><error code="noRecordsMatch">none</error></OAI-PMH>'
    assert page_counts(empty) == (0, None)
    with pytest.raises(RuntimeError, match="badResumptionToken"):
        page_counts(b'<OAI-PMH><error code="badResumptionToken">gone</error></OAI-PMH>')
