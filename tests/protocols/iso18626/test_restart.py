"""A lending gateway stopped mid-loan picks the loan up again from its store when restarted."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.protocols.iso18626.support import (
    admin,
    ask_for_loan,
    ill_gateway,
    ill_request,
    settled,
    statuses_received,
    statuses_sent,
    wait_for,
    wait_status,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_supplier_restarted_mid_loan_resumes(tmp_path: Path) -> None:
    port = free_port()
    supplier_dir = tmp_path / "supplier"
    # the requester retries for long enough to outlast the supplier's absence
    async with ill_gateway(
        tmp_path / "requester", ill_retry_limit=100, ill_retry_base_ms=50
    ) as requester:
        # 1. WillSupply goes out, Loaned is planned a while later: the supplier stops between
        async with ill_gateway(supplier_dir, http_port=port, ill_delay_ms=400) as supplier:
            _, created = await ask_for_loan(requester, f"{supplier.http_url}/iso18626")
            number = int(created["id"])
            await wait_status(requester, number, "WillSupply")
            _, listed = await admin(supplier, "GET", "/requests")
            lender_id = int(listed["requests"][0]["id"])
            planned = (await ill_request(supplier, lender_id))["messages"]
            assert [m["delivery"] for m in planned] == ["received", "delivered", "planned"]
        # 2. restarted on the same data dir and port: the planned Loaned goes out
        async with ill_gateway(supplier_dir, http_port=port, ill_delay_ms=400) as supplier:
            await wait_status(requester, number, "Loaned")
            assert (await ill_request(supplier, lender_id))["status"] == "Loaned"
        # 3. the requester says Received while the supplier is down: retried until it is back
        status, _ = await admin(
            requester, "POST", f"/requests/{number}/actions", {"action": "Received"}
        )
        assert status == 202

        async def retrying() -> bool:
            view = await ill_request(requester, number)
            return view["messages"][-1]["attempts"] >= 2

        await wait_for(retrying, "Received to be retried")
        async with ill_gateway(supplier_dir, http_port=port, ill_delay_ms=0) as supplier:
            await settled(requester, number)
            await wait_for(lambda: _received(supplier, lender_id), "the supplier to hear Received")
            await admin(
                requester, "POST", f"/requests/{number}/actions", {"action": "ShippedReturn"}
            )
            borrowed = await wait_status(requester, number, "LoanCompleted")
            lent = await settled(supplier, lender_id)
            assert lent["status"] == "LoanCompleted"
            assert statuses_received(borrowed) == ["WillSupply", "Loaned", "LoanCompleted"]
            assert statuses_sent(lent) == statuses_received(borrowed)
            assert [m["summary"] for m in lent["messages"] if m["direction"] == "in"] == [
                "request",
                "Received",
                "ShippedReturn",
            ]


async def _received(supplier: object, lender_id: int) -> bool:
    return bool((await ill_request(supplier, lender_id))["received"])  # type: ignore[arg-type]
