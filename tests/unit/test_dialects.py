"""Reading and writing Beckn v2.0, v1.1 and v0.9 envelopes through the canonical model."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from iesnode.errors import RequestRejected
from iesnode.model.envelope import Dialect
from iesnode.protocol.dialects import detect_dialect, read_envelope, write_envelope

VECTOR_BODY = Path("/work/shared/vectors/beckn-signing/beckn-006-search.body")

V2_CONTEXT: dict[str, Any] = {
    "action": "discover",
    "version": "2.0.0",
    "transactionId": "0b1c2d3e-0000-4000-8000-000000000001",
    "messageId": "0b1c2d3e-0000-4000-8000-000000000002",
    "timestamp": "2025-06-01T10:00:00.123Z",
    "ttl": "PT30S",
    "networkId": "ies.example/p2p-trading",
    "bapId": "bap.example.in",
    "bapUri": "https://bap.example.in/beckn",
    "bppId": "bpp.example.in",
    "bppUri": "https://bpp.example.in/beckn",
}

V1_CONTEXT: dict[str, Any] = {
    "domain": "energy:p2p",
    "location": {"city": {"code": "std:080", "name": "Bengaluru"}, "country": {"code": "IND"}},
    "action": "search",
    "version": "1.1.0",
    "bap_id": "bap.example.in",
    "bap_uri": "https://bap.example.in/beckn",
    "transaction_id": "0b1c2d3e-0000-4000-8000-000000000003",
    "message_id": "0b1c2d3e-0000-4000-8000-000000000004",
    "timestamp": "2024-03-01T00:00:00.000Z",
    "ttl": "PT30S",
}


def _vector() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(VECTOR_BODY.read_bytes())
    return doc


def _round_trip(doc: dict[str, Any]) -> dict[str, Any]:
    return write_envelope(read_envelope(copy.deepcopy(doc)))


def test_vector_body_reads_as_v09() -> None:
    """The BECKN-006 vector body reads as v0.9 with its flat city and country."""
    ctx = read_envelope(_vector()).context
    assert ctx.dialect is Dialect.V09
    assert (ctx.action, ctx.version, ctx.city, ctx.country) == ("search", "0.9.1", "Kochi", "IND")
    assert ctx.timestamp == datetime(2022, 1, 4, 9, 17, 55, 971000, tzinfo=UTC)
    assert ctx.ttl_seconds == 30 * 86400


def test_vector_body_writes_back_unchanged() -> None:
    """Writing the vector body back gives the same context keys and values and message."""
    doc = _vector()
    assert _round_trip(doc) == doc


def test_v2_envelope_reads_into_canonical_fields() -> None:
    """A v2 camelCase context fills the canonical fields."""
    ctx = read_envelope({"context": V2_CONTEXT, "message": {}}).context
    assert ctx.dialect is Dialect.V2
    assert ctx.transaction_id == V2_CONTEXT["transactionId"]
    assert ctx.network_id == "ies.example/p2p-trading"
    assert ctx.bpp_uri == "https://bpp.example.in/beckn"


def test_v2_envelope_round_trips() -> None:
    """A v2 envelope reads and writes back to the same context and message."""
    doc = {"context": V2_CONTEXT, "message": {"intent": {"item": {"id": "energy"}}}}
    assert _round_trip(doc) == doc


def test_v2_envelope_with_domain_and_location_round_trips() -> None:
    """The v2 LTS context may still carry domain and location; both survive."""
    ctx = {**V2_CONTEXT, "domain": "energy:p2p", "location": V1_CONTEXT["location"]}
    doc = {"context": ctx, "message": {}}
    assert _round_trip(doc) == doc


def test_v1_envelope_reads_location() -> None:
    """A v1.1 context reads its city and country codes from location."""
    ctx = read_envelope({"context": V1_CONTEXT}).context
    assert ctx.dialect is Dialect.V1
    assert (ctx.city, ctx.country, ctx.domain) == ("std:080", "IND", "energy:p2p")


def test_v1_envelope_round_trips() -> None:
    """A v1.1 envelope with location (names included) writes back unchanged."""
    doc = {"context": V1_CONTEXT, "message": {"intent": {}}}
    assert _round_trip(doc) == doc


def test_ondc_core_version_with_location_round_trips() -> None:
    """An ONDC 1.2 context (core_version with location) keeps its location object."""
    ctx = {k: v for k, v in V1_CONTEXT.items() if k != "version"}
    doc = {"context": {**ctx, "core_version": "1.2.0"}, "message": {}}
    assert _round_trip(doc) == doc


@pytest.mark.parametrize(
    "extra",
    [
        {"schemaContext": ["https://schemas.example/energy/v1/context.jsonld"]},
        {"requestDigest": {"digest": "BLAKE-512=abc"}},
        {"try": True},
        {"senderId": "did:web:bap.example.in", "receiverId": "did:web:bpp.example.in"},
    ],
    ids=["schemaContext", "requestDigest", "try", "sender-receiver"],
)
def test_v2_unknown_context_fields_are_preserved(extra: dict[str, Any]) -> None:
    """Context fields the canonical model does not name are written back unchanged."""
    doc = {"context": {**V2_CONTEXT, **extra}, "message": {}}
    assert _round_trip(doc) == doc


def test_v1_unknown_context_fields_are_preserved() -> None:
    """A v1.1 extension field such as max_callbacks survives a round trip."""
    doc = {"context": {**V1_CONTEXT, "max_callbacks": 3}}
    assert _round_trip(doc) == doc


def test_error_code_message_path_is_read() -> None:
    """An error in the {code, message, path} shape is read with its path."""
    doc = {
        "context": V2_CONTEXT,
        "error": {"code": "SCH_VALIDATION_FAILED", "message": "bad", "path": "message.intent"},
    }
    error = read_envelope(doc).error
    assert error is not None
    assert (error.code, error.message, error.path) == (
        "SCH_VALIDATION_FAILED",
        "bad",
        "message.intent",
    )


def test_error_code_message_is_read_from_v2_spec_shape() -> None:
    """An error in the v2 spec's {errorCode, errorMessage} shape is read."""
    doc = {
        "context": V2_CONTEXT,
        "error": {"errorCode": "BIZ_ITEM_UNAVAILABLE", "errorMessage": "x"},
    }
    error = read_envelope(doc).error
    assert error is not None
    assert (error.code, error.message, error.path) == ("BIZ_ITEM_UNAVAILABLE", "x", None)


def test_v1_error_paths_round_trip() -> None:
    """A v1.1 error with ``paths`` is read and written back with ``paths``."""
    doc = {"context": V1_CONTEXT, "error": {"code": "30000", "message": "bad", "paths": "context"}}
    assert _round_trip(doc)["error"] == doc["error"]


def test_v2_error_is_written_with_path() -> None:
    """A v2 error is written back with its code, message and path."""
    error = {"code": "CTX_INVALID_FIELD", "message": "bad ttl", "path": "context.ttl"}
    doc = {"context": V2_CONTEXT, "error": error}
    assert _round_trip(doc)["error"] == error


@pytest.mark.parametrize(
    ("context", "dialect"),
    [
        (V2_CONTEXT, Dialect.V2),
        ({"action": "search", "version": "2.0.0"}, Dialect.V2),
        ({"transactionId": "t"}, Dialect.V2),
        (V1_CONTEXT, Dialect.V1),
        ({"action": "search", "version": "1.1.0"}, Dialect.V1),
        ({"core_version": "0.9.1", "city": "Kochi"}, Dialect.V09),
        ({"city": "Kochi", "country": "IND", "transaction_id": "t"}, Dialect.V09),
    ],
    ids=["v2", "v2-by-version", "v2-by-key", "v1", "v1-by-version", "v09", "v09-flat-location"],
)
def test_detect_dialect(context: dict[str, Any], dialect: Dialect) -> None:
    """The dialect is told from the context's keys and version."""
    assert detect_dialect({"context": context}) is dialect


def test_detect_dialect_of_vector() -> None:
    """The BECKN-006 vector body is v0.9."""
    assert detect_dialect(_vector()) is Dialect.V09


@pytest.mark.parametrize(
    ("doc", "code"),
    [([], "SCH_INVALID_BODY"), ({}, "CTX_MISSING_FIELD"), ({"context": "x"}, "CTX_MISSING_FIELD")],
    ids=["not-an-object", "no-context", "context-not-object"],
)
def test_detect_dialect_rejects_non_envelopes(doc: Any, code: str) -> None:
    """A body without a context object is rejected with a named code."""
    with pytest.raises(RequestRejected) as caught:
        detect_dialect(doc)
    assert caught.value.code == code


def test_bad_timestamp_is_rejected() -> None:
    """A context timestamp that is not RFC 3339 is CTX_INVALID_FIELD at context.timestamp."""
    with pytest.raises(RequestRejected) as caught:
        read_envelope({"context": {**V2_CONTEXT, "timestamp": "yesterday"}})
    assert (caught.value.code, caught.value.path) == ("CTX_INVALID_FIELD", "context.timestamp")
