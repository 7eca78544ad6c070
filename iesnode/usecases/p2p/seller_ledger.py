"""The seller platform's side of its DISCOM's ledger provider: write, read, hear curtailments.

IES wave-2 replaces the DEG ledger REST API with Beckn ``confirm``/``status`` to the
ledger provider (``research/energy-domain.md`` §2.2, "Roles"; beckn/DEG#265). For a seller
trading platform (:mod:`.platform`) that is:

* :func:`write_trade`, the **blocking ledger write** inside its ``confirm`` handler: a
  signed ``confirm`` of the quoted contract to the seller DISCOM's ledger provider, whose
  ``on_confirm`` carries the ledger's records. A refusal keeps the ledger's error code
  (``LEDGER_NOT_A_PARTY`` ...); an unreachable or silent ledger is
  ``P2P_LEDGER_UNAVAILABLE``: :class:`LedgerInDoubt` when the ledger ACKed the write but
  did not answer within the ttl (the write may yet happen, so the platform keeps the
  energy reserved and the buyer may confirm again). The same contract written again is
  no new row (the ledger is idempotent by client reference), so a write may be repeated
  after a crash or a timeout;
* :func:`read_trade`, the ``status`` read behind the platform's own ``status`` and
  behind :mod:`.seller_reconcile`, which settles reservations a write left in doubt.

Curtailments the ledger provider announces are followed by :mod:`.seller_follow`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from iesnode.errors import (
    BusinessError,
    CallbackError,
    CallbackTimeout,
    ClientError,
    NackReceived,
)
from iesnode.protocol.roles.bap import Callback
from iesnode.usecases.p2p.contract import TradeContract
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.peers import bap_client, peer

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["LedgerInDoubt", "read_trade", "write_trade"]

log = structlog.get_logger(__name__)


class LedgerInDoubt(BusinessError):
    """The ledger took the write (ACK) but did not answer in time: it may hold the trade."""


async def write_trade(
    node: Node, contract: TradeContract, transaction_id: str, *, ttl: float
) -> list[TradeRecord]:
    """Write ``contract`` to the seller DISCOM's ledger; its records, or ``BusinessError``."""
    lp = contract.seller.discom_id
    try:
        answer = await bap_client(node).confirm(
            await peer(node, lp),
            {"contract": contract.to_wire()},
            transaction_id=transaction_id,
            ttl=ttl,
        )
    except CallbackError as exc:
        raise BusinessError(
            exc.code, f"ledger {lp} refused: {exc.message}", path=exc.path
        ) from None
    except NackReceived as exc:
        code = exc.code or "P2P_LEDGER_REFUSED"
        raise BusinessError(code, f"ledger {lp} refused: {exc.message}", path=exc.path) from None
    except CallbackTimeout:
        raise LedgerInDoubt(
            "P2P_LEDGER_UNAVAILABLE",
            f"ledger {lp} did not answer in time; the energy stays reserved: confirm again",
        ) from None
    except ClientError as exc:
        raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"ledger {lp}: {exc}") from None
    if answer.sender != lp:
        raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"{answer.sender} answered for {lp}")
    log.info("ledger_written", transaction=transaction_id, ledger=lp)
    return read_records(answer.message)


async def read_trade(
    node: Node, contract: TradeContract, transaction_id: str, *, ttl: float
) -> Callback:
    """The seller DISCOM's ledger's ``on_status`` for the trade.

    A refusal keeps the ledger's code (``LEDGER_UNKNOWN_TRADE`` when it holds nothing of
    the transaction for this platform); an unreachable or silent ledger is
    ``P2P_LEDGER_UNAVAILABLE``.
    """
    lp = contract.seller.discom_id
    try:
        answer = await bap_client(node).status(
            await peer(node, lp),
            {"contract": {"id": contract.contract_id}},
            transaction_id=transaction_id,
            ttl=ttl,
        )
    except CallbackError as exc:
        raise BusinessError(exc.code, f"ledger {lp}: {exc.message}", path=exc.path) from None
    except ClientError as exc:
        raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"ledger {lp}: {exc}") from None
    if answer.sender != lp:
        raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"{answer.sender} answered for {lp}")
    return answer
