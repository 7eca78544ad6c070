"""The seller platform follows its confirmed trades: curtailments from the ledger to the buyer.

A seller DISCOM's ledger provider announces a curtailment with an unsolicited
``on_update`` in the trade's transaction (``research/energy-domain.md`` §11 S6); the
seller platform passes it on to the buyer as its own unsolicited ``on_update``. The node
keeps such callbacks in the transaction's mailbox of its callback inbox (memory or Redis).

One task sweeps the mailboxes of every trade whose delivery has not ended, a few at a
time, each with a read that waits at most a millisecond, then sleeps ``every`` seconds.
A task per trade waiting on its own mailbox would not do: with the Redis inbox every
waiting reader holds one pooled connection (``XREAD BLOCK``), so a platform with a few
hundred open trades would run out of connections, and in memory it wakes once a second
per trade. Updates are forwarded once each (by ``messageId``), in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from iesnode.errors import BusinessError
from iesnode.protocol.actions import canonical
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.usecases.p2p.ledger_view import ledger_view, read_records, records_wire
from iesnode.usecases.p2p.peers import bap_client, follow
from iesnode.usecases.p2p.trade_journal import PlatformTrade

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["CurtailmentWatch"]

log = structlog.get_logger(__name__)

_PEEK = 0.001
"""Seconds one mailbox read may wait for a callback that has not arrived."""


@dataclass
class _Followed:
    trade: PlatformTrade
    until: float
    seen: set[str] = field(default_factory=set)


class CurtailmentWatch:
    """Forwards the ledger's ``on_update``\\ s of followed trades to their buyers."""

    def __init__(
        self,
        node: Node,
        on_change: Callable[[PlatformTrade], Awaitable[None]],
        *,
        every: float = 0.5,
        parallel: int = 16,
    ) -> None:
        self._node = node
        self._on_change = on_change
        self._every = every
        self._parallel = parallel
        self._followed: dict[str, _Followed] = {}
        self._task: asyncio.Task[None] | None = None

    async def add(self, trade: PlatformTrade) -> None:
        """Follow ``trade`` until its delivery ends (nothing to do once it has)."""
        until = max(line.end for _, line in trade.contract.lines).timestamp()
        if until <= self._node.clock.now():
            return
        await follow(self._node, trade.transaction_id, until)
        self._followed[trade.transaction_id] = _Followed(trade, until)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="p2p-curtailment-watch")

    async def aclose(self) -> None:
        """Stop sweeping."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def sweep(self) -> None:
        """Read every followed trade's mailbox once and forward what is new."""
        now = self._node.clock.now()
        for txn in [t for t, f in self._followed.items() if f.until <= now]:
            del self._followed[txn]
        bap = bap_client(self._node)
        followed = list(self._followed.values())
        for first in range(0, len(followed), self._parallel):
            chunk = followed[first : first + self._parallel]
            await asyncio.gather(*(self._check(bap, f) for f in chunk))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sweep()
            except Exception:
                log.exception("curtailment_sweep_failed")

    async def _check(self, bap: BapClient, followed: _Followed) -> None:
        trade = followed.trade
        txn = trade.transaction_id
        lp = trade.contract.seller.discom_id
        async for update in bap.updates(txn, self._node.clock.now() + _PEEK):
            message_id = update.context.message_id
            if message_id in followed.seen:
                continue
            followed.seen.add(message_id)
            if update.sender != lp or canonical(update.context.action) != "on_update":
                continue
            try:
                trade.records = read_records(update.message)
            except BusinessError as exc:
                log.warning("ledger_update_unreadable", transaction=txn, code=exc.code)
                continue
            await self._on_change(trade)
            message = {
                "contract": ledger_view(trade.contract, trade.records),
                "ledgerRecords": records_wire(trade.records),
            }
            await self._node.push(trade.buyer_context, "on_update", message)
            log.info("curtailment_forwarded", transaction=txn)
