"""Reading Alma publishing files and writing their reports (gateway/publishing.py)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import gateway.publishing as publishing_module
from gateway.publishing import (
    AlmaHolding,
    MalformedPublishingFileError,
    PublishingFile,
    _read_collection,
    _read_plain_fast,
    is_full_publication,
    is_partial_upload,
    melinda_id_from_035,
    publishing_report,
    read_publishing_file,
    report_text,
    write_alma_publishing_file,
)

NS = "http://www.loc.gov/MARC21/slim"


def marcxml(*records: str, prefix: str = "") -> bytes:
    colon = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    body = "".join(records)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{colon}collection {xmlns}="{NS}">\n'
        f"{body}</{colon}collection>\n"
    ).encode()


def record(
    mms_id: str | None,
    *fields_035: str,
    status: str = "c",
    prefix: str = "",
    before_035: str = "",
) -> str:
    p = f"{prefix}:" if prefix else ""
    parts = [f"<{p}record><{p}leader>00000{status}am a2200000 i 4500</{p}leader>"]
    if mms_id is not None:
        parts.append(f'<{p}controlfield tag="001">{mms_id}</{p}controlfield>')
    parts.append(before_035)
    for value in fields_035:
        parts.append(
            f'<{p}datafield tag="035" ind1=" " ind2=" ">'
            f'<{p}subfield code="a">{value}</{p}subfield></{p}datafield>'
        )
    parts.append(f"</{p}record>\n")
    return "".join(parts)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_incremental_file_lists_holdings_and_withdrawals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "helka_20261122.xml",
        marcxml(
            record("991", "(FI-MELINDA)000000011"),
            record("992", "(FI-MELINDA)000000012"),
            record("993", "(FI-MELINDA)000000013", status="d"),
        ),
    )
    publishing = read_publishing_file(path)
    assert publishing.full is False
    assert publishing.records == 3
    assert publishing.holdings == [(11, "991"), (12, "992")]
    assert publishing.withdrawn_ids == [13]
    assert publishing.rejected == []


def test_full_file_is_known_by_its_name(tmp_path: Path) -> None:
    assert is_full_publication("helka_full_20261122.xml.gz")
    assert not is_full_publication("helka_20261122.xml")
    path = write(tmp_path, "helka_full.xml", marcxml(record("1", "(FI-MELINDA)000000001")))
    assert read_publishing_file(path).full is True


def test_partial_uploads_are_recognised() -> None:
    assert is_partial_upload("x.xml.part")
    assert is_partial_upload("x.xml.TMP")
    assert not is_partial_upload("x.xml")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("(FI-MELINDA)000123456", 123456),
        ("(FI-MELINDA) 000000007 ", 7),
        ("(FIN01)000123456", 123456),
        ("FCC000123456", 123456),
        ("(OCoLC)123456", None),
        ("(FI-MELINDA)000000000", None),
        ("(FI-MELINDA)12345678901", None),
        ("(FI-MELINDA)", None),
    ],
)
def test_melinda_id_forms(value: str, expected: int | None) -> None:
    assert melinda_id_from_035(value) == expected


def test_records_without_melinda_id_or_mms_id_are_rejected_with_reasons(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "f.xml",
        marcxml(
            record("991", "(OCoLC)12345"),
            record(None, "(FI-MELINDA)000000002"),
            record("993", "(OCoLC)1", "(FI-MELINDA)000000003"),
        ),
    )
    publishing = read_publishing_file(path)
    assert publishing.holdings == [(3, "993")]
    reasons = {r.record.position: r.reason for r in publishing.rejected}
    assert reasons == {1: "no 035 $a (FI-MELINDA) Melinda ID", 2: "no 001 (MMS ID)"}
    assert publishing.rejected[0].record.line == 3
    assert "record 1 (line 3), MMS ID 991" in str(publishing.rejected[0])


def test_a_title_held_by_one_record_is_not_withdrawn_by_another(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "f.xml",
        marcxml(
            record("991", "(FI-MELINDA)000000005", status="d"),
            record("992", "(FI-MELINDA)000000005"),
            record("993", "(FI-MELINDA)000000005"),
            record("994", "(FI-MELINDA)000000005", status="d"),
        ),
    )
    publishing = read_publishing_file(path)
    assert publishing.holdings == [(5, "992")]
    assert publishing.withdrawn_ids == []
    assert [r.record.mms_id for r in publishing.rejected] == ["991", "993", "994"]
    assert "still holds it" in publishing.rejected[0].reason
    assert "duplicate" in publishing.rejected[1].reason


def test_prefixed_and_unnamespaced_marcxml_are_read(tmp_path: Path) -> None:
    prefixed = write(
        tmp_path,
        "p.xml",
        marcxml(record("1", "(FI-MELINDA)000000001", prefix="marc"), prefix="marc"),
    )
    assert read_publishing_file(prefixed).holdings == [(1, "1")]
    bare = write(
        tmp_path,
        "b.xml",
        b"<collection>" + record("2", "(FI-MELINDA)000000002").encode() + b"</collection>",
    )
    assert read_publishing_file(bare).holdings == [(2, "2")]


def test_fields_before_and_after_035_do_not_confuse_the_reader(tmp_path: Path) -> None:
    extra = '<datafield tag="020" ind1=" " ind2=" "><subfield code="a">9789510000000</subfield></datafield>'
    path = write(tmp_path, "f.xml", marcxml(record("7", "(FI-MELINDA)000000070", before_035=extra)))
    assert read_publishing_file(path).holdings == [(70, "7")]


def test_gzip_and_tar_gz_read_like_plain_xml(tmp_path: Path) -> None:
    data = marcxml(
        record("1", "(FI-MELINDA)000000001"), record("2", "(FI-MELINDA)000000002", status="d")
    )
    gz = write(tmp_path, "f.xml.gz", gzip.compress(data))
    assert read_publishing_file(gz).holdings == [(1, "1")]
    tar_path = tmp_path / "f.tar.gz"
    with tarfile.open(tar_path, "w:gz") as archive:
        for n, payload in enumerate([data, marcxml(record("3", "(FI-MELINDA)000000003"))]):
            info = tarfile.TarInfo(f"BIBLIOGRAPHIC_{n}.xml")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        readme = tarfile.TarInfo("README")
        readme.size = 3
        archive.addfile(readme, io.BytesIO(b"hi\n"))
    publishing = read_publishing_file(tar_path)
    assert publishing.holdings == [(1, "1"), (3, "3")]
    assert publishing.withdrawn_ids == [2]
    assert publishing.records == 3


def test_truncated_file_is_rejected_whole_with_its_position(tmp_path: Path) -> None:
    data = marcxml(record("1", "(FI-MELINDA)000000001"), record("2", "(FI-MELINDA)000000002"))
    path = write(tmp_path, "f.xml", data[: len(data) - 40])
    with pytest.raises(MalformedPublishingFileError) as caught:
        read_publishing_file(path)
    assert "not well-formed XML" in str(caught.value)
    assert caught.value.position.startswith("line 4, column ")


def test_broken_markup_names_its_line(tmp_path: Path) -> None:
    broken = record("2", "(FI-MELINDA)000000002").replace("</leader>", "</leadr>")
    path = write(tmp_path, "f.xml", marcxml(record("1", "(FI-MELINDA)000000001"), broken))
    with pytest.raises(MalformedPublishingFileError) as caught:
        read_publishing_file(path)
    assert caught.value.position.startswith("line 4,")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.xml", b"", "not well-formed"),
        ("other.xml", b"<html><body/></html>", "not a MARCXML collection: found <html>"),
        ("fake.xml.gz", b"<collection/>", "cannot be read"),
        ("fake.tar.gz", gzip.compress(b"not a tar archive at all" * 40), "cannot be read"),
    ],
)
def test_unreadable_files_are_rejected_whole(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(MalformedPublishingFileError, match=message):
        read_publishing_file(path)


def test_tar_without_xml_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "f.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(MalformedPublishingFileError, match=r"holds no \.xml file"):
        read_publishing_file(path)


def test_a_doctype_is_refused_and_entities_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE collection [<!ENTITY s SYSTEM "file://{secret}">]>\n'
        f'<collection xmlns="{NS}">{record("&s;", "(FI-MELINDA)000000001")}</collection>'
    ).encode()
    path = write(tmp_path, "f.xml", data)
    with pytest.raises(MalformedPublishingFileError, match="DOCTYPE") as refused:
        read_publishing_file(path)
    assert "TOP-SECRET" not in repr(refused.value)


def test_reading_keeps_memory_flat(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read a process's peak memory")
    path = tmp_path / "big.xml"
    holdings = (AlmaHolding(f"99{n}", n) for n in range(1, 10_001))
    write_alma_publishing_file(path, holdings, extra_fields=20)
    size = path.stat().st_size
    # libxml2's memory is not Python's: measure the peak size of a process that reads the file
    # VmHWM is this process's own peak (ru_maxrss would count the forking parent's too)
    probe = (
        "import sys; from pathlib import Path\n"
        "from gateway.publishing import read_publishing_file\n"
        "n = len(read_publishing_file(Path(sys.argv[1])).holdings)\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(n, int(peak.split()[1]) * 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    count, peak = map(int, done.stdout.split())
    assert count == 10_000
    # a parsed tree of the whole file would take several times its size; one record, little
    assert size > 25_000_000
    assert peak < 120_000_000, (peak, size)


def test_alma_writer_round_trips_through_gzip(tmp_path: Path) -> None:
    path = write_alma_publishing_file(
        tmp_path / "f_full.xml.gz",
        [
            AlmaHolding("1<&>", 1, title="A & B"),
            AlmaHolding("2", 2, withdrawn=True),
            AlmaHolding("3", None),
        ],
    )
    publishing = read_publishing_file(path)
    assert publishing.full
    assert publishing.holdings == [(1, "1<&>")]
    assert publishing.withdrawn_ids == [2]
    assert [r.reason for r in publishing.rejected] == ["no 035 $a (FI-MELINDA) Melinda ID"]


@dataclass
class Outcome:
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    held: bool = False
    held_reason: str = ""


def _sample(tmp_path: Path, name: str = "helka.xml") -> Path:
    return write(
        tmp_path,
        name,
        marcxml(
            record("991", "(FI-MELINDA)000000001"),
            record("992", "(FI-MELINDA)000000002"),
            record("993", "(FI-MELINDA)000000099"),
            record("994", "(OCoLC)1"),
            record("995", "(FI-MELINDA)000000003", status="d"),
        ),
    )


def test_report_counts_ids_and_rejections(tmp_path: Path) -> None:
    publishing = read_publishing_file(_sample(tmp_path))
    outcome = Outcome(added=[2, 1], removed=[3], unknown=[99])
    report = publishing_report(publishing, file_name="helka.xml", library="HELKA", outcome=outcome)
    assert report["status"] == "applied"
    assert report["mode"] == "incremental"
    assert report["counts"] == {"added": 2, "removed": 1, "unchanged": 0, "rejected": 2}
    assert report["added"] == ["000000001", "000000002"]
    assert report["removed"] == ["000000003"]
    assert [(r["mms_id"], r["reason"]) for r in report["rejected"]] == [
        ("993", "unknown Melinda ID"),
        ("994", "no 035 $a (FI-MELINDA) Melinda ID"),
    ]
    json.dumps(report)
    text = report_text(report).decode()
    assert "Added:     2" in text
    assert "record 3 (line 5), MMS ID 993, Melinda ID 000000099: unknown Melinda ID" in text


def test_report_of_a_held_full_file_lists_no_changes(tmp_path: Path) -> None:
    publishing = read_publishing_file(_sample(tmp_path, "helka_full.xml"))
    outcome = Outcome(held=True, held_reason="the full file would remove 5 of 10 LOW HELKA")
    report = publishing_report(
        publishing, file_name="helka_full.xml", library="HELKA", outcome=outcome
    )
    assert report["status"] == "held"
    assert report["held"] is True
    assert report["mode"] == "full"
    assert report["added"] == [] and report["counts"]["added"] == 0
    assert "Held:      the full file would remove 5 of 10" in report_text(report).decode()


def test_report_of_a_rejected_file_carries_the_error() -> None:
    report = publishing_report(
        None, file_name="x.xml", library="HELKA", error="x.xml is not well-formed XML (line 3)"
    )
    assert report["status"] == "rejected"
    assert report["records"] == 0
    text = report_text(report).decode()
    assert "Error:     x.xml is not well-formed XML (line 3)" in text
    assert "Nothing was applied." in text


def _tree_read(path: Path) -> PublishingFile:
    """What the lxml tree path reads from a plain file (the fast path's reference)."""
    publishing = PublishingFile(name=path.name, full=False)
    _read_collection(str(path), publishing)
    return publishing


@pytest.mark.parametrize(
    ("data", "fast"),
    [
        # Alma's plain form, as the writer writes it: the byte-pattern path reads it
        (
            marcxml(
                record("1", "(FI-MELINDA)000000001"),
                record("2", "(OCoLC)7", "FCC000000002", status="d"),
                record(
                    "3",
                    "(FI-MELINDA)000000003",
                    before_035='<controlfield tag="005">x</controlfield>',
                ),
                record(None, "(FI-MELINDA)000000004"),
                record("5"),
                record("  6  ", "(FIN01)000000001"),
                record("7", "(FI-MELINDA)000000007", status="d"),
            ),
            True,
        ),
        # pretty-printed, as Alma may write it (LF or CR LF): lines are counted as libxml2 does
        (
            marcxml(
                record("1", "(FI-MELINDA)000000001").replace("><", ">\n  <"),
                record("2", "(FI-MELINDA)000000002", status="d").replace("><", ">\r\n\t<"),
                "\n\n" + record("3", "(FI-MELINDA)000000003").replace("<leader>", "\n<leader>"),
            ),
            True,
        ),
        # with Windows line ends, and an 001 after the data fields
        (
            marcxml(
                record("1", "(FI-MELINDA)000000001")
                .replace("><", ">\r\n  <")
                .replace("</record>", "</record>"),
                record("2", "(FI-MELINDA)000000002").replace("><", ">\n\t<"),
                '<record><leader>00000cam</leader><datafield tag="245" ind1="1" ind2="0">'
                '<subfield code="a">A &amp; B</subfield></datafield>'
                '<controlfield tag="001">late</controlfield></record>\n',
            ),
            False,
        ),
        (marcxml(record("1&amp;2", "(FI-MELINDA)000000001")), False),
        (marcxml(record("1", "(FI-MELINDA)000000001") + "<!-- a comment -->"), False),
        (marcxml(record("1", "<![CDATA[(FI-MELINDA)000000001]]>")), False),
        (marcxml(record("1<?pi x?>", "(FI-MELINDA)000000001")), False),
        (
            marcxml(record("1", "(FI-MELINDA)000000001").replace("<record>", '<record xmlns="">')),
            False,
        ),
        (
            marcxml(
                record("1", "(FI-MELINDA)000000001"),
                record("2", "(FI-MELINDA)000000002").replace(
                    '<controlfield tag="001">', '<controlfield xmlns="urn:x" tag="001">'
                ),
            ),
            False,
        ),
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            + marcxml(record("\xe4", "(FI-MELINDA)000000001"))
            .split(b"\n", 1)[1]
            .replace("\xe4".encode(), b"\xe4"),
            False,
        ),
    ],
)
def test_fast_reading_equals_the_tree_path(tmp_path: Path, data: bytes, fast: bool) -> None:
    path = write(tmp_path, "f.xml", data)
    expected = _tree_read(path)
    probe = PublishingFile(name="f.xml", full=False)
    assert _read_plain_fast(path, probe) is fast
    if fast:
        assert probe.records == expected.records
    publishing = read_publishing_file(path)
    assert publishing.records == expected.records
    assert publishing.present == expected.present
    assert publishing.withdrawn == expected.withdrawn
    assert publishing.rejected == expected.rejected


def test_fast_reading_spans_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing_module, "_FAST_CHUNK", 1000)  # records cross chunk ends
    path = tmp_path / "f.xml"
    holdings = (AlmaHolding(f"99{n}", n, withdrawn=n % 7 == 0) for n in range(1, 301))
    write_alma_publishing_file(path, holdings, extra_fields=2)
    expected = _tree_read(path)
    probe = PublishingFile(name="f.xml", full=False)
    assert _read_plain_fast(path, probe)
    assert probe.records == 300
    assert (probe.present, probe.withdrawn, probe.rejected) == (
        expected.present,
        expected.withdrawn,
        expected.rejected,
    )
