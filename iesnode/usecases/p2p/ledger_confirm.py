"""A ledger provider's write of a confirmed contract: every interval or none, never late.

In IES wave-2 a platform's blocking ledger write is a Beckn ``confirm`` to the DISCOM's
ledger provider (``research/energy-domain.md`` §2.2, phase 3 and "Roles"; beckn/DEG#265).
The contract becomes one ledger trade per interval (:meth:`.contract.TradeContract.trade_inputs`),
and :func:`write_contract` stores them:

* in one ledger write (``TradeLedger.put_many``): an interval the ledger refuses leaves
  nothing of the contract behind, so the ledger never holds a half-written trade;
* idempotently: an interval already stored with the same content keeps its stored
  ``tradeTime`` (the time of the first confirm), so a repeated confirm of the contract
  matches the stored trades and adds no row;
* only while the writer still waits for the answer: a ``confirm`` whose ``timestamp +
  ttl`` has passed when the write would start is refused (``LP_CONFIRM_EXPIRED``) and
  writes nothing. The platform gave up on it (and may have let the energy go after asking
  the ledger, :mod:`.seller_reconcile`), so storing it then would leave a trade in the
  ledger that no platform stands behind.
"""

from __future__ import annotations

from dataclasses import replace

import structlog

from iesnode.errors import BusinessError
from iesnode.interfaces import Clock
from iesnode.model.envelope import Context
from iesnode.usecases.p2p.contract import TradeContract
from iesnode.usecases.p2p.ledger import TradeLedger, TradeRecord

__all__ = ["LP_CONFIRM_EXPIRED", "write_contract"]

log = structlog.get_logger(__name__)

LP_CONFIRM_EXPIRED = "LP_CONFIRM_EXPIRED"
"""The ``confirm`` reached the ledger write after its ttl ran out; nothing was written."""


async def write_contract(
    ledger: TradeLedger,
    contract: TradeContract,
    context: Context,
    *,
    writer: str,
    clock: Clock,
) -> list[TradeRecord]:
    """Store ``contract``'s intervals for ``writer`` (the verified sender) all or none.

    ``context`` is the ``confirm``'s (its transaction, timestamp and ttl); ``clock`` the
    provider's, read just before the write.
    """
    transaction_id = context.transaction_id
    trades = contract.trade_inputs(transaction_id, context.timestamp)
    stored = {
        r.order_item_id: r for r in await ledger.get(reader=writer, transaction_id=transaction_id)
    }
    batch = []
    for trade in trades:
        before = stored.get(trade.order_item_id)
        if before is not None and before.same_trade(replace(trade, trade_time=before.trade_time)):
            trade = replace(trade, trade_time=before.trade_time)  # a repeated confirm
        batch.append(trade)
    expires, now = context.expires_at, clock.now()
    if expires is not None and now > expires:
        log.warning("ledger_write_expired", transaction=transaction_id, late=now - expires)
        raise BusinessError(
            LP_CONFIRM_EXPIRED,
            f"the confirm expired {now - expires:.1f}s before the ledger write; nothing written",
            path="context.ttl",
        )
    return await ledger.put_many(batch, writer=writer)
