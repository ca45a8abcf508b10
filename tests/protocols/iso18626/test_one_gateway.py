"""Two libraries of one gateway lend to each other; the lender's own Overdue and Recall; reset."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.protocols.iso18626.support import (
    admin,
    ask_for_loan,
    ill_gateway,
    iso_url,
    settled,
    statuses_received,
    wait_status,
    xsd,
)


async def test_a_loan_between_two_libraries_of_one_gateway(tmp_path: Path) -> None:
    xsd()
    async with ill_gateway(tmp_path / "data") as gw:
        _, created = await ask_for_loan(gw, iso_url(gw))
        borrowing = int(created["id"])
        await wait_status(gw, borrowing, "Loaned")
        _, listed = await admin(gw, "GET", "/requests")
        (lending,) = [r["id"] for r in listed["requests"] if r["role"] == "supplier"]

        async def lender(action: str) -> int:
            status, _ = await admin(gw, "POST", f"/requests/{lending}/actions", {"action": action})
            return status

        async def borrower(action: str) -> int:
            status, _ = await admin(
                gw, "POST", f"/requests/{borrowing}/actions", {"action": action}
            )
            return status

        assert await lender("Received") == 409  # a requester's action, not a lender's
        assert await lender("Overdue") == 202
        await wait_status(gw, borrowing, "Overdue")
        assert await borrower("Renew") == 202
        await wait_status(gw, borrowing, "Loaned")
        assert await lender("Recalled") == 202
        await wait_status(gw, borrowing, "Recalled")
        assert await lender("Overdue") == 409  # a recalled loan does not fall back to Overdue
        assert await borrower("Received") == 202
        await settled(gw, borrowing)
        assert await borrower("ShippedReturn") == 202
        view = await wait_status(gw, borrowing, "LoanCompleted")
        assert statuses_received(view) == [
            "WillSupply",
            "Loaned",
            "Overdue",
            "Loaned",
            "Recalled",
            "LoanCompleted",
        ]
        assert (await settled(gw, lending))["status"] == "LoanCompleted"
        assert await lender("Recalled") == 409

        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{gw.http_url}/_admin/reset") as response,
        ):
            assert response.status == 200
        assert (await admin(gw, "GET", "/requests"))[1]["requests"] == []
