"""The two engines under test as child processes: the gateway (`melinda-gateway serve`) and Zebra.

Zebra's configuration is written into a temporary directory at run time, as Koha runs Zebra for
bibliographic records: MARCXML (the gateway's live records, exported as ISO 2709 and turned
into a MARCXML collection by yaz-marcdump) stored and indexed by the DOM filter with an XSLT
of our own (`index.xsl`) that indexes exactly what the benchmark searches in the gateway:
title words (245 $abnp, 240, 246, 130, 730, 740, 242), author words (100/110/111/700/710/711),
ISBN (020 $a) and the local number (001), all as word indexes. SRU answers with the stored
MARCXML as it is; Z39.50's USMARC is converted from it by YAZ (Koha's retrieval rules). Zebra
gets only the live records (the gateway's searches skip deleted ones), and its default charmap
folds ASCII case only, so the bench searches words without diacritics. zebrasrv answers SRU
on the same port; a CQL-to-PQF map sends bath.isbn, dc.title, dc.author and rec.id to Bib-1
use 7, 4, 1003 and 12. zebrasrv runs in its default mode, a forked process per connection
(as Koha runs it), so with many clients it can use every core; the gateway uses as many
worker processes as `--workers` says.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench.pyspy import Profiler
from bench.search import Target
from bench.system import directory_mb, free_port, wait_for_port

GATEWAY = Path(sys.executable).with_name("melinda-gateway")
ZEBRA_TAB = Path("/usr/share/idzebra-2.0/tab")
ZEBRA_DATABASE = "fin01"

# Which fields and subfields feed each Zebra index (Bib-1 names from bib1.att).
ZEBRA_INDEXES: dict[str, tuple[str, str]] = {
    "020": ("ISBN", "a"),
    "245": ("title", "abnp"),
    "240": ("title", "a"),
    "246": ("title", "ab"),
    "130": ("title", "a"),
    "730": ("title", "a"),
    "740": ("title", "a"),
    "242": ("title", "a"),
    "100": ("author", "abcdq"),
    "110": ("author", "ab"),
    "111": ("author", "a"),
    "700": ("author", "abcdq"),
    "710": ("author", "ab"),
    "711": ("author", "a"),
}

PQF_PROPERTIES = """\
set.cql = info:srw/cql-context-set/1/cql-v1.2
set.dc = info:srw/cql-context-set/1/dc-v1.1
set.bath = http://zing.z3950.org/cql/bath/2.0/
set.rec = info:srw/cql-context-set/2/rec-1.1
index.dc.title = 1=4
index.dc.author = 1=1003
index.bath.isbn = 1=7
index.rec.id = 1=12
relation.eq = 2=3
relation.= = 2=3
relation.scr = 2=3
structure.* = 4=1
truncation.none = 5=100
position.any = 3=3 6=1
always =
"""

# As Koha runs Zebra for bibliographic records: MARCXML stored and indexed by the DOM filter
# (Koha's zebra_dom setting); SRU's MARCXML is the stored record as it is, Z39.50's USMARC is
# converted from it by YAZ in C (Koha's koha-conf.xml retrieval rules).
SERVER_XML = """\
<yazgfs>
  <server>
    <config>zebra.cfg</config>
    <cql2rpn>pqf.properties</cql2rpn>
    <retrievalinfo>
      <retrieval syntax="usmarc" name="F">
        <backend syntax="xml" name="marcxml">
          <marc inputformat="xml" outputformat="marc" inputcharset="utf-8" outputcharset="utf-8"/>
        </backend>
      </retrieval>
      <retrieval syntax="xml" name="marcxml" identifier="info:srw/schema/1/marcxml-v1.1"/>
    </retrievalinfo>
  </server>
</yazgfs>
"""

DOM_CONFIG = """\
<?xml version="1.0" encoding="UTF-8"?>
<dom xmlns="http://indexdata.com/zebra-2.0">
  <input syntax="xml">
    <xmlreader level="1"/>
  </input>
  <extract name="index">
    <xslt stylesheet="index.xsl"/>
  </extract>
  <retrieve name="marcxml"/>
</dom>
"""


def index_xsl() -> str:
    """The DOM filter's indexing stylesheet: the same fields and subfields as ZEBRA_INDEXES, as
    word indexes, and the 001 as Local-number."""
    rules = []
    for tag, (index, codes) in ZEBRA_INDEXES.items():
        test = " or ".join(f"@code='{code}'" for code in codes)
        rules.append(
            f'<xsl:for-each select="marc:datafield[@tag=\'{tag}\']/marc:subfield[{test}]">'
            f'<z:index name="{index}:w"><xsl:value-of select="."/></z:index></xsl:for-each>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
        ' xmlns:marc="http://www.loc.gov/MARC21/slim" xmlns:z="http://indexdata.com/zebra-2.0">\n'
        '<xsl:output method="xml" encoding="UTF-8"/>\n'
        '<xsl:template match="text()"/>\n'
        '<xsl:template match="marc:record"><z:record>'
        '<z:index name="Local-number:w"><xsl:value-of select="marc:controlfield[@tag=\'001\']"/>'
        "</z:index>\n" + "\n".join(rules) + "\n</z:record></xsl:template>\n</xsl:stylesheet>\n"
    )


def zebra_available() -> bool:
    return all(shutil.which(tool) for tool in ("zebraidx", "zebrasrv")) and ZEBRA_TAB.is_dir()


def zebra_cfg(root: Path) -> str:
    return (
        f"profilePath: {root / 'tab'}:{ZEBRA_TAB}\n"
        "attset: bib1.att\n"
        f"recordType: dom.{root / 'dom-config.xml'}\n"
        f"register: {root / 'register'}:100G\n"
        f"keyTmpDir: {root / 'tmp'}\n"
        f"setTmpDir: {root / 'tmp'}\n"
        f"lockDir: {root / 'lock'}\n"
        # Stored records answer Present without the input file; keys allow updates.
        "storeData: 1\n"
        "storeKeys: 1\n"
        # Sort memory for zebraidx, in MB: the default (8) spills to many small runs.
        "memMax: 256\n"
    )


def write_zebra_config(root: Path) -> None:
    for sub in ("tab", "register", "tmp", "lock"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "dom-config.xml").write_text(DOM_CONFIG)
    (root / "tab" / "index.xsl").write_text(index_xsl())  # looked up on the profile path
    (root / "zebra.cfg").write_text(zebra_cfg(root))
    (root / "pqf.properties").write_text(PQF_PROPERTIES)
    (root / "server.xml").write_text(SERVER_XML)


@dataclass
class Indexing:
    seconds: float
    records_per_second: float
    register_mb: float
    peak_rss_mb: float


def wait_with_peak(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for a child; (exit code, its peak RSS in MB) from the kernel's rusage."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024


def iso2709_to_marcxml(source: Path, target: Path) -> None:
    """yaz-marcdump's MARCXML collection of an ISO 2709 file (UTF-8 both)."""
    with target.open("wb") as out:
        subprocess.run(
            ["yaz-marcdump", "-i", "marc", "-o", "marcxml", "-f", "utf-8", "-t", "utf-8", str(source)],
            stdout=out,
            check=True,
        )


def zebra_index(root: Path, marcxml: Path, count: int) -> Indexing:
    """zebraidx the corpus (a MARCXML collection) into a fresh register, timed."""
    write_zebra_config(root)
    log = root / "zebraidx.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["zebraidx", "-c", "zebra.cfg", "-d", ZEBRA_DATABASE, "update", str(marcxml)],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        code, peak = wait_with_peak(process)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"zebraidx failed ({code}); see {log}")
    return Indexing(seconds, count / seconds, directory_mb(root / "register"), peak)


@dataclass
class Server:
    """A child server process and its ports."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int] = field(default_factory=dict)
    log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.log is not None:
            self.log.close()


def gateway_target(server: Server) -> Target:
    """Where the gateway answers searches: Melinda's SRU path for bibliographic records."""
    http = f"http://127.0.0.1:{server.ports['http']}/sru/bib"
    return Target("gateway", http, "2.0", server.ports["z3950"], "fin01")


def zebra_target(server: Server) -> Target:
    port = server.ports["z3950"]
    http = f"http://127.0.0.1:{port}/{ZEBRA_DATABASE}"
    return Target("zebra", http, "1.2", port, ZEBRA_DATABASE)


async def start_zebra(root: Path) -> Server:
    port = free_port()
    log = (root / "zebrasrv.out").open("wb")
    process = subprocess.Popen(
        # Warnings only: by default zebrasrv logs every request; the gateway runs at WARNING.
        [
            "zebrasrv",
            "-f",
            "server.xml",
            "-v",
            "none,fatal,warn",
            "-l",
            str(root / "zebrasrv.log"),
            f"tcp:127.0.0.1:{port}",
        ],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, {"z3950": port, "http": port}, log)
    try:
        await wait_for_port(port, server.alive)
    except BaseException:
        server.stop()
        raise
    return server


async def start_gateway(
    data_dir: Path, env: dict[str, str] | None = None, *, workers: int = 1
) -> Server:
    """`workers` > 1: `serve --workers N` (RSS figures are then the largest worker's)."""
    ports = {"http": free_port(), "z3950": free_port(), "sftp": free_port()}
    log = (data_dir.parent / "gateway.log").open("wb")
    process = subprocess.Popen(
        [
            str(GATEWAY),
            "serve",
            "--no-demo",
            "--data-dir",
            str(data_dir),
            "--http-port",
            str(ports["http"]),
            "--z3950-port",
            str(ports["z3950"]),
            "--sftp-port",
            str(ports["sftp"]),
            "--workers",
            str(workers),
        ],
        env={**os.environ, "MELINDA_GATEWAY_LOG_LEVEL": "WARNING", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, ports, log)
    try:
        for port in ports.values():
            await wait_for_port(port, server.alive)
        # the ports answer with the first worker up; the others still start (seconds of CPU
        # on the machine's cores) until the command says the group is running
        await wait_for_banner(data_dir.parent / "gateway.log", server.alive)
    except BaseException:
        server.stop()
        raise
    return server


async def wait_for_banner(log: Path, alive: Callable[[], bool], timeout: float = 120) -> None:
    """Until `serve` has printed that the gateway is running (every worker started)."""
    deadline = time.monotonic() + timeout
    while b"Melinda gateway is running" not in await asyncio.to_thread(log.read_bytes):
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not say it is running; see {log}")
        await asyncio.sleep(0.1)


async def run_cli(
    *args: str, env: dict[str, str] | None = None, profile: Path | None = None
) -> tuple[str, float]:
    """Run `melinda-gateway ARGS` to the end; (its output, its peak RSS in MB). A process that
    printed a traceback gets a few seconds to exit, then is killed (a crashed command can hang
    at exit on its store's threads). With `profile`, py-spy records the command into that file."""

    def work() -> tuple[str, float]:
        process = subprocess.Popen(
            [str(GATEWAY), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        assert process.stdout is not None
        profiler = Profiler(process.pid, profile) if profile is not None else None
        lines: list[bytes] = []
        watchdog: threading.Timer | None = None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(b"Traceback") and watchdog is None:
                watchdog = threading.Timer(10, process.kill)
                watchdog.start()
        code, peak = wait_with_peak(process)
        if watchdog is not None:
            watchdog.cancel()
        if profiler is not None:
            profiler.stop()
        output = b"".join(lines).decode("utf-8", "replace")
        if code != 0 or watchdog is not None:
            raise RuntimeError(f"melinda-gateway {args[0]} failed ({code}): {output[-2000:]}")
        return output, peak

    return await asyncio.to_thread(work)
