"""One typed Settings value: defaults, then a TOML file, then MELINDA_GATEWAY_* env vars, then flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gateway.emulator.loops import EVENT_LOOPS
from gateway.store.urls import StoreUrlError, sqlite_path, store_kind

ENV_PREFIX = "MELINDA_GATEWAY_"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting has a value of the wrong kind or an unknown name."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "melinda-gateway"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    http_port: int = 8080
    z3950_port: int = 2100
    sftp_port: int = 2222
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    workers: int = 1  # worker processes of `serve` over one store (workers.py)
    event_loop: str = "uvloop"  # what `serve` runs on: uvloop or asyncio (loops.py)
    # sqlite:///path or postgresql://user@host:port/db; empty: the data dir's SQLite file
    store_url: str = ""
    demo: bool = True  # load the demo data into an empty store on `serve`
    demo_count: int = 2000
    demo_seed: int = 1
    demo_keys_dir: str = ""  # where scripts/serve generated the demo libraries' SSH keys
    # OAI-PMH
    oai_repository_name: str = "Melinda (local gateway)"
    oai_admin_email: str = "melinda-posti@helsinki.fi"
    oai_identifier_prefix: str = "oai:melinda.kansalliskirjasto.fi/"
    oai_page_size: int = 100
    oai_token_ttl: int = 900  # seconds a resumption token stays valid
    # signing key for resumption tokens and sessions; generated into the data dir when empty
    secret: str = ""
    # X-server
    # newer Aleph accepts 40,000: a record with dozens of LOW and CAT fields is ~37,000 in oai_marc
    xserver_max_request_chars: int = 40_000
    xserver_session_ttl: int = 1800
    # Z39.50
    z3950_idle_timeout: int = 600
    z3950_max_lifetime: int = 3600
    z3950_max_associations: int = 100  # initialised associations; a bare connection is not one
    z3950_init_timeout: int = 10  # seconds a new connection has to send its Init request
    z3950_address_share: int = 50  # percent of the association cap one client address may hold
    # SFTP
    sftp_max_file_bytes: int = 512 * 1024 * 1024
    sftp_max_files: int = 100
    # admin API: open on a laptop; with `shared` the token is required (or the API is off)
    shared: bool = False
    admin_token: str = ""
    journal_size: int = 10_000
    log_level: str = "INFO"  # DEBUG, INFO (one access line per request), WARNING, ERROR
    log_format: str = "text"  # text or json (one JSON object a line)
    # ISO 18626 interlibrary loan (protocols/iso18626, gateway/ill)
    ill_agencies: str = ""  # CODE=TYPE:VALUE[/profile], comma separated; others MELINDA:CODE
    ill_default_profile: str = "standard"  # standard | alma
    ill_delay_ms: int = 1000  # between a lending library's messages
    ill_retry_base_ms: int = 500  # first retry of an undelivered message; doubles each time
    ill_retry_limit: int = 6  # attempts before a message is given up
    ill_timeout_ms: int = 10_000  # for one message to a peer
    ill_loan_days: int = 28
    ill_lending_fee: str = ""  # e.g. "5.00 EUR": deliveryCosts of Loaned / CopyCompleted
    ill_public_url: str = ""  # the address peers answer to; default http://HOST:PORT/iso18626
    iso18626_schema: str = ""  # ISO-18626-v1_2.xsd; default ../shared/schemas beside the project

    @property
    def store_path(self) -> Path:
        return self.data_dir / "melinda.sqlite"

    @property
    def store(self) -> str:
        """The store's URL: `store_url`, or the SQLite file in the data dir."""
        return self.store_url or f"sqlite://{self.store_path}"

    @property
    def store_is_file(self) -> bool:
        return store_kind(self.store) == "sqlite"

    @property
    def store_file(self) -> Path:
        """The SQLite file of the store (meaningful when `store_is_file`)."""
        return Path(sqlite_path(self.store))

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with the given settings replaced (values converted to the field's type)."""
        known = {f.name: f for f in fields(self)}
        converted: dict[str, Any] = {}
        for name, raw in overrides.items():
            if raw is None:
                continue
            if name not in known:
                raise SettingsError(f"unknown setting: {name}")
            converted[name] = _convert(name, getattr(self, name), raw)
        return dataclasses.replace(self, **converted)

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Defaults < TOML file < environment < flags.

        A shared gateway (`shared = true`) loads no demo libraries or passwords unless
        `demo` is set explicitly, in the file, the environment or by a flag."""
        settings = cls()
        explicit: set[str] = set()
        if config_file:
            try:
                with open(config_file, "rb") as fh:
                    table = tomllib.load(fh)
            except OSError as exc:
                raise SettingsError(f"cannot read config file {config_file}: {exc}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from exc
            table = table.get("gateway", table)
            settings = settings.with_overrides(table)
            explicit |= set(table)
        env = os.environ if environ is None else environ
        from_env = {
            key[len(ENV_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() in _FIELD_NAMES
        }
        settings = settings.with_overrides(from_env)
        settings = settings.with_overrides(flags or {})
        explicit |= set(from_env) | {
            name for name, value in (flags or {}).items() if value is not None
        }
        if settings.shared and "demo" not in explicit:
            settings = dataclasses.replace(settings, demo=False)
        return settings._checked()

    def _checked(self) -> Settings:
        try:
            store_kind(self.store)
        except StoreUrlError as exc:
            raise SettingsError(f"setting store_url: {exc}") from exc
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(
                f"setting log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
            )
        if self.event_loop not in EVENT_LOOPS:
            raise SettingsError(
                f"setting event_loop: {self.event_loop!r} is not one of {', '.join(EVENT_LOOPS)}"
            )
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(
                f"setting log_format: {self.log_format!r} is not one of {', '.join(LOG_FORMATS)}"
            )
        return self


_FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def _convert(name: str, current: Any, raw: Any) -> Any:
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, Path):
            return Path(str(raw)).expanduser()
        return str(raw)
    except ValueError as exc:
        raise SettingsError(
            f"setting {name}: {raw!r} is not a valid {type(current).__name__}"
        ) from exc
