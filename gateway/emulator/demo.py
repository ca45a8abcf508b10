"""The demo data: generated records from a fixed seed and three demo libraries with known passwords."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from gateway.catalog import Catalog
from gateway.store import iter_chunks


@dataclass(frozen=True, slots=True)
class DemoLibrary:
    code: str
    name: str
    password: str
    sid_code: str
    lows: tuple[str, ...]
    privileged: bool = False


# Documented in the README; for a laptop or a CI job, never for a shared gateway.
DEMO_LIBRARIES: tuple[DemoLibrary, ...] = (
    DemoLibrary("HELKA", "Helsinki University Library", "helka-demo", "helka", ("HELKA",)),
    DemoLibrary("TAMK", "Tampere University of Applied Sciences", "tamk-demo", "tamk", ("TAMK",)),
    DemoLibrary(
        "FENNI",
        "National Library of Finland (Fennica)",
        "fenni-demo",
        "fenni",
        ("FENNI", "VIOLA", "FIKKA"),
        privileged=True,
    ),
)


def demo_key_path(keys_dir: Path, code: str) -> Path:
    """Where the demo SSH key pair of a library lives: `certs/demo-helka` and `.pub`."""
    return keys_dir / f"demo-{code.lower()}"


def generate_demo_keys(keys_dir: Path) -> list[Path]:
    """Create the demo libraries' SSH key pairs once (never committed: certs/ is ignored)."""
    import asyncssh

    keys_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for library in DEMO_LIBRARIES:
        path = demo_key_path(keys_dir, library.code)
        if not path.exists():
            key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{library.code} demo")
            key.write_private_key(str(path))
            key.write_public_key(str(path) + ".pub")
            path.chmod(0o600)
            made.append(path)
    return made


async def add_demo_libraries(catalog: Catalog, keys_dir: Path | None = None) -> None:
    for library in DEMO_LIBRARIES:
        keys: list[str] = []
        if keys_dir is not None:
            pub = demo_key_path(keys_dir, library.code).with_suffix(".pub")
            if await asyncio.to_thread(pub.exists):
                keys.append((await asyncio.to_thread(pub.read_text)).strip())
        await catalog.add_library(
            library.code,
            password=library.password,
            name=library.name,
            sid_code=library.sid_code,
            lows=library.lows,
            ssh_keys=keys,
            privileged=library.privileged,
        )


async def load_demo(
    catalog: Catalog, *, count: int, seed: int, keys_dir: Path | None = None
) -> int:
    """The Asteri authorities of every generated person and body, generated records linked
    to them, and the demo libraries; returns how many bibliographic records were loaded."""
    from gateway.emulator.generator import generate_records
    from gateway.emulator.generator.asteri import all_authority_ids, generate_authorities

    await add_demo_libraries(catalog, keys_dir)
    # the authorities first: the records' fin01alma views then show their dates
    for chunk in iter_chunks(generate_authorities(all_authority_ids()), 1000):
        await catalog.authorities.load(chunk)
    loaded = 0
    for batch in iter_chunks(generate_records(count, seed), 1000):
        report = await catalog.load(batch)
        loaded += report.loaded + report.updated
    return loaded
