"""The consent audit log: append-only, hash-chained, with signed checkpoints.

Follows ``research/trust-layer.md`` section 5.1 ("Audit log"); the chain format and
its verification are in :mod:`iesnode.consent.chain` (re-exported here). Every
``checkpoint_every`` records, and on demand, the log signs ``{seq, hash}`` of its head
with Ed25519, so a tail rewritten with recomputed hashes still fails a checkpoint.

Storage is the ``RecordStore`` seam: one key per record (written once), one per
checkpoint, a head pointer and a per-consent index of seqs. Consent use counts
(ReBIT ``ConsentUse.count``) are derived from the records the index points at.
One process writes a log at a time; appends within it are serialised by a lock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import rfc8785
import structlog
from nacl.signing import SigningKey, VerifyKey
from pydantic import JsonValue

from iesnode.consent.chain import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    AuditReport,
    Checkpoint,
    verify_chain,
    verify_file,
)
from iesnode.interfaces import Clock, RecordStore
from iesnode.protocol.signing import load_signing_key

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "AuditReport",
    "Checkpoint",
    "verify_chain",
    "verify_file",
]

log = structlog.get_logger(__name__)

_RECORD_KIND: Final = "consent-audit"
_CHECKPOINT_KIND: Final = "consent-audit-checkpoint"
_HEAD_KIND: Final = "consent-audit-head"
_INDEX_KIND: Final = "consent-audit-index"


def _key(seq: int) -> str:
    return f"{seq:012d}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AuditLog:
    """Appends records and checkpoints to a ``RecordStore``; one writer process at a time."""

    def __init__(
        self,
        store: RecordStore,
        clock: Clock,
        signing_key: SigningKey | str,
        *,
        checkpoint_every: int = 100,
        actor: str = "consent-audit",
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self._store = store
        self._clock = clock
        self._key = load_signing_key(signing_key) if isinstance(signing_key, str) else signing_key
        self._every = checkpoint_every
        self._actor = actor
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None

    @property
    def verify_key(self) -> VerifyKey:
        """The key that verifies this log's checkpoints."""
        return self._key.verify_key

    async def _read_head(self) -> tuple[int, str]:
        if self._head is None:
            stored = await self._store.get(_HEAD_KIND, "head")
            self._head = (0, GENESIS_HASH)
            if stored is not None:
                head = json.loads(stored.data)
                self._head = (int(head["seq"]), str(head["hash"]))
        return self._head

    async def append(
        self, consent_id: str, event: AuditEvent, details: dict[str, JsonValue] | None = None
    ) -> AuditRecord:
        """Append one record (and a checkpoint when one is due); return it.

        ``details`` must be JCS-representable: a NaN, an infinity or an integer beyond
        2**53 - 1 raises ``ValueError`` (``rfc8785.CanonicalizationError``).
        """
        async with self._lock:
            seq, prev = await self._read_head()
            now = self._clock.now()
            content: dict[str, Any] = {
                "seq": seq + 1, "at": _iso(datetime.fromtimestamp(now, UTC)),
                "consent_id": consent_id, "event": event.value,
                "details": details or {}, "prev_hash": prev,
            }  # fmt: skip
            record = AuditRecord.model_validate(
                {**content, "hash": hashlib.sha256(rfc8785.dumps(content)).hexdigest()},
                strict=False,
            )
            data = rfc8785.dumps(record.model_dump(mode="json"))
            await self._store.put(_RECORD_KIND, _key(record.seq), data, actor=self._actor, at=now)
            await self._store.put(
                _INDEX_KIND, consent_id, str(record.seq).encode(), actor=self._actor, at=now
            )
            head = rfc8785.dumps({"seq": record.seq, "hash": record.hash})
            await self._store.put(_HEAD_KIND, "head", head, actor=self._actor, at=now)
            self._head = (record.seq, record.hash)
            log.info("consent_audit_appended", seq=record.seq, audit_event=event.value)
            if record.seq % self._every == 0:
                await self._sign_head(now)
            return record

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now; None when the log is empty."""
        async with self._lock:
            return await self._sign_head(self._clock.now())

    async def _sign_head(self, now: float) -> Checkpoint | None:
        seq, head_hash = await self._read_head()
        if seq == 0:
            return None
        signature = self._key.sign(Checkpoint.signed_bytes(seq, head_hash)).signature
        checkpoint = Checkpoint(
            seq=seq, hash=head_hash, signature=base64.b64encode(signature).decode("ascii")
        )
        data = rfc8785.dumps(checkpoint.model_dump(mode="json"))
        await self._store.put(_CHECKPOINT_KIND, _key(seq), data, actor=self._actor, at=now)
        log.info("consent_audit_checkpoint", seq=seq)
        return checkpoint

    async def entries(self) -> list[AuditRecord | Checkpoint]:
        """Every record in seq order, each checkpoint right after the record it covers."""
        records = await self._store.scan(_RECORD_KIND)
        checkpoints = {v.key: v for v in await self._store.scan(_CHECKPOINT_KIND)}
        out: list[AuditRecord | Checkpoint] = []
        for version in records:
            out.append(AuditRecord.model_validate_json(version.data))
            if version.key in checkpoints:
                out.append(Checkpoint.model_validate_json(checkpoints[version.key].data))
        return out

    async def records_for(self, consent_id: str) -> list[AuditRecord]:
        """The records about one consent, oldest first (through the per-consent index)."""
        found: list[AuditRecord] = []
        for version in await self._store.history(_INDEX_KIND, consent_id):
            stored = await self._store.get(_RECORD_KIND, _key(int(version.data)))
            if stored is not None:
                found.append(AuditRecord.model_validate_json(stored.data))
        return found

    async def usage_count(self, consent_id: str, since: datetime) -> int:
        """How many ``FETCH_ALLOWED`` records the consent has at or after ``since``."""
        return sum(
            1
            for record in await self.records_for(consent_id)
            if record.event is AuditEvent.FETCH_ALLOWED and record.at_datetime() >= since
        )

    async def export(self, path: Path) -> int:
        """Write the log as JSON lines (canonical JSON per line); return the line count."""
        entries = await self.entries()
        with path.open("wb") as out:
            for entry in entries:
                out.write(rfc8785.dumps(entry.model_dump(mode="json")) + b"\n")
        return len(entries)
