"""Aleph's X-server at `/X`: the cataloguing interface (luettelointirajapinta) of Alma."""

from __future__ import annotations

from protocols.host import Gateway
from protocols.xserver import faults as xserver_faults


def install(gateway: Gateway) -> None:
    """Serve `/X` (GET and form POST) on the gateway's HTTP port."""
    from protocols.xserver.ops import XServer  # the op layer loads the record codecs

    xserver = XServer(gateway.catalog, gateway.settings, gateway.shared)
    gateway.http.router.add_get("/X", xserver.handle)
    gateway.http.router.add_post("/X", xserver.handle)
    gateway.fault_renderers["xserver"] = xserver_faults.fault_response
