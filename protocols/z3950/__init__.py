"""Z39.50 (data retrieval, tiedonhaku): databases `fin01` and `fin01alma` on the Z39.50 port.

Alma's data retrieval profile and Koha's copy cataloguing (through YAZ) fetch Melinda
records here; Alma must use `fin01alma` to get its form of the records. Layers: BER
(ber.py), the PDUs (pdu.py), type-1 queries (rpn.py) and their Bib-1 meaning (bib1.py),
record rendering (retrieval.py), one Association per connection (association.py), the
listener with framing, timeouts and the association cap (server.py), and SRU over HTTP
on the same port (http_bridge.py).
"""

from __future__ import annotations

from gateway.app import Gateway
from protocols.z3950.server import start_listener


def install(gateway: Gateway) -> None:
    gateway.add_server("z3950", start_listener)
