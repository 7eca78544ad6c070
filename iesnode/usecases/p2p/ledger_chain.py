"""The ledger's digest chain: canonical row bytes, row digests, and the chain walk.

Every write (a platform ``put`` or a DISCOM ``record``) appends one row holding the whole
new version of the trade (``research/energy-domain.md`` §2.2, "rowDigest"). The stored
bytes are the RFC 8785 (JCS) canonical JSON of :meth:`TradeRecord.to_wire` without
``rowDigest``; the row's digest is ``sha256(prev_digest || bytes)`` in hex, where
``prev_digest`` is the ASCII hex digest of the row before (:data:`GENESIS_DIGEST`, 64
zeros, for row 1). Rows are numbered ``seq`` 1, 2, 3 … without gaps.

:class:`ChainWalker` checks rows in ``seq`` order and stops at the first problem: a
missing or repeated ``seq``, a broken link, bytes that do not hash to the stored digest,
bytes that do not parse, index columns that disagree with the record, or a trade version
that does not follow the previous one. What it cannot see without an outside anchor: a
removed *tail*, or a rewrite of the chain from some row to the end with every digest
recomputed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Final

import rfc8785

from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_types import LEDGER_TAMPERED, ChainReport, LedgerError

__all__ = ["GENESIS_DIGEST", "ChainWalker", "LedgerRow", "chain_digest", "check_row", "seal"]

GENESIS_DIGEST: Final = "0" * 64


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One stored row: the index columns, the canonical record bytes, and the two digests."""

    seq: int
    transaction_id: str
    order_item_id: str
    version: int
    writer: str
    record: bytes
    prev_digest: str
    row_digest: str

    def decode(self) -> TradeRecord:
        """The record this row holds, with ``row_digest`` filled in (``LEDGER_TAMPERED`` if not
        parseable or not matching the index columns)."""
        try:
            doc = json.loads(self.record)
            record = TradeRecord.from_wire({**doc, "rowDigest": self.row_digest})
        except (ValueError, TypeError, LedgerError) as error:
            raise _tampered(self.seq, f"does not hold a valid trade record ({error})") from None
        if (record.transaction_id, record.order_item_id, record.version) != (
            self.transaction_id,
            self.order_item_id,
            self.version,
        ):
            raise _tampered(self.seq, "index columns disagree with the stored record")
        return record

    def digest_ok(self) -> bool:
        """True when the stored bytes and ``prev_digest`` hash to ``row_digest``."""
        return chain_digest(self.prev_digest, self.record) == self.row_digest


def _tampered(seq: int, what: str) -> LedgerError:
    return LedgerError(LEDGER_TAMPERED, f"ledger row {seq} {what}", path=f"rows[{seq}]")


def chain_digest(prev_digest: str, record: bytes) -> str:
    """Hex ``sha256(prev_digest || record)``."""
    return hashlib.sha256(prev_digest.encode("ascii") + record).hexdigest()


def seal(
    record: TradeRecord, *, seq: int, prev_digest: str, writer: str
) -> tuple[LedgerRow, TradeRecord]:
    """The row that stores ``record`` after ``prev_digest``, and the record with its digest."""
    doc = record.to_wire()
    del doc["rowDigest"]
    data = rfc8785.dumps(doc)
    digest = chain_digest(prev_digest, data)
    row = LedgerRow(
        seq=seq,
        transaction_id=record.transaction_id,
        order_item_id=record.order_item_id,
        version=record.version,
        writer=writer,
        record=data,
        prev_digest=prev_digest,
        row_digest=digest,
    )
    return row, replace(record, row_digest=digest)


def check_row(row: LedgerRow, *, before: str | None, after: str | None) -> TradeRecord:
    """Decode one row read on its own, checking its digest and both its links.

    ``before`` is the ``row_digest`` of row ``seq - 1`` (None when that row is missing),
    ``after`` the ``prev_digest`` of row ``seq + 1`` (None when this is the last row).
    Raises ``LEDGER_TAMPERED`` naming the row.
    """
    expected_prev = GENESIS_DIGEST if row.seq == 1 else before
    if row.prev_digest != expected_prev:
        raise _tampered(row.seq, "does not link to the row before it")
    if not row.digest_ok():
        raise _tampered(row.seq, "does not hash to its stored digest")
    if after is not None and after != row.row_digest:
        raise _tampered(row.seq, "is not the row the next row links to")
    return row.decode()


class ChainWalker:
    """Feeds rows in ``seq`` order; :meth:`report` says whether and where the chain broke."""

    def __init__(self) -> None:
        self._rows = 0
        self._prev = GENESIS_DIGEST
        self._versions: dict[tuple[str, str], int] = {}
        self._failure: tuple[int, str] | None = None

    @property
    def failed(self) -> bool:
        """True once a problem was found (later rows are ignored)."""
        return self._failure is not None

    def feed(self, row: LedgerRow) -> None:
        """Check the next row."""
        if self._failure is not None:
            return
        expected = self._rows + 1
        reason = self._problem(row, expected)
        if reason is not None:
            self._failure = (min(row.seq, expected), reason)
            return
        self._rows = expected
        self._prev = row.row_digest
        self._versions[(row.transaction_id, row.order_item_id)] = row.version

    def _problem(self, row: LedgerRow, expected: int) -> str | None:
        if row.seq != expected:
            return f"expected row {expected}, found row {row.seq} (removed, inserted or moved)"
        if row.prev_digest != self._prev:
            return f"row {row.seq} does not link to the digest of row {row.seq - 1}"
        if not row.digest_ok():
            return f"row {row.seq} does not hash to its stored digest (edited)"
        try:
            row.decode()
        except LedgerError as error:
            return error.message
        previous = self._versions.get((row.transaction_id, row.order_item_id), 0)
        if row.version != previous + 1:
            return f"row {row.seq} holds version {row.version} after version {previous}"
        return None

    def report(self) -> ChainReport:
        """The outcome so far."""
        if self._failure is None:
            return ChainReport(ok=True, rows=self._rows)
        seq, reason = self._failure
        return ChainReport(ok=False, rows=self._rows, first_bad_row=seq, reason=reason)
