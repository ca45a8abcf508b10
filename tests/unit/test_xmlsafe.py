"""The one XML reading configuration: DOCTYPEs refused, records streamed, junk dropped, echoes clean."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from lxml import etree

from gateway.records import xmlsafe
from tests.conftest import ROOT

DOCTYPES = [
    b'<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/hostname">]><c>&x;</c>',
    b'<!DOCTYPE c SYSTEM "http://127.0.0.1:9/c.dtd"><c/>',
    b"<!DOCTYPE c><c/>",
    b'<!DOCTYPE c [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><c>&b;</c>',
]


@pytest.mark.parametrize("document", DOCTYPES)
def test_a_doctype_is_refused_whole_and_partly_streamed(document: bytes) -> None:
    with pytest.raises(xmlsafe.DoctypeRefusedError, match="DOCTYPE"):
        xmlsafe.parse(document)
    with pytest.raises(xmlsafe.DoctypeRefusedError):
        list(xmlsafe.iterparse(io.BytesIO(document), events=("end",)))
    with pytest.raises(etree.XMLSyntaxError):  # every reader's existing branch takes it
        list(xmlsafe.RecordElements(io.BytesIO(document), frozenset({"record"})))


def test_an_undeclared_entity_is_not_well_formed() -> None:
    with pytest.raises(etree.XMLSyntaxError, match="xxe"):
        xmlsafe.parse(b"<c>&xxe;</c>")


def test_records_are_streamed_and_everything_else_counted_as_foreign() -> None:
    document = b"<c><x/><r><a/></r><w><r><a/><a/></r></w><x/><x/></c>"
    elements = xmlsafe.RecordElements(io.BytesIO(document), frozenset({"r"}))
    assert [len(record) for record in elements] == [1, 2]
    junk = xmlsafe.RecordElements(io.BytesIO(b"<c>" + b"<x/>" * 5000 + b"</c>"), frozenset({"r"}))
    assert list(junk) == [] and junk.foreign == 5000


def test_too_much_markup_without_a_record_end_is_refused() -> None:
    # the count is per chunk read (32 KB): a margin past the limit
    many = b"<a/>" * (xmlsafe.MAX_MARKUP_BETWEEN_RECORDS + 20_000)
    for document in (b"<c><r>" + many + b"</r></c>", b"<c><r/>" + many + b"<r/></c>"):
        with pytest.raises(xmlsafe.OversizedRecordError, match="and attributes without a record ending"):
            list(xmlsafe.RecordElements(io.BytesIO(document), frozenset({"r"})))
    # one start tag of a million attributes: the same
    attributes = b" ".join(b'a%d="1"' % n for n in range(1_000_000))
    with pytest.raises(xmlsafe.OversizedRecordError):
        list(xmlsafe.RecordElements(io.BytesIO(b"<c><x " + attributes + b"/></c>"), frozenset({"r"})))
    # many records, each small: no limit
    records = b"<c>" + b"<r><a/><a/></r>" * (xmlsafe.MAX_MARKUP_BETWEEN_RECORDS // 2) + b"</c>"
    elements = xmlsafe.RecordElements(io.BytesIO(records), frozenset({"r"}))
    assert sum(1 for _ in elements) == xmlsafe.MAX_MARKUP_BETWEEN_RECORDS // 2


def test_junk_costs_no_memory() -> None:
    # a child process: its own peak resident size is the measure (ru_maxrss, KB on Linux)
    probe = (
        "import resource\n"
        "from gateway.records import xmlsafe\n"
        "idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "class Junk:\n"  # 11 MB of <w><x/><x/></w>, made as it is read
        "    def __init__(self):\n"
        "        self.left, self.buffer = 700_000, b'<c>'\n"
        "    def read(self, size=-1):\n"
        "        while len(self.buffer) < size and self.left > 0:\n"
        "            self.buffer += b'<w><x/><x/></w>\\n' * 4096\n"
        "            self.left -= 4096\n"
        "            if self.left <= 0:\n"
        "                self.buffer += b'</c>'\n"
        "        out, self.buffer = self.buffer[:size], self.buffer[size:]\n"
        "        return out\n"
        "elements = xmlsafe.RecordElements(Junk(), frozenset({'r'}))\n"
        "try:\n"
        "    list(elements)\n"
        "except xmlsafe.OversizedRecordError:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - idle)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    grown_kb = int(done.stdout)  # refused; had the tree been kept, ~300 MB
    assert grown_kb < 50 * 1024, grown_kb


@pytest.mark.parametrize("text", ["a\x01b", "\x00", "x\ud800y", "\ufffe", "<&>\"'", "ä😀\t\n"])
def test_escaped_values_are_always_well_formed(text: str) -> None:
    element = etree.fromstring(f"<e a={xmlsafe.quoteattr(text)}>{xmlsafe.escape(text)}</e>")
    assert element.get("a") == xmlsafe.clean_text(text)
    assert not any(ord(c) < 9 or 13 < ord(c) < 32 for c in element.get("a", ""))
