"""Store URLs: `sqlite:///path` (a file, the default) or `postgresql://user@host:port/db`."""

from __future__ import annotations

from pathlib import Path

from gateway.store.interface import Store

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


class StoreUrlError(ValueError):
    """A store URL names no store this gateway has."""


def store_kind(url: str) -> str:
    """'sqlite' or 'postgresql'; a bare path is a SQLite file."""
    if url.startswith(POSTGRESQL_SCHEMES):
        return "postgresql"
    if url.startswith("sqlite:") or "://" not in url:
        return "sqlite"
    raise StoreUrlError(f"store_url {url!r}: use sqlite:///path or postgresql://user@host/db")


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///path` URL (or the bare path given)."""
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :]
    if url.startswith("sqlite:"):
        return url[len("sqlite:") :]
    return url


def store_url_of_path(path: Path) -> str:
    return f"sqlite://{path.resolve()}"


async def open_store(url: str) -> Store:
    """Open (creating and migrating when new) the store a URL names."""
    if store_kind(url) == "postgresql":
        from gateway.store.postgresql import PostgresStore  # asyncpg only when it is used

        return await PostgresStore.open(url)
    from gateway.store.sqlite import SqliteStore

    return await SqliteStore.open(sqlite_path(url))
