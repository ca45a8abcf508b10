"""SFTP LOW publishing: Alma uploads which titles the library holds; Melinda sets its LOW tags.

Layers: the SSH listener with per-library public-key logins (server.py), one library's
confined view of its directory (directory.py), and the inbox that applies complete files
through the catalog, writes their reports and archives them (inbox.py). The file format
and the report are in gateway/publishing.py.
"""

from __future__ import annotations

from protocols.host import Gateway
from protocols.sftp.server import start_sftp


def install(gateway: Gateway) -> None:
    gateway.add_server("sftp", start_sftp)
