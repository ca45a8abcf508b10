"""The console's sections, and which optional features this gateway has (by the routes it serves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.emulator.host import Gateway


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the console's navigation."""

    key: str
    title: str
    path: str
    admin: bool = False  # needs the admin token on a shared gateway
    feature: str = ""  # shown only when the gateway has this feature


SECTIONS: Final = (
    Section("search", "Search", "/"),
    Section("libraries", "Libraries", "/libraries"),
    Section("traffic", "Traffic", "/traffic", admin=True),
    Section("controls", "Controls", "/controls", admin=True),
    Section(
        "authority", "Authorities (fin11)", "/sru/aut-names?operation=explain", feature="authority"
    ),
)

# A feature is there when the gateway serves the route that provides it.
FEATURE_ROUTES: Final = {
    "match": "/_admin/match",
    "merge": "/_admin/merge",
    "ill": "/_admin/ill/requests",
    "authority": "/sru/aut-names",
}


def features(gateway: Gateway) -> frozenset[str]:
    """The optional features this gateway has, by the routes it serves."""
    paths = set()
    for resource in gateway.http.router.resources():
        paths.add(resource.canonical)
    return frozenset(name for name, path in FEATURE_ROUTES.items() if path in paths)
