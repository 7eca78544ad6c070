"""The whole P2P day on loopback (``iesnode demo p2p``): every party agrees, flows net to zero,
and the S6 seller shortfall is shared 7.5 / 7.5 with a penalty."""

from __future__ import annotations

import pytest

from iesnode.cli import main
from iesnode.usecases.p2p.day import run_day


def test_demo_p2p_prints_the_day_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """``iesnode demo p2p`` prints trades, allocations and flows, and exits 0 when balanced."""
    assert main(["demo", "p2p"]) == 0
    out = capsys.readouterr().out
    for heading in ("Trades", "Allocations", "Money flows per trade", "Net per party"):
        assert heading in out
    assert "CURTAILED_OUTAGE" in out
    assert "p2p day balanced" in out


async def test_day_shares_the_seller_shortfall_pro_rata_and_everyone_agrees() -> None:
    """T1 and T3 get 7.5 kWh each of S1's 15; both DISCOMs, the seller platform and the
    buyer's ledger agree; S1 pays BESCOM 2.25 INR wheeling and a 3.75 INR penalty per trade."""
    result = await run_day()
    assert result.problems == []
    for label in ("T1", "T3"):
        outcomes = result.outcomes(label)
        assert sorted(outcomes) == ["BESCOM-KA", "HESCOM-KA"]
        allocation = outcomes["BESCOM-KA"].allocation
        assert allocation is not None
        assert (allocation.seller_alloc_wh, allocation.final_alloc_wh) == (7_500, 7_500)
        flows = {f.role: f.amount_paise for f in outcomes["BESCOM-KA"].flows}
        assert flows == {"buyer": -5_250, "seller": 4_275, "buyerDiscom": 375, "sellerDiscom": 600}
    assert result.curtailments == {"T4": 2_000}
    assert all(result.chains.values())
