"""Every example block of the README, run as written against a served demo store.

The server is the real `serve` with the demo data, as `./scripts/serve` runs it; each block
runs in a directory laid out like a fresh clone (examples/, certs/, scripts/, .venv), with
the README's ports replaced by the free ones the server got. `Z>` lines are what the user
types into the yaz-client started on the line before.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ROOT, require_tool
from tests.e2e.cli_support import Server, serving

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
BLOCK = re.compile(r"^( *)```sh\n(.*?)^ *```", re.M | re.S)
# Blocks that start the gateway or the whole suite themselves, or take minutes: not run here.
NOT_RUN = ("./scripts/serve", "./scripts/test", "scripts/bench")


@dataclass
class Step:
    command: str
    typed: list[str] = field(default_factory=list)  # `Z>` lines: yaz-client's input


def readme_blocks() -> list[list[Step]]:
    blocks = []
    for indent, body in BLOCK.findall(README.read_text(encoding="utf-8")):
        lines = [line[len(indent) :] for line in body.splitlines()]
        steps: list[Step] = []
        pending = ""
        for line in lines:
            if line.startswith("Z> "):
                steps[-1].typed.append(line[3:])
                continue
            pending += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                if pending.strip():
                    steps.append(Step(pending.strip()))
                pending = ""
        if not any(marker in step.command for step in steps for marker in NOT_RUN):
            blocks.append(steps)
    return blocks


def test_the_readme_has_example_blocks_of_every_interface() -> None:
    commands = " ".join(s.command for block in readme_blocks() for s in block)
    for needle in ("/sru/", "yaz-client", "op=update-doc", "/oai-pmh/", "sftp ", "_admin/faults"):
        assert needle in commands, needle


def on_ports(command: str, server: Server) -> str:
    http = server.http.rsplit(":", 1)[1]
    z3950 = server.urls["z3950"].split(":")[1].split("/")[0]
    return (
        command.replace("127.0.0.1:8080", f"127.0.0.1:{http}")
        .replace("localhost:8080", f"localhost:{http}")
        .replace("127.0.0.1:2100", f"127.0.0.1:{z3950}")
        .replace("-P 2222", f"-P {server.sftp_port}")
    )


def check_http(command: str, out: str) -> None:
    """An HTTP example's answer: what it asked for, not an error of its protocol."""
    if "/_admin/" in command:
        answer = json.loads(out)
        assert isinstance(answer, dict) and "error" not in answer, out
        return
    root = etree.fromstring(out.encode())
    text = out
    if "/sru/" in command:
        assert "info:srw/diagnostic" not in text, text[:2000]
        if "query=" in command:
            hits = root.xpath("//*[local-name()='numberOfRecords']/text()")
            assert hits and int(hits[0]) > 0, f"{command}: no records"
        if "scanClause=" in command:
            assert root.xpath("//*[local-name()='term']"), text[:2000]
    elif "/X" in command:
        errors = root.xpath("//error/text()")
        assert all("successfully" in e for e in errors), errors
    elif "/oai-pmh/" in command:
        assert not root.xpath("//*[local-name()='error']"), text[:2000]
        if "verb=List" in command:
            assert root.xpath("//*[local-name()='header']"), text[:2000]


def check_yaz(step: Step, out: str) -> None:
    finds = [t for t in step.typed if t.startswith("find")]
    hits = [int(n) for n in re.findall(r"Number of hits: (\d+)", out)]
    # over SRU, yaz-client's `show` searches again (SRU keeps no result sets): more hit lines
    assert len(hits) >= len(finds) and all(n > 0 for n in hits), out
    shows = sum(1 for t in step.typed if t.startswith("show"))
    assert out.count("<record") + out.count("Record type:") >= shows, out
    assert "iagnostic" not in out, out


def run_step(step: Step, server: Server, cwd: Path, env: dict[str, str]) -> None:
    command = on_ports(step.command, server)
    if command.startswith("yaz-client"):
        require_tool("yaz-client")
    if command.startswith("sftp"):
        require_tool("sftp")
    stdin = "".join(f"{line}\n" for line in step.typed) + ("quit\n" if step.typed else "")
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(
            ["bash", "-c", command], input=stdin, cwd=cwd, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        # a report appears once the uploaded file has been applied: the user waits a moment
        if done.returncode == 0 or not command.startswith("sftp") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done.returncode == 0, f"{step.command}\n{done.stdout}\n{done.stderr}"
    if command.startswith("curl"):
        check_http(command, done.stdout)
    elif command.startswith("yaz-client"):
        check_yaz(step, done.stdout)
    elif command.startswith("cat ") and "report" in command:
        assert "applied" in done.stdout, done.stdout
    elif "melinda-gateway load" in command:
        assert "loaded 5, replaced 0, rejected 0" in done.stdout, done.stdout + done.stderr
    elif "melinda-gateway library list" in command:
        assert "HELKA" in done.stdout and "FENNI" in done.stdout, done.stdout


def fresh_clone(tmp_path: Path) -> Path:
    """A directory laid out like the project's root after `./scripts/serve` ran once: its own
    scripts/ and examples/, and a .venv that borrows this one's packages (so the scripts'
    bootstrap finds it installed and never reinstalls this checkout from elsewhere)."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for shared in ("scripts", "examples"):
        shutil.copytree(ROOT / shared, clone / shared)
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    os.utime(clone / "pyproject.toml", (0, 0))  # older than the install stamp below
    real, venv = ROOT / ".venv", clone / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib").symlink_to(real / "lib")
    shutil.copy(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    for name in ("python", "python3", "melinda-gateway"):
        (venv / "bin" / name).symlink_to(real / "bin" / name)
    (venv / ".installed").touch()
    return clone


def test_every_readme_example_runs_as_written(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    data = tmp_path / "data"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),  # the user's ~/.ssh stays out of it
        "MELINDA_GATEWAY_DATA_DIR": str(data),
        "MELINDA_GATEWAY_DEMO_KEYS_DIR": str(clone / "certs"),
    }
    (tmp_path / "home").mkdir()
    with serving(data, env=env) as server:
        for block in readme_blocks():
            for step in block:
                run_step(step, server, clone, env)
