"""The example settings file ships every setting and loads as it is."""

import dataclasses
import re
from pathlib import Path

from gateway.emulator.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "melinda-gateway.toml"


def test_the_example_settings_file_loads_as_written() -> None:
    settings = Settings.load(EXAMPLE, environ={})
    assert settings.oai_page_size == Settings().oai_page_size


def test_the_example_settings_file_names_every_setting() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([a-z][a-z0-9_]*)\s*=", text, flags=re.MULTILINE))
    missing = {field.name for field in dataclasses.fields(Settings)} - named
    assert not missing, f"settings missing from {EXAMPLE.name}: {sorted(missing)}"
