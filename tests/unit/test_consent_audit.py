"""The consent audit log: hash chain, checkpoints, export, and tamper detection."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from iesnode.clock import FrozenClock
from iesnode.consent.audit import AuditEvent, AuditLog, AuditRecord, verify_chain, verify_file
from iesnode.consent.chain import GENESIS_HASH, Checkpoint, parse_line
from iesnode.storage.records import MemoryRecordStore
from tests.unit.test_consent_artefact import T0
from tests.unit.test_consent_lifecycle import SEED, SIGNING_KEY

KEY = SIGNING_KEY.verify_key


async def _log(records: int, every: int = 3) -> AuditLog:
    clock = FrozenClock(T0.timestamp())
    log = AuditLog(MemoryRecordStore(), clock, SIGNING_KEY, checkpoint_every=every)
    for n in range(records):
        await log.append(f"urn:uuid:c{n % 2}", AuditEvent.FETCH_ALLOWED, {"n": n, "who": "tsp"})
        clock.advance(60)
    return log


async def _exported(tmp_path: Path, records: int = 7) -> list[dict[str, Any]]:
    """The exported lines of a 7-record log with checkpoints at 3 and 6, parsed."""
    path = tmp_path / "audit.jsonl"
    await (await _log(records)).export(path)
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _verify(tmp_path: Path, lines: list[dict[str, Any]], key: Any = KEY) -> Any:
    path = tmp_path / "tampered.jsonl"
    path.write_bytes(b"".join(rfc8785.dumps(line) + b"\n" for line in lines))
    return verify_file(path, key)


def _index(lines: list[dict[str, Any]], kind: str, seq: int) -> int:
    return next(i for i, line in enumerate(lines) if line["type"] == kind and line["seq"] == seq)


def _content_hash(line: dict[str, Any]) -> str:
    content = {k: v for k, v in line.items() if k not in ("type", "hash")}
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _rechain(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renumber every record and recompute every hash, as a forger without the key can."""
    prev, seq = GENESIS_HASH, 0
    for line in lines:
        if line["type"] == "record":
            seq += 1
            line.update(seq=seq, prev_hash=prev)
            line["hash"] = prev = _content_hash(line)
    return lines


async def test_records_chain_from_the_genesis_hash() -> None:
    """Record 1 links to 64 zeros, each later record to the hash of the one before."""
    log = await _log(3)
    records = [e for e in await log.entries() if isinstance(e, AuditRecord)]
    assert records[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(r.computed_hash() == r.hash for r in records)


async def test_record_hash_is_sha256_of_its_jcs_bytes() -> None:
    """The hash covers exactly {seq, at, consent_id, event, details, prev_hash} in JCS."""
    record = await (await _log(0)).append("urn:uuid:c", AuditEvent.PAUSED, {"b": 1, "a": "x"})
    expected = (
        b'{"at":"2026-01-01T00:00:00Z","consent_id":"urn:uuid:c","details":{"a":"x","b":1},'
        b'"event":"PAUSED","prev_hash":"' + GENESIS_HASH.encode() + b'","seq":1}'
    )
    assert record.hash == hashlib.sha256(expected).hexdigest()


async def test_checkpoints_are_signed_every_n_records() -> None:
    """With checkpoint_every=3, seven records carry checkpoints at 3 and 6."""
    entries = await (await _log(7)).entries()
    checkpoints = [e for e in entries if isinstance(e, Checkpoint)]
    assert [c.seq for c in checkpoints] == [3, 6]
    assert all(c.signature_valid(KEY) for c in checkpoints)


async def test_checkpoint_on_demand_anchors_the_head() -> None:
    """checkpoint() signs the current head; the report then anchors every record."""
    log = await _log(7)
    checkpoint = await log.checkpoint()
    assert checkpoint is not None
    assert checkpoint.seq == 7
    report = verify_chain(await log.entries(), KEY)
    assert (report.ok, report.head_seq, report.anchored_seq, report.checkpoints) == (True, 7, 7, 3)


async def test_empty_log_has_no_checkpoint() -> None:
    """There is nothing to sign in an empty log."""
    assert await (await _log(0)).checkpoint() is None


async def test_log_continues_after_a_restart() -> None:
    """A new AuditLog over the same store continues the sequence and the chain."""
    clock = FrozenClock(T0.timestamp())
    store = MemoryRecordStore()
    first = await AuditLog(store, clock, SIGNING_KEY).append("c", AuditEvent.REQUESTED)
    key_b64 = base64.b64encode(bytes.fromhex(SEED)).decode()
    second = await AuditLog(store, clock, key_b64).append("c", AuditEvent.APPROVED)
    assert (second.seq, second.prev_hash) == (2, first.hash)


def test_checkpoint_interval_must_be_positive() -> None:
    """checkpoint_every=0 is a configuration error."""
    with pytest.raises(ValueError, match="checkpoint_every"):
        AuditLog(MemoryRecordStore(), FrozenClock(0), SIGNING_KEY, checkpoint_every=0)


async def test_usage_count_counts_allowed_fetches_since() -> None:
    """usage_count counts one consent's FETCH_ALLOWED records at or after ``since``."""
    log = await _log(6)
    await log.append("urn:uuid:c0", AuditEvent.FETCH_DENIED)
    assert await log.usage_count("urn:uuid:c0", T0) == 3
    assert await log.usage_count("urn:uuid:c0", T0 + timedelta(minutes=2)) == 2
    assert await log.usage_count("urn:uuid:unknown", T0) == 0


async def test_exported_log_verifies(tmp_path: Path) -> None:
    """An untouched export verifies, anchored up to its last checkpoint."""
    report = _verify(tmp_path, await _exported(tmp_path))
    assert (report.ok, report.records, report.anchored_seq, report.first_bad_seq) == (
        True,
        7,
        6,
        None,
    )


async def test_empty_file_verifies(tmp_path: Path) -> None:
    """An empty log is a valid (empty) chain."""
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert verify_file(path, KEY).ok


async def test_edited_record_is_caught(tmp_path: Path) -> None:
    """Changing a record's details without its hash fails at that record."""
    lines = await _exported(tmp_path)
    lines[_index(lines, "record", 5)]["details"]["n"] = 99
    report = _verify(tmp_path, lines)
    assert (report.ok, report.code, report.first_bad_seq) == (False, "AUDIT_RECORD_EDITED", 5)


async def test_edited_record_with_recomputed_hash_breaks_the_link(tmp_path: Path) -> None:
    """Recomputing the edited record's hash breaks the next record's prev_hash."""
    lines = await _exported(tmp_path)
    edited = lines[_index(lines, "record", 5)]
    edited["event"] = "FETCH_DENIED"
    edited["hash"] = _content_hash(edited)
    report = _verify(tmp_path, lines)
    assert (report.code, report.first_bad_seq) == ("AUDIT_CHAIN_BROKEN", 6)


async def test_removed_record_is_caught(tmp_path: Path) -> None:
    """Deleting a record leaves a gap named by its seq."""
    lines = await _exported(tmp_path)
    del lines[_index(lines, "record", 5)]
    report = _verify(tmp_path, lines)
    assert (report.code, report.first_bad_seq) == ("AUDIT_RECORD_MISSING", 5)


async def test_inserted_record_is_caught(tmp_path: Path) -> None:
    """A copy of an earlier record inserted later goes back in seq."""
    lines = await _exported(tmp_path)
    lines.insert(_index(lines, "record", 4) + 1, dict(lines[_index(lines, "record", 2)]))
    report = _verify(tmp_path, lines)
    assert (report.code, report.first_bad_seq) == ("AUDIT_RECORD_OUT_OF_ORDER", 2)


async def test_reordered_records_are_caught(tmp_path: Path) -> None:
    """Swapping two records is caught at the first seq out of place."""
    lines = await _exported(tmp_path)
    i, j = _index(lines, "record", 4), _index(lines, "record", 5)
    lines[i], lines[j] = lines[j], lines[i]
    report = _verify(tmp_path, lines)
    assert (report.code, report.first_bad_seq) == ("AUDIT_RECORD_MISSING", 4)


async def test_rewritten_tail_with_recomputed_hashes_fails_the_checkpoint(tmp_path: Path) -> None:
    """A forged record inserted and the chain recomputed still fails the signed checkpoint."""
    lines = await _exported(tmp_path)
    forged = dict(lines[_index(lines, "record", 4)], details={"n": -1})
    lines.insert(_index(lines, "record", 4) + 1, forged)
    report = _verify(tmp_path, _rechain(lines))
    assert (report.code, report.first_bad_seq) == ("AUDIT_CHECKPOINT_MISMATCH", 6)


async def test_truncated_tail_fails_the_checkpoint(tmp_path: Path) -> None:
    """Dropping records a checkpoint covers is caught at the first missing seq."""
    lines = await _exported(tmp_path)
    kept = [*lines[: _index(lines, "record", 5)], lines[_index(lines, "checkpoint", 6)]]
    report = _verify(tmp_path, kept)
    assert (report.code, report.first_bad_seq) == ("AUDIT_CHECKPOINT_BEYOND_LOG", 5)


async def test_checkpoint_with_a_bad_signature_is_caught(tmp_path: Path) -> None:
    """A checkpoint whose signature does not verify is named by its seq."""
    lines = await _exported(tmp_path)
    checkpoint = lines[_index(lines, "checkpoint", 3)]
    signature = bytearray(base64.b64decode(checkpoint["signature"]))
    signature[0] ^= 1
    checkpoint["signature"] = base64.b64encode(bytes(signature)).decode()
    report = _verify(tmp_path, lines)
    assert (report.code, report.first_bad_seq) == ("AUDIT_CHECKPOINT_SIGNATURE", 3)


async def test_checkpoint_under_another_key_is_caught(tmp_path: Path) -> None:
    """Checkpoints do not verify under a key other than the log's."""
    other = SigningKey(bytes(32)).verify_key
    report = _verify(tmp_path, await _exported(tmp_path), other)
    assert (report.code, report.first_bad_seq) == ("AUDIT_CHECKPOINT_SIGNATURE", 3)


async def test_malformed_line_is_caught(tmp_path: Path) -> None:
    """A line that is not a record or checkpoint fails, naming the seq expected there."""
    path = tmp_path / "audit.jsonl"
    await (await _log(4)).export(path)
    lines = path.read_bytes().splitlines()
    lines[2] = b'{"type": "record", "seq": "three"}'
    path.write_bytes(b"\n".join(lines))
    report = verify_file(path, KEY)
    assert (report.code, report.first_bad_seq) == ("AUDIT_LINE_MALFORMED", 3)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=st.dictionaries(st.text(max_size=8), _json, max_size=4))
async def test_layout_does_not_matter_but_values_do(details: dict[str, Any]) -> None:
    """Re-serialised records (indentation, key order) verify; a changed value does not."""
    clock = FrozenClock(T0.timestamp())
    log = AuditLog(MemoryRecordStore(), clock, SIGNING_KEY)
    await log.append("urn:uuid:c", AuditEvent.FETCH_ALLOWED, details)
    entries = await log.entries()
    relaid = [parse_line(json.dumps(e.model_dump(mode="json"), indent=2)) for e in entries]
    assert verify_chain(relaid, KEY).ok
    changed = entries[0].model_copy(update={"details": {**details, "extra": 1}})
    assert verify_chain([changed], KEY).code == "AUDIT_RECORD_EDITED"


def test_at_is_a_utc_timestamp() -> None:
    """Record times are written as UTC ISO strings and read back as aware datetimes."""
    record = AuditRecord(
        seq=1,
        at="2026-01-01T00:00:00Z",
        consent_id="c",
        event=AuditEvent.REVOKED,
        details={},
        prev_hash=GENESIS_HASH,
        hash=GENESIS_HASH,
    )
    assert record.at_datetime() == datetime(2026, 1, 1, tzinfo=UTC)
