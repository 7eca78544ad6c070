"""Signature diagnosis: every finding kind, with the numbers operators need."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from iesnode.protocol.diagnosis import diagnose
from iesnode.protocol.signing import Signer

VECTORS = Path("/work/shared/vectors/beckn-signing")
VECTOR: dict[str, Any] = json.loads((VECTORS / "beckn-006-search.json").read_text())
BODY = (VECTORS / VECTOR["body_file"]).read_bytes()
PUBLIC: str = VECTOR["signing_public_key"]
HEADER: str = VECTOR["expected_authorization_header"]
CREATED: int = VECTOR["created"]
EXPIRES: int = VECTOR["expires"]
SIGNER = Signer.from_base64(
    VECTOR["subscriber_id"],
    VECTOR["unique_key_id"],
    VECTOR["signing_private_key_64_byte_libsodium"],
)
DOC: dict[str, Any] = {"message": {"₹": 12.5}, "context": {"city": "Kochi", "action": "confirm"}}


def _kinds(body: bytes, header: str, *, now: float = CREATED + 1, key: str = PUBLIC) -> list[str]:
    return [f.kind for f in diagnose(body, header, key, now=now, skew=5).findings]


def test_valid_header_has_no_findings() -> None:
    """The vector header over the vector body is ok with its parsed header attached."""
    result = diagnose(BODY, HEADER, PUBLIC, now=CREATED + 25, skew=5)
    assert result.ok
    assert result.findings == ()
    assert result.header is not None
    assert result.header.subscriber_id == "example-bap.com"


def test_valid_summary_names_signer_window_and_time_left() -> None:
    """The summary of a valid header names the signer, created/expires and seconds left."""
    summary = diagnose(BODY, HEADER, PUBLIC, now=CREATED + 25, skew=5).summary()
    assert summary.startswith("valid: signed by example-bap.com|ae3ea24b")
    assert f"created={CREATED}" in summary
    assert f"expires={EXPIRES}" in summary
    assert f"{EXPIRES - CREATED - 25} s left" in summary


def test_malformed_header() -> None:
    """An unparseable header is a single malformed finding and no parsed header."""
    result = diagnose(BODY, "Signature keyId=nonsense", PUBLIC, now=CREATED, skew=5)
    assert [f.kind for f in result.findings] == ["malformed"]
    assert result.findings[0].detail.startswith("malformed header: ")
    assert "missing signature, created, expires" in result.findings[0].detail
    assert result.header is None


def test_algorithm_mismatch_is_malformed() -> None:
    """A keyId/algorithm disagreement is reported as a malformed header naming both."""
    header = HEADER.replace('algorithm="ed25519"', 'algorithm="rsa"')
    result = diagnose(BODY, header, PUBLIC, now=CREATED, skew=5)
    assert [f.kind for f in result.findings] == ["malformed"]
    assert "'rsa'" in result.findings[0].detail


def test_undecodable_signature_is_malformed() -> None:
    """A signature that is not base64 of 64 bytes is called malformed, not a mismatch."""
    header = HEADER.replace(VECTOR["expected_signature_base64"], "c2hvcnQ=")
    assert _kinds(BODY, header) == ["malformed"]


def test_bad_key() -> None:
    """A public key of the wrong length is a bad_key finding; the time is still checked."""
    short = base64.b64encode(bytes(16)).decode()
    result = diagnose(BODY, HEADER, short, now=EXPIRES + 60, skew=5)
    assert [f.kind for f in result.findings] == ["bad_key", "expired"]
    assert "32 bytes" in result.findings[0].detail


def test_signature_mismatch_for_altered_body() -> None:
    """A body changed after signing is a signature mismatch."""
    altered = BODY.replace(b"Kochi", b"Kollam")
    result = diagnose(altered, HEADER, PUBLIC, now=CREATED + 1, skew=5)
    assert [f.kind for f in result.findings] == ["signature_mismatch"]
    assert result.findings[0].detail.startswith("signature mismatch: ")
    assert "example-bap.com|ae3ea24b-cfec-495e-81f8-044aaef164ac" in result.findings[0].detail


def test_signature_mismatch_for_other_key() -> None:
    """A header checked against another subscriber's key is a signature mismatch."""
    other = base64.b64encode(bytes(SigningKey(b"\x02" * 32).verify_key)).decode()
    assert _kinds(BODY, HEADER, key=other) == ["signature_mismatch"]


def _compact(doc: Any, **kwargs: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), **kwargs).encode()


_Bytes = Callable[[], bytes]


@pytest.mark.parametrize(
    ("signed", "sent", "phrase"),
    [
        (lambda: BODY + b"\n", lambda: BODY, "trailing newline added"),
        (lambda: BODY, lambda: BODY + b"\n", "trailing newline removed"),
        (lambda: b"{\n}\n", lambda: b"{\r\n}\r\n", "CRLF line endings turned into LF"),
        (lambda: b"{\r\n}", lambda: b"{\n}", "LF line endings turned into CRLF"),
        (lambda: _compact(DOC), lambda: json.dumps(DOC, indent=2).encode(), "minified"),
        (lambda: json.dumps(DOC).encode(), lambda: _compact(DOC), "default JSON separators"),
        (
            lambda: _compact(DOC, ensure_ascii=False),
            lambda: _compact(DOC),
            "ensure_ascii=False",
        ),
        (lambda: json.dumps(DOC, indent=2).encode(), lambda: _compact(DOC), "indented"),
        (lambda: _compact(DOC, sort_keys=True), lambda: _compact(DOC), "sorted keys"),
    ],
    ids=[
        "newline-added",
        "newline-removed",
        "crlf-to-lf",
        "lf-to-crlf",
        "minified",
        "python-default",
        "ensure-ascii-false",
        "indented",
        "sorted-keys",
    ],
)
def test_digest_mismatch_names_the_variant(signed: _Bytes, sent: _Bytes, phrase: str) -> None:
    """A signature over a re-serialised body is a digest mismatch naming the variant."""
    header = SIGNER.sign(signed(), CREATED)
    result = diagnose(sent(), header, PUBLIC, now=CREATED + 1, skew=5)
    assert [f.kind for f in result.findings] == ["digest_mismatch"]
    detail = result.findings[0].detail
    assert detail.startswith("digest mismatch: the signature is valid for the body ")
    assert phrase in detail
    assert "sign the exact bytes you send" in detail


def test_not_yet_valid_gives_the_numbers() -> None:
    """created beyond now + skew is not_yet_valid with created, expires, now and skew."""
    result = diagnose(BODY, HEADER, PUBLIC, now=CREATED - 42, skew=5)
    assert [f.kind for f in result.findings] == ["not_yet_valid"]
    detail = result.findings[0].detail
    assert detail.startswith("not yet valid by 42 s")
    for part in (f"created={CREATED}", f"expires={EXPIRES}", f"now={CREATED - 42}", "skew 5 s"):
        assert part in detail
    assert "at least 37 s ahead" in detail


def test_within_skew_is_valid() -> None:
    """created up to skew seconds in the future is accepted."""
    assert diagnose(BODY, HEADER, PUBLIC, now=CREATED - 5, skew=5).ok


def test_expired_gives_the_numbers() -> None:
    """now past expires is expired with how long ago and every timestamp."""
    result = diagnose(BODY, HEADER, PUBLIC, now=EXPIRES + 17, skew=5)
    assert [f.kind for f in result.findings] == ["expired"]
    detail = result.findings[0].detail
    assert detail.startswith("expired 17 s ago")
    for part in (f"created={CREATED}", f"expires={EXPIRES}", f"now={EXPIRES + 17}", "skew 5 s"):
        assert part in detail


def test_expires_before_created_is_malformed() -> None:
    """A header whose window ends before it starts is reported malformed."""
    header = SIGNER.sign(BODY, CREATED, CREATED - 10)
    assert _kinds(BODY, header) == ["malformed"]


def test_signature_and_time_findings_together() -> None:
    """A digest mismatch and an expiry are both reported, signature first."""
    header = SIGNER.sign(BODY + b"\n", CREATED)
    result = diagnose(BODY, header, PUBLIC, now=CREATED + 301, skew=5)
    assert [f.kind for f in result.findings] == ["digest_mismatch", "expired"]
    assert not result.ok
    assert result.summary() == result.findings[0].detail


def test_non_json_body_without_variant_is_signature_mismatch() -> None:
    """A non-JSON body that matches no variant is a signature mismatch, not a crash."""
    header = SIGNER.sign(b"\xff\xfe binary", CREATED)
    assert _kinds(b"\xff\xfd binary", header) == ["signature_mismatch"]
