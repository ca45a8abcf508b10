"""Whatever bytes arrive, the codecs answer with a record or a MalformedRecordError."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import MalformedRecordError
from gateway.records import (
    COLLECTION_END,
    COLLECTION_START,
    new_record,
    parse_alephseq,
    parse_iso2709,
    parse_marcxml,
    parse_oai_marc,
    read_records,
    record_to_alephseq,
    record_to_iso2709,
    record_to_marcxml,
    record_to_oai_marc,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_GOOD = new_record()
_SEEDS = [
    record_to_marcxml(_GOOD),
    COLLECTION_START + record_to_marcxml(_GOOD) + COLLECTION_END,
    record_to_iso2709(_GOOD),
    record_to_alephseq(_GOOD),
    record_to_oai_marc(_GOOD),
]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid encoding with bytes cut, replaced or inserted somewhere."""
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["cut", "replace", "insert"]))
        junk = draw(st.binary(min_size=1, max_size=4))
        if action == "cut":
            del data[at : at + len(junk)]
        elif action == "replace":
            data[at : at + len(junk)] = junk
        else:
            data[at:at] = junk
    return bytes(data)


def _only_malformed(function, data: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        function(data)
    except MalformedRecordError as exc:
        assert str(exc)


@FUZZ
@given(st.one_of(damaged(), st.binary(max_size=200)))
def test_single_record_parsers_never_leak_other_exceptions(data: bytes) -> None:
    for function in (parse_marcxml, parse_iso2709, parse_alephseq, parse_oai_marc):
        _only_malformed(function, data)


@FUZZ
@given(st.one_of(damaged(), st.binary(max_size=200)))
def test_read_records_yields_errors_with_positions(data: bytes) -> None:
    for position, record, error in read_records(io.BytesIO(data)):
        assert (record is None) != (error is None)
        if error is not None:
            assert isinstance(error, MalformedRecordError)
            assert position
