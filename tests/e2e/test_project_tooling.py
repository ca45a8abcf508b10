"""The project's own tooling as a first-time user meets it: the build, the bootstrap, skip reasons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_building_the_package_prints_no_deprecation_banner(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("gateway", "protocols"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), "."],
        cwd=source, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip("no package index reachable for the build requirements")
    assert built.returncode == 0, built.stderr
    assert "Deprecat" not in built.stderr and "Warning" not in built.stderr, built.stderr
    assert list((tmp_path / "dist").glob("melinda_gateway-*.whl"))
    # an editable install, as the bootstrap makes one, is silent too
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    editable = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "-q", "--disable-pip-version-check", "-e", "."],
        cwd=source, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert editable.returncode == 0, editable.stderr
    assert editable.stderr.strip() == "", editable.stderr


def fake_python(tmp_path: Path) -> Path:
    """A `python3` that makes a venv whose python answers every pip call at once."""
    script = tmp_path / "python3"
    script.write_text(
        "#!/bin/sh\n"
        '# called as: python3 -m venv DIR\nmkdir -p "$3/bin"\n'
        "printf '#!/bin/sh\\nexit 0\\n' > \"$3/bin/python\"\n"
        'chmod +x "$3/bin/python"\n'
    )
    script.chmod(0o755)
    return script


def test_bootstrap_says_what_it_is_doing_on_a_first_install(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_bootstrap", clone / "scripts" / "_bootstrap")
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    environment = {**os.environ, "PYTHON": str(fake_python(tmp_path)), "BOOTSTRAP_EXTRAS": "test"}
    command = ["bash", "-c", f"source {clone / 'scripts' / '_bootstrap'}"]
    first = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "bootstrap: creating" in first.stderr
    assert "bootstrap: installing melinda-gateway with the test extras into .venv" in first.stderr
    assert "bootstrap: installed in " in first.stderr
    again = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and again.stderr == ""  # nothing to do: nothing said


def test_pytest_prints_why_tests_were_skipped(tmp_path: Path) -> None:
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        "def test_needs_shared():\n"
        "    pytest.skip('../shared/fixtures is absent')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-p", "no:cacheprovider", str(tmp_path / "test_skips.py")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "SKIPPED [1]" in done.stdout and "../shared/fixtures is absent" in done.stdout, (
        done.stdout
    )
