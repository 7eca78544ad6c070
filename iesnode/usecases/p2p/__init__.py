"""P2P energy trading (IES wave-2 / DEG): the trade ledger, allocation and settlement.

``research/energy-domain.md`` §2.2 describes the roles and phases; this package holds the
pure parts every role shares: the DEG ledger record and its stores (:mod:`.ledger`,
:mod:`.ledger_sqlite`, :mod:`.ledger_memory`), pro-rata allocation (:mod:`.allocation`)
and revenue flows (:mod:`.settlement`).
"""

from iesnode.usecases.p2p.allocation import (
    ALLOC_BAD_INPUT,
    ALLOC_MISSING_READING,
    AllocatableTrade,
    Allocation,
    AllocationError,
    MeterInterval,
    TradeKey,
    allocate,
    allocate_side,
    pro_rata,
)
from iesnode.usecases.p2p.ledger import (
    LEDGER_BAD_INPUT,
    LEDGER_CONFLICT,
    LEDGER_NOT_A_PARTY,
    LEDGER_TAMPERED,
    LEDGER_UNKNOWN_TRADE,
    ChainReport,
    LedgerError,
    MetricType,
    Side,
    TradeDetail,
    TradeInput,
    TradeLedger,
    TradeRecord,
    TradeStatus,
    TradeType,
    TradeUnit,
    ValidationMetric,
)
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.ledger_sqlite import SqliteLedger
from iesnode.usecases.p2p.settlement import (
    FlowRole,
    PricedTrade,
    RevenueFlow,
    SettlementTerms,
    settle,
)

__all__ = [
    "ALLOC_BAD_INPUT",
    "ALLOC_MISSING_READING",
    "LEDGER_BAD_INPUT",
    "LEDGER_CONFLICT",
    "LEDGER_NOT_A_PARTY",
    "LEDGER_TAMPERED",
    "LEDGER_UNKNOWN_TRADE",
    "AllocatableTrade",
    "Allocation",
    "AllocationError",
    "ChainReport",
    "FlowRole",
    "LedgerError",
    "MemoryLedger",
    "MeterInterval",
    "MetricType",
    "PricedTrade",
    "RevenueFlow",
    "SettlementTerms",
    "Side",
    "SqliteLedger",
    "TradeDetail",
    "TradeInput",
    "TradeKey",
    "TradeLedger",
    "TradeRecord",
    "TradeStatus",
    "TradeType",
    "TradeUnit",
    "ValidationMetric",
    "allocate",
    "allocate_side",
    "pro_rata",
    "settle",
]
