"""The hash chain of the consent audit log: records, checkpoints, verification.

Follows ``research/trust-layer.md`` section 5.1 ("Audit log"). A record is
``{seq, at, consent_id, event, details, prev_hash}``; its hash is the hex SHA-256 of
the RFC 8785 (JCS) bytes of exactly those six fields, and ``prev_hash`` is the hash of
the record before it (:data:`GENESIS_HASH` for record 1). A checkpoint is Ed25519 over
the JCS bytes of ``{seq, hash}`` of the head at that time.

The exported form is JSON lines: records (the six fields plus ``type`` and the
claimed ``hash``) in seq order, each checkpoint after the record it covers.
:func:`verify_chain` and :func:`verify_file` stop at the first problem and name its
seq: an edited record (hash differs), a removed one (gap), an inserted, duplicated or
moved one (seq goes back), a broken link, a checkpoint whose signature fails or whose
hash differs from the chain (a tail rewritten with recomputed hashes), or one beyond
the end of the log (a truncated tail).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import rfc8785
import structlog
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditRecord",
    "AuditReport",
    "Checkpoint",
    "parse_line",
    "verify_chain",
    "verify_file",
]

log = structlog.get_logger(__name__)

GENESIS_HASH: Final = "0" * 64
_Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class AuditEvent(StrEnum):
    """What happened to a consent (lifecycle transitions and data fetches)."""

    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACTIVATED = "ACTIVATED"
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    FETCH_ALLOWED = "FETCH_ALLOWED"
    FETCH_DENIED = "FETCH_DENIED"


class AuditRecord(BaseModel):
    """One log record as stored and exported; ``hash`` is what the writer computed."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: Literal["record"] = "record"
    seq: int = Field(ge=1)
    at: str
    consent_id: str
    event: AuditEvent
    details: dict[str, JsonValue]
    prev_hash: _Hash
    hash: _Hash

    def content(self) -> dict[str, Any]:
        """The six hashed fields."""
        return self.model_dump(mode="json", exclude={"type", "hash"})

    def computed_hash(self) -> str:
        """Hex SHA-256 of the JCS bytes of :meth:`content`."""
        return hashlib.sha256(rfc8785.dumps(self.content())).hexdigest()

    def at_datetime(self) -> datetime:
        """``at`` as an aware datetime."""
        return datetime.fromisoformat(self.at)


class Checkpoint(BaseModel):
    """The head ``{seq, hash}`` signed with Ed25519 over its JCS bytes (base64 signature)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: Literal["checkpoint"] = "checkpoint"
    seq: int = Field(ge=1)
    hash: _Hash
    signature: str

    @staticmethod
    def signed_bytes(seq: int, head_hash: str) -> bytes:
        """The bytes a checkpoint signature covers."""
        return rfc8785.dumps({"seq": seq, "hash": head_hash})

    def signature_valid(self, key: VerifyKey) -> bool:
        """True when ``signature`` verifies under ``key``."""
        try:
            key.verify(self.signed_bytes(self.seq, self.hash), base64.b64decode(self.signature))
        except (BadSignatureError, binascii.Error, ValueError):
            return False
        return True


_Line: TypeAdapter[AuditRecord | Checkpoint] = TypeAdapter(
    Annotated[AuditRecord | Checkpoint, Field(discriminator="type")]
)


def parse_line(line: bytes | str) -> AuditRecord | Checkpoint:
    """Read one exported line (raises ``pydantic.ValidationError`` when it is neither)."""
    return _Line.validate_json(line)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of a chain check; ``anchored_seq`` is the last seq a good checkpoint covers."""

    ok: bool
    records: int
    checkpoints: int
    head_seq: int
    anchored_seq: int
    first_bad_seq: int | None = None
    code: str | None = None
    reason: str | None = None


class _Verifier:
    """Checks entries one at a time, stopping at the first problem."""

    def __init__(self, key: VerifyKey) -> None:
        self.key = key
        self.hashes: dict[int, str] = {}
        self.prev = GENESIS_HASH
        self.checkpoints = 0
        self.anchored = 0
        self.pending: list[Checkpoint] = []
        self.failure: tuple[int | None, str, str] | None = None

    @property
    def expected(self) -> int:
        return len(self.hashes) + 1

    def fail(self, seq: int | None, code: str, reason: str) -> None:
        if self.failure is None:
            self.failure = (seq, code, reason)

    def feed(self, entry: AuditRecord | Checkpoint) -> None:
        if self.failure is not None:
            return
        if isinstance(entry, Checkpoint):
            self.checkpoints += 1
            if entry.seq in self.hashes:
                self._check(entry)
            else:
                self.pending.append(entry)
            return
        seq = entry.seq
        if seq > self.expected:
            self.fail(
                self.expected,
                "AUDIT_RECORD_MISSING",
                f"expected record {self.expected}, found {seq}: removed or moved",
            )
        elif seq < self.expected:
            self.fail(
                seq,
                "AUDIT_RECORD_OUT_OF_ORDER",
                f"record {seq} appears after record {self.expected - 1}: inserted or moved",
            )
        elif entry.computed_hash() != entry.hash:
            self.fail(seq, "AUDIT_RECORD_EDITED", f"record {seq} does not hash to its stored hash")
        elif entry.prev_hash != self.prev:
            self.fail(
                seq,
                "AUDIT_CHAIN_BROKEN",
                f"record {seq} prev_hash does not match the hash of record {seq - 1}",
            )
        else:
            self.hashes[seq] = self.prev = entry.hash

    def _check(self, checkpoint: Checkpoint) -> None:
        if not checkpoint.signature_valid(self.key):
            self.fail(
                checkpoint.seq,
                "AUDIT_CHECKPOINT_SIGNATURE",
                f"checkpoint at record {checkpoint.seq} has an invalid signature",
            )
        elif self.hashes[checkpoint.seq] != checkpoint.hash:
            self.fail(
                checkpoint.seq,
                "AUDIT_CHECKPOINT_MISMATCH",
                f"checkpoint at record {checkpoint.seq} names a different hash: rewritten",
            )
        else:
            self.anchored = max(self.anchored, checkpoint.seq)

    def finish(self) -> AuditReport:
        for checkpoint in self.pending:
            if self.failure is None and checkpoint.seq not in self.hashes:
                self.fail(
                    self.expected,
                    "AUDIT_CHECKPOINT_BEYOND_LOG",
                    f"checkpoint at record {checkpoint.seq} but the log ends at "
                    f"{self.expected - 1}: truncated",
                )
            elif self.failure is None:
                self._check(checkpoint)
        seq, code, reason = self.failure if self.failure else (None, None, None)
        return AuditReport(
            self.failure is None,
            len(self.hashes),
            self.checkpoints,
            len(self.hashes),
            self.anchored,
            seq,
            code,
            reason,
        )


def verify_chain(
    entries: Iterable[AuditRecord | Checkpoint], checkpoint_key: VerifyKey
) -> AuditReport:
    """Check seq order, each record's hash and link, and every checkpoint's signature and hash."""
    verifier = _Verifier(checkpoint_key)
    for entry in entries:
        verifier.feed(entry)
    return verifier.finish()


def verify_file(path: Path, key: VerifyKey) -> AuditReport:
    """Verify an exported JSON-lines log; a line that does not parse is a failure too."""
    verifier = _Verifier(key)
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = parse_line(line)
            except (ValueError, ValidationError) as exc:
                reason = f"line {number} is not an audit record or checkpoint"
                verifier.fail(verifier.expected, "AUDIT_LINE_MALFORMED", reason)
                log.warning("consent_audit_line_malformed", line=number, error=type(exc).__name__)
                break
            verifier.feed(entry)
    return verifier.finish()
