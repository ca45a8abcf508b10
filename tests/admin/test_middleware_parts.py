"""The pure parts of the HTTP middleware: which interface a path is, and the operation's name."""

from __future__ import annotations

import pytest

from gateway.emulator.admin import interface_of, operation_of


@pytest.mark.parametrize(
    ("path", "interface"),
    [
        ("/sru/bib", "sru"),
        ("/sru/fin01alma", "sru"),
        ("/X", "xserver"),
        ("/oai-pmh/bib", "oai-pmh"),
        ("/_admin/reset", "admin"),
        ("/", None),
        ("/health", None),
        ("/Xerox", None),
    ],
)
def test_interface_of_a_path(path: str, interface: str | None) -> None:
    assert interface_of(path) == interface


@pytest.mark.parametrize(
    ("interface", "params", "operation"),
    [
        ("sru", {"operation": "scan", "scanClause": "dc.title=a"}, "scan"),
        ("sru", {"query": "dc.title=kissa"}, "searchRetrieve"),  # SRU 2.0: implied
        ("sru", {"scanClause": "dc.title=a"}, "scan"),
        ("sru", {}, "explain"),
        ("xserver", {"op": "Update_Doc"}, "update-doc"),
        ("xserver", {}, "(none)"),
        ("oai-pmh", {"verb": "ListRecords"}, "ListRecords"),
        ("oai-pmh", {"verb": " "}, "(none)"),
    ],
)
def test_operation_in_the_protocols_words(
    interface: str, params: dict[str, str], operation: str
) -> None:
    assert operation_of(interface, "GET", "/x", params) == operation


def test_admin_operation_is_method_and_path() -> None:
    assert operation_of("admin", "POST", "/_admin/snapshots/a/restore", {}) == (
        "POST /snapshots/a/restore"
    )
