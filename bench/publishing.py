"""The SFTP workload: one Alma publishing file uploaded to the gateway's SFTP inbox as a library
would, timed from the start of the upload until its report appears in `reports/`."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from gateway.publishing import AlmaHolding, write_alma_publishing_file

LIBRARY = "HELKA"
SID_CODE = "helka"


@dataclass(frozen=True)
class Publication:
    records: int
    file_mb: float
    upload_seconds: float
    applied_seconds: float
    status: str
    counts: dict[str, object]

    def as_json(self) -> dict[str, object]:
        return {
            "records": self.records,
            "file_mb": round(self.file_mb, 1),
            "upload_seconds": round(self.upload_seconds, 2),
            "seconds_to_applied": round(self.applied_seconds, 2),
            "status": self.status,
            "counts": self.counts,
        }


def make_key(directory: Path) -> Path:
    """A fresh ed25519 key pair for the library; returns the public key file."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    private = directory / "helka_key"
    key.write_private_key(str(private))
    key.write_public_key(str(private) + ".pub")
    return Path(str(private) + ".pub")


def write_file(path: Path, melinda_ids: list[int]) -> Path:
    """A publishing file holding these Melinda records (Alma MMS ids made up from them)."""
    holdings = (AlmaHolding(f"99{n:010d}506253", n) for n in melinda_ids)
    return write_alma_publishing_file(path, holdings)


async def publish(port: int, private_key: Path, source: Path, records: int) -> Publication:
    name = source.name
    async with (
        asyncssh.connect(
            "127.0.0.1", port, username=LIBRARY, client_keys=[str(private_key)], known_hosts=None
        ) as connection,
        connection.start_sftp_client() as sftp,
    ):
        started = time.perf_counter()
        await sftp.put(str(source), f"incoming/{name}")
        uploaded = time.perf_counter()
        report_path = f"reports/{name}.report.json"
        while not await sftp.exists(report_path):
            await asyncio.sleep(0.05)
        applied = time.perf_counter()
        async with sftp.open(report_path, "rb") as handle:
            report = json.loads(await handle.read())
    return Publication(
        records=records,
        file_mb=source.stat().st_size / 1e6,
        upload_seconds=uploaded - started,
        applied_seconds=applied - started,
        status=str(report.get("status")),
        counts=dict(report.get("counts", {})),
    )
