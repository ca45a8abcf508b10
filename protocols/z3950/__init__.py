"""Z39.50 (data retrieval): databases `fin01` and `fin01alma` on the Z39.50 port.

Alma's data retrieval profile and Koha's copy cataloguing (through YAZ) fetch Melinda
records here; Alma must use `fin01alma` to get its form of the records. Layers: BER
(ber.py), the PDUs (pdu.py), type-1 queries (rpn.py) and their Bib-1 meaning (bib1.py),
record rendering (retrieval.py), one Association per connection (association.py), the
listener with framing, timeouts and the association cap (server.py), and SRU over HTTP
on the same port (http_bridge.py).

Where this target deviates from (or guesses at) Melinda's Aleph Z39.50 server:
- Element set B is a brief record (leader, 001/003/005/008, 020/022/024/035, main entry,
  245/250/260/264/300), F the whole record; Aleph's own brief form is not documented.
- The result count is the size of the capped result set (20,000, as Aleph caps it), so
  every counted record can be presented.
- An unknown database is Bib-1 235 (does not exist) with the name as addinfo.
- Sort and Extended Services are not offered (Sort gets a failed SortResponse, 207);
  segmentation, access control, resource control and character-set negotiation neither:
  records are always UTF-8 (Leader/09 `a`).
"""

from __future__ import annotations

from protocols.host import Gateway
from protocols.z3950.server import start_listener


def install(gateway: Gateway) -> None:
    gateway.add_server("z3950", start_listener)
