"""Reservations nobody resolved: the seller platform asks its DISCOM's ledger what became of them.

The seller platform takes a trade's energy off its book before the blocking ledger write
(``research/energy-domain.md`` §2.2, phase 3) and journals it ``RESERVED``
(:mod:`.trade_journal`). Usually the write's answer resolves it, but a reservation stays
unresolved when the confirm's process died and no other took the job over, or when the
ledger ACKed the write and did not answer within ``ledger_ttl`` (the buyer was told
``P2P_LEDGER_UNAVAILABLE``). Left alone it would keep its energy forever, while the
ledger may hold the trade. The seller DISCOM's ledger is the record of the trade, so a
:class:`Reconciler` asks it, with the platform's signed ``status`` read (which the
ledger provider answers with the trades this platform is a party to):

* the ledger holds every interval of the contract, as quoted: the trade is
  ``CONFIRMED`` with the ledger's records, and since the buyer may never have heard, the
  buyer gets them as an unsolicited ``on_status`` in the trade's transaction (Beckn lets a
  BPP send ``on_status``/``on_update``/``on_cancel`` unasked, not ``on_confirm``; the body
  is what the ``on_confirm`` would have carried), logged as ``seller_trade_confirmed_late``;
* the ledger answers ``LEDGER_UNKNOWN_TRADE``: the trade is ``RELEASED`` and its energy
  goes back on the book;
* anything else (the ledger unreachable or silent, another refusal, a ledger holding only
  part of the contract or other content): the reservation stays, for the next round.

A reservation is due once its latest write attempt is older than ``ledger_ttl`` plus a
grace (``reconcile_grace``: clock skew between the nodes, the ledger's write time), plus the
node's ``claim_after`` when its jobs are durable (``[redis]``): until then the node may
still hand the dead confirm to another process, which resumes the write. A ledger
provider writes nothing once the confirm's ttl has run out (:mod:`.ledger_confirm`), so
a trade the ledger does not hold by then never arrives there later. Rounds run once when
the platform starts (after its journal is loaded) and every ``reconcile_every`` seconds;
each trade is handled under the platform's lock for its transaction, so a round and a
``confirm`` of the same trade never interleave.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

import structlog

from iesnode.errors import BusinessError
from iesnode.usecases.p2p.config import SellerPlatformConfig
from iesnode.usecases.p2p.ledger import LEDGER_UNKNOWN_TRADE, TradeRecord
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.seller_ledger import read_trade
from iesnode.usecases.p2p.trade_journal import PlatformTrade, TradeState

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["ReconcileReport", "Reconciler", "Reservations", "holds_contract"]

log = structlog.get_logger(__name__)

Outcome = Literal["confirmed", "released", "left", "skipped"]


class Reservations(Protocol):
    """What a reconciler needs of the seller platform holding the reservations."""

    def reserved(self) -> list[PlatformTrade]:
        """The trades in ``RESERVED``."""
        ...

    def lock(self, transaction_id: str) -> asyncio.Lock:
        """The lock every change of the transaction's trade holds."""
        ...

    async def mark_confirmed(self, trade: PlatformTrade, records: list[TradeRecord]) -> None:
        """Journal ``trade`` as written to the ledger with ``records`` (lock held)."""
        ...

    async def release(self, trade: PlatformTrade) -> None:
        """Journal ``trade`` as released and return its energy to the book (lock held)."""
        ...


@dataclass
class ReconcileReport:
    """What one round did, by transaction id."""

    confirmed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    """Due, but the ledger gave no clear answer: asked again next round."""


class Reconciler:
    """Rounds that settle a seller platform's due reservations against its ledger."""

    def __init__(
        self,
        node: Node,
        owner: Reservations,
        config: SellerPlatformConfig,
        *,
        parallel: int = 8,
    ) -> None:
        """Rounds for ``owner`` every ``config.reconcile_every`` seconds (0: at start only)."""
        self._node = node
        self._owner = owner
        self._ttl = config.ledger_ttl
        self._every = config.reconcile_every
        self._parallel = parallel
        durable = bool(node.settings.redis.url)
        claim_after = node.settings.delivery.claim_after if durable else 0.0
        self.due_after = config.ledger_ttl + config.reconcile_grace + claim_after
        """Seconds after its latest write attempt at which a reservation is due."""
        self._first = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run a round now, then one every ``every`` seconds (none more when 0)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="p2p-seller-reconcile")

    async def started(self) -> None:
        """Wait until the round run at start has finished."""
        await self._first.wait()

    async def aclose(self) -> None:
        """Stop the rounds."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def round(self) -> ReconcileReport:
        """Ask the ledger about every due reservation; a few at a time."""
        now = self._node.clock.now()
        due = [t for t in self._owner.reserved() if now - t.reserved_since >= self.due_after]
        report = ReconcileReport()
        for first in range(0, len(due), self._parallel):
            chunk = due[first : first + self._parallel]
            outcomes = await asyncio.gather(*(self._settle(trade) for trade in chunk))
            for trade, outcome in zip(chunk, outcomes, strict=True):
                if outcome != "skipped":
                    getattr(report, outcome).append(trade.transaction_id)
        if due:
            log.info(
                "seller_reconciled",
                due=len(due),
                confirmed=len(report.confirmed),
                released=len(report.released),
                left=len(report.left),
            )
        return report

    async def _run(self) -> None:
        try:
            await self.round()
        except Exception:
            log.exception("seller_reconcile_failed")
        finally:
            self._first.set()
        while self._every > 0:
            await asyncio.sleep(self._every)
            try:
                await self.round()
            except Exception:
                log.exception("seller_reconcile_failed")

    async def _settle(self, trade: PlatformTrade) -> Outcome:
        txn = trade.transaction_id
        async with self._owner.lock(txn):
            if trade.state is not TradeState.RESERVED:
                return "skipped"  # a confirm resolved it meanwhile
            try:
                answer = await read_trade(self._node, trade.contract, txn, ttl=self._ttl)
                records = read_records(answer.message)
            except BusinessError as exc:
                if exc.code != LEDGER_UNKNOWN_TRADE:
                    log.info("seller_reconcile_deferred", transaction=txn, code=exc.code)
                    return "left"
                await self._owner.release(trade)
                log.info("seller_trade_released", transaction=txn, reason="not in the ledger")
                return "released"
            if not holds_contract(trade, records):
                log.warning("seller_trade_ledger_mismatch", transaction=txn, records=len(records))
                return "left"
            await self._owner.mark_confirmed(trade, records)
        log.warning("seller_trade_confirmed_late", transaction=txn, items=len(records))
        try:
            await self._node.push(trade.buyer_context, "on_status", trade.answer())
        except Exception:
            log.exception("seller_late_confirm_not_sent", transaction=txn)
        return "confirmed"


def holds_contract(trade: PlatformTrade, records: list[TradeRecord]) -> bool:
    """True when ``records`` are exactly the contract's intervals with the quoted content."""
    by_item = {r.order_item_id: r for r in records}
    try:
        wanted = trade.contract.trade_inputs(trade.transaction_id, trade.buyer_context.timestamp)
    except BusinessError:
        return False  # an unpriced contract: not one this platform quoted
    if len(by_item) != len(records) or set(by_item) != {t.order_item_id for t in wanted}:
        return False
    return all(
        by_item[t.order_item_id].same_trade(
            replace(t, trade_time=by_item[t.order_item_id].trade_time)
        )
        for t in wanted
    )
