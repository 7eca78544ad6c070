"""Who may write what to the trade ledger: the pure decisions behind ``put`` and ``record``.

The access rules of the DEG contract ledger API (``research/energy-domain.md`` §2.2,
"Ledger API"): only a trade's platforms ``put`` it (upsert by ``transactionId +
orderItemId``, idempotent by ``clientReference``), only its DISCOMs ``record`` actuals,
each on its own side, and reads show a trade only to its platforms and DISCOMs. Both
ledger implementations call these functions inside their write transaction, so the
rules are the same in memory and in SQLite.

Decisions this module makes where the API leaves room:

* a client reference is unique across the ledger; reusing one for another trade, or for
  the same trade with other content, is ``LEDGER_CONFLICT``;
* a ``put`` identical to the stored trade (e.g. the other platform writing the same
  trade under its own reference) returns the stored record without a new row;
* platforms may change a trade only while both DISCOM statuses are PENDING or CONFIRMED;
* a batch (``put_many``) applies :func:`decide_put` to its trades in order inside one
  write transaction; the first refusal (:func:`put_each` names its order item) undoes
  the whole batch;
* ``record`` merges metrics by type (a new value replaces the same type, others stay)
  and is refused once that side is COMPLETED or CANCELLED_* (a repeat of the stored
  values is answered with the stored record); CURTAILED_* sides still take actuals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import structlog

from iesnode.usecases.p2p.ledger import Side, TradeInput, TradeRecord
from iesnode.usecases.p2p.ledger_types import (
    LEDGER_CONFLICT,
    LEDGER_NOT_A_PARTY,
    LEDGER_UNKNOWN_TRADE,
    OPEN_STATUSES,
    LedgerError,
    MetricType,
    TradeStatus,
    ValidationMetric,
    bad_input,
)
from iesnode.usecases.p2p.ledger_wire import aware_utc

__all__ = [
    "CLOSED_STATUSES",
    "Outcome",
    "ReadFilter",
    "batch_items",
    "decide_put",
    "decide_record",
    "logged_write",
    "put_each",
]

log = structlog.get_logger(__name__)

CLOSED_STATUSES = frozenset(
    {
        TradeStatus.COMPLETED,
        TradeStatus.CANCELLED_OUTAGE,
        TradeStatus.CANCELLED_POL_VIOLATION,
    }
)
"""Side statuses after which a DISCOM may no longer change its side."""

_R = TypeVar("_R")

_METRIC_ORDER = {kind: index for index, kind in enumerate(MetricType)}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision: the record to answer with, and whether it is a new version to append."""

    record: TradeRecord
    write: bool


def decide_put(
    trade: TradeInput,
    *,
    writer: str,
    current: TradeRecord | None,
    by_reference: TradeRecord | None,
    now: datetime,
) -> Outcome:
    """The outcome of platform ``writer`` putting ``trade``.

    ``current`` is the latest stored version of the trade's key, ``by_reference`` the
    version stored when ``trade.client_reference`` was first used (None if never).
    """
    if not isinstance(trade, TradeInput):
        raise bad_input("", "expected a TradeInput")
    trade = trade.trade_input()
    if writer not in trade.platforms or (current is not None and writer not in current.platforms):
        raise LedgerError(
            LEDGER_NOT_A_PARTY, f"{writer!r} is not a platform of this trade", path="writer"
        )
    if by_reference is not None:
        if by_reference.key != trade.key or not by_reference.same_trade(trade):
            raise LedgerError(
                LEDGER_CONFLICT,
                "this client reference was already used for a different write",
                path="clientReference",
            )
        assert current is not None  # the reference points at a stored version of this key
        return Outcome(current, write=False)
    if current is None:
        record = TradeRecord(**_input_fields(trade), record_id=str(uuid.uuid4()), creation_time=now)
        return Outcome(record, write=True)
    if current.same_trade(trade):
        return Outcome(current, write=False)
    if not {current.status_buyer_discom, current.status_seller_discom} <= OPEN_STATUSES:
        raise LedgerError(
            LEDGER_CONFLICT,
            "the trade is no longer PENDING or CONFIRMED and cannot be changed",
            path="transactionId",
        )
    record = replace(current, **_input_fields(trade), version=current.version + 1, row_digest="")
    return Outcome(record, write=True)


def batch_items(trades: object) -> list[TradeInput]:
    """The trades of a ``put_many`` batch, checked (``LEDGER_BAD_INPUT`` naming the item)."""
    if not isinstance(trades, Sequence) or isinstance(trades, str | bytes):
        raise bad_input("trades", "expected a sequence of TradeInput")
    for index, trade in enumerate(trades):
        if not isinstance(trade, TradeInput):
            raise bad_input(f"trades[{index}]", "expected a TradeInput")
    return list(trades)


def put_each(trades: Sequence[TradeInput], put: Callable[[TradeInput], _R]) -> list[_R]:
    """``put`` each trade of a batch in order; a refusal is re-raised naming its order item.

    The caller undoes what the batch wrote (its transaction, or its snapshot).
    """
    results = []
    for trade in trades:
        try:
            results.append(put(trade))
        except LedgerError as exc:
            message = f"order item {trade.order_item_id!r}: {exc.message}; nothing was written"
            raise LedgerError(exc.code, message, path=exc.path) from None
    return results


def decide_record(
    current: TradeRecord | None,
    *,
    writer: str,
    metrics: Sequence[ValidationMetric],
    status: TradeStatus | None,
    side: Side | None,
) -> Outcome:
    """The outcome of DISCOM ``writer`` recording ``metrics``/``status`` on ``current``."""
    if current is None:
        raise LedgerError(
            LEDGER_UNKNOWN_TRADE, "no such trade in this ledger", path="transactionId"
        )
    chosen = _side(current, writer, side)
    merged = _merge(current.metrics_of(chosen), metrics)
    new_status = current.status_of(chosen) if status is None else _status(status)
    if merged == current.metrics_of(chosen) and new_status == current.status_of(chosen):
        return Outcome(current, write=False)
    if current.status_of(chosen) in CLOSED_STATUSES:
        raise LedgerError(
            LEDGER_CONFLICT,
            f"the {chosen} side is {current.status_of(chosen)} and cannot be changed",
            path="status",
        )
    if chosen == "buyer":
        record = replace(current, buyer_metrics=merged, status_buyer_discom=new_status)
    else:
        record = replace(current, seller_metrics=merged, status_seller_discom=new_status)
    return Outcome(replace(record, version=current.version + 1, row_digest=""), write=True)


@dataclass(frozen=True, slots=True)
class ReadFilter:
    """A ``get``: who reads, and the optional filters (validated by :meth:`of`)."""

    reader: str
    transaction_id: str | None = None
    discom_id: str | None = None
    delivery_from: datetime | None = None
    delivery_to: datetime | None = None

    @classmethod
    def of(
        cls,
        reader: str,
        transaction_id: str | None = None,
        discom_id: str | None = None,
        delivery_from: datetime | None = None,
        delivery_to: datetime | None = None,
    ) -> ReadFilter:
        """Check the arguments (``LEDGER_BAD_INPUT``) and build the filter."""
        if not reader:
            raise bad_input("reader", "the reader must be named")
        if delivery_from is not None:
            delivery_from = aware_utc(delivery_from, "delivery_from")
        if delivery_to is not None:
            delivery_to = aware_utc(delivery_to, "delivery_to")
        return cls(reader, transaction_id, discom_id, delivery_from, delivery_to)

    def matches(self, record: TradeRecord) -> bool:
        """True when the reader is a platform or DISCOM of ``record`` and the filters hold."""
        return (
            self.reader in record.parties
            and self.transaction_id in (None, record.transaction_id)
            and self.discom_id in (None, record.discom_id_buyer, record.discom_id_seller)
            and (self.delivery_from is None or record.delivery_start >= self.delivery_from)
            and (self.delivery_to is None or record.delivery_start < self.delivery_to)
        )

    def apply(self, records: Iterable[TradeRecord]) -> list[TradeRecord]:
        """The matching records, by delivery start, then transaction and order item id."""
        found = [record for record in records if self.matches(record)]
        return sorted(found, key=lambda r: (r.delivery_start, r.transaction_id, r.order_item_id))


def _input_fields(trade: TradeInput) -> dict[str, Any]:
    return {name: getattr(trade, name) for name in TradeInput.__dataclass_fields__}


def _side(current: TradeRecord, writer: str, side: Side | None) -> Side:
    sides = current.sides_of(writer)
    if not sides or (side is not None and side not in sides):
        raise LedgerError(
            LEDGER_NOT_A_PARTY,
            f"{writer!r} is not the {side or 'buyer or seller'} DISCOM of this trade",
            path="writer",
        )
    if side is not None:
        return side
    if len(sides) > 1:
        raise bad_input("side", "the writer is both DISCOMs of this trade; name the side")
    return sides[0]


def _status(status: object) -> TradeStatus:
    try:
        return TradeStatus(str(status))
    except ValueError:
        raise bad_input("status", f"unknown trade status {status!r}") from None


def _merge(
    stored: tuple[ValidationMetric, ...], new: Sequence[ValidationMetric]
) -> tuple[ValidationMetric, ...]:
    merged = {metric.metric_type: metric for metric in stored}
    seen: set[MetricType] = set()
    for index, metric in enumerate(new):
        if not isinstance(metric, ValidationMetric):
            raise bad_input(f"metrics[{index}]", "expected a ValidationMetric")
        if metric.metric_type in seen:
            raise bad_input(
                f"metrics[{index}].validationMetricType",
                f"{metric.metric_type} is given twice",
            )
        seen.add(metric.metric_type)
        merged[metric.metric_type] = metric
    return tuple(sorted(merged.values(), key=lambda metric: _METRIC_ORDER[metric.metric_type]))


def logged_write(record: TradeRecord, written: bool, writer: str) -> TradeRecord:
    """Log a committed write (never the parties' meters or customers); return ``record``."""
    if written:
        log.info(
            "ledger_write",
            transaction_id=record.transaction_id,
            order_item_id=record.order_item_id,
            version=record.version,
            writer=writer,
        )
    return record
