"""OAI-PMH 2.0, Melinda's replication interface: `/oai-pmh/bib` (fin01), `/oai-pmh/fin01alma` and
Asteri's `/oai-pmh/aut-names` (fin11)."""

from __future__ import annotations

import hashlib
import logging
import secrets

from gateway.model import View
from protocols.host import Gateway
from protocols.oaipmh import faults as oaipmh_faults
from protocols.oaipmh.provider import OaiProvider
from protocols.oaipmh.tokens import TokenSigner

log = logging.getLogger("melinda.oaipmh")

ENDPOINTS: dict[str, View] = {
    "/oai-pmh/bib": View.FIN01,
    "/oai-pmh/fin01alma": View.FIN01ALMA,
    "/oai-pmh/aut-names": View.FIN11,  # Asteri's name authorities
}


def install(gateway: Gateway) -> None:
    """Add the two endpoints, GET and form-encoded POST each (pyoai-family harvesters POST)."""
    secret = gateway.settings.secret.encode()
    if not secret:
        # without a configured secret, tokens are good only until this process stops
        log.warning("no secret configured: OAI-PMH resumption tokens will not survive a restart")
        secret = hashlib.sha256(secrets.token_bytes(32)).digest()
    signer = TokenSigner(secret)
    for path, view in ENDPOINTS.items():
        provider = OaiProvider(gateway.catalog.for_view(view), gateway.settings, view, signer)
        gateway.http.router.add_get(path, provider.handle, allow_head=False)
        gateway.http.router.add_post(path, provider.handle)
    gateway.fault_renderers["oai-pmh"] = oaipmh_faults.fault_response
