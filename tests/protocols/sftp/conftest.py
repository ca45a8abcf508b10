"""SFTP publishing fixtures: a library with an SSH key and records, driven by OpenSSH's sftp."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pymarc
import pytest

from gateway.catalog import Catalog
from gateway.emulator.app import running_gateway
from gateway.emulator.host import Gateway
from gateway.publishing import AlmaHolding, write_alma_publishing_file
from gateway.records import lows, sids
from protocols.sftp.server import SftpListener
from tests.conftest import openssh_sftp_command, test_settings

LIBRARY = "HELKA"
SID_CODE = "helka"
OTHER = "TAMK"
RECORDS = 20  # Melinda IDs 1..20 exist in the store


def melinda_record(melinda_id: int) -> pymarc.Record:
    record = pymarc.Record(leader="00000cam a2200000 i 4500")
    record.add_field(pymarc.Field(tag="001", data=f"{melinda_id:09d}"))
    record.add_field(pymarc.Field(tag="003", data="FI-MELINDA"))
    record.add_field(pymarc.Field(tag="008", data="261122s2026    fi ||||||||||||||||fin||"))
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", f"Julkaisu {melinda_id}")],
        )
    )
    return record


async def load_records(catalog: Catalog, ids: Iterable[int], batch: int = 2000) -> None:
    pending: list[pymarc.Record] = []
    for melinda_id in ids:
        pending.append(melinda_record(melinda_id))
        if len(pending) == batch:
            await catalog.load(pending)
            pending = []
    if pending:
        await catalog.load(pending)


def client_key(directory: Path, name: str) -> tuple[Path, str]:
    """A fresh ed25519 key pair for the OpenSSH client: (private key file, public key line)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{name}@alma")
    path = directory / name
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    return path, key.export_public_key().decode().strip()


@dataclass(frozen=True)
class SftpRun:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class PublishingLibrary:
    """A library as Alma sees it: an SFTP account, local files, and the store to check."""

    gateway: Gateway
    code: str
    key: Path
    work: Path

    @property
    def port(self) -> int:
        return self.gateway.ports["sftp"]

    @property
    def root(self) -> Path:
        """The library's directory on the gateway's disk (for planting files, never for reading results)."""
        return self.gateway.settings.data_dir / "sftp" / self.code

    async def sftp(
        self, *commands: str, user: str | None = None, key: Path | None = None
    ) -> SftpRun:
        return await run_sftp(self.port, user or self.code.lower(), key or self.key, commands)

    async def settled(self) -> None:
        """Until the gateway has applied and reported every complete upload."""
        listener = self.gateway.servers["sftp"]
        assert isinstance(listener, SftpListener)
        await asyncio.wait_for(listener.inbox.wait_idle(), 60)

    async def file(self, name: str, holdings: Sequence[AlmaHolding]) -> Path:
        # the writer is gateway code: off the event loop, as blockbuster insists
        return await asyncio.to_thread(write_alma_publishing_file, self.work / name, holdings)

    async def publish(self, name: str, holdings: Sequence[AlmaHolding]) -> dict[str, Any]:
        """Upload a file to incoming/, wait for it, and fetch its report with `get`."""
        local = await self.file(name, holdings)
        run = await self.sftp(f"put {local} incoming/{name}")
        assert run.returncode == 0, run.stderr
        await self.settled()
        return await self.report(name)

    async def report(self, name: str) -> dict[str, Any]:
        target = self.work / f"{name}.report.json"
        target.unlink(missing_ok=True)
        run = await self.sftp(f"get reports/{name}.report.json {target}")
        assert run.returncode == 0, run.stderr
        report: dict[str, Any] = json.loads(target.read_text())
        return report

    async def lows_and_sids(self, melinda_id: int) -> tuple[list[str], list[tuple[str, str]]]:
        record = (await self.gateway.catalog.get(melinda_id)).record()
        return lows(record), sids(record)


async def run_sftp(port: int, user: str, key: Path, commands: Sequence[str]) -> SftpRun:
    """OpenSSH's sftp in batch mode: it stops at the first failing command (exit 1)."""
    process = await asyncio.create_subprocess_exec(
        *openssh_sftp_command(key, port, user),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    script = "".join(f"{command}\n" for command in commands).encode()
    out, err = await asyncio.wait_for(process.communicate(script), 60)
    assert process.returncode is not None
    return SftpRun(process.returncode, out.decode(), err.decode())


async def _library(gateway: Gateway, tmp_path: Path) -> PublishingLibrary:
    work = tmp_path / "alma"
    work.mkdir()
    key, public = client_key(work, "helka_key")
    await gateway.catalog.add_library(LIBRARY, sid_code=SID_CODE, lows=[LIBRARY], ssh_keys=[public])
    await load_records(gateway.catalog, range(1, RECORDS + 1))
    return PublishingLibrary(gateway, LIBRARY, key, work)


@pytest.fixture
async def helka(gateway: Gateway, tmp_path: Path) -> PublishingLibrary:
    """Library HELKA (LOW HELKA, SID code helka) with an SSH key; records 1..20 in the store."""
    return await _library(gateway, tmp_path)


@pytest.fixture
async def small_limits(tmp_path: Path) -> AsyncIterator[PublishingLibrary]:
    """HELKA on a gateway that takes files of at most 2000 bytes and two waiting files."""
    settings = test_settings(tmp_path / "data", sftp_max_file_bytes=2000, sftp_max_files=2)
    async with running_gateway(settings) as gateway:
        yield await _library(gateway, tmp_path)
