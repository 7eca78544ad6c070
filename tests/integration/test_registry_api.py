"""The registry's HTTP API: governance, history and as_on, lookups in both shapes,
key rotation, the credential revocation registry, and bad writes that change nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from iesnode.clock import FrozenClock
from iesnode.credentials.registry_checks import (
    registry_licence_check,
    registry_revocation_check,
)
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import Reply
from iesnode.model.subscriber import SubscriberStatus
from iesnode.protocol.signing import Signer
from iesnode.registry.client import RegistryClient
from iesnode.registry.subscribe import encryption_public_key
from iesnode.registry_serve import RunningRegistry, start_registry
from iesnode.settings import load_registry_settings
from iesnode.testing import generate_signing_key

START = 1_800_000_000.0
ADMIN_PRIVATE, ADMIN_PUBLIC = generate_signing_key()
PUBLISHER_PRIVATE, PUBLISHER_PUBLIC = generate_signing_key()


def enc_public() -> str:
    """A fresh X25519 public key."""
    return encryption_public_key(base64.b64encode(bytes(PrivateKey.generate())).decode())


class Rig:
    """A running registry on a frozen clock, and a way to send signed writes."""

    def __init__(self, registry: RunningRegistry, clock: FrozenClock) -> None:
        self.registry = registry
        self.clock = clock
        self.transport = AiohttpTransport()

    async def write(self, path: str, doc: dict[str, Any], signer: Signer | None) -> Reply:
        """POST ``doc`` signed by ``signer`` (unsigned when None)."""
        body = json.dumps(doc).encode()
        headers = {"Content-Type": "application/json"}
        if signer is not None:
            headers["Authorization"] = signer.sign(body, int(self.clock.now()))
        return await self.transport.post(f"{self.registry.url}/{path}", body, headers, 5.0)

    async def get(self, path: str) -> Reply:
        """GET a registry path."""
        return await self.transport.get(f"{self.registry.url}/{path}", {}, 5.0)


ADMIN = Signer.from_base64("admin", "root", ADMIN_PRIVATE)
PUBLISHER = Signer.from_base64("discom.ies.example", "k1", PUBLISHER_PRIVATE)


def participant(subscriber_id: str, key_id: str = "k1", **extra: Any) -> dict[str, Any]:
    """A participant record as a publisher writes it."""
    return {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "subscriber_id": subscriber_id,
        "unique_key_id": key_id,
        "subscriber_url": f"https://{subscriber_id}/beckn",
        "type": "BPP",
        "domain": ["deg:p2p-energy-trading"],
        "signing_public_key": generate_signing_key()[1],
        "encr_public_key": enc_public(),
        **extra,
    }


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Registry with admin ``root``; discom.ies.example publishes in ies.example only."""
    clock = FrozenClock(START)
    settings = load_registry_settings(
        {
            "port": 0,
            "data_dir": str(tmp_path / "data"),
            "admins": [{"key_id": "root", "public_key": ADMIN_PUBLIC}],
            "namespaces": [
                {"name": "ies.example", "publishers": ["discom.ies.example"]},
                {"name": "other.example", "publishers": ["someone.else"]},
            ],
        }
    )
    running = await start_registry(settings, clock=clock)
    rig = Rig(running, clock)
    publisher = participant("discom.ies.example", registry="registry", type="BAP")
    publisher["signing_public_key"] = PUBLISHER_PUBLIC
    assert (await rig.write("participants", publisher, ADMIN)).status == 200
    try:
        yield rig
    finally:
        await rig.transport.aclose()
        await running.aclose()


def error_code(reply: Reply) -> str:
    """The error code of a refused write."""
    return str(json.loads(reply.body)["error"]["code"])


async def test_lookup_answers_as_on_a_past_moment(rig: Rig) -> None:
    """Revoked now (410), but SUBSCRIBED as on a moment before the revocation (200)."""
    assert (
        await rig.write("participants", participant("bpp.ies.example"), PUBLISHER)
    ).status == 200
    before = rig.clock.now()
    rig.clock.advance(60)
    change = {"subscriber_id": "bpp.ies.example", "key_id": "k1", "status": "REVOKED"}
    assert (await rig.write("participants/status", change, PUBLISHER)).status == 200
    now = await rig.get("lookup/bpp.ies.example/k1")
    then = await rig.get(f"lookup/bpp.ies.example/k1?as_on={before}")
    assert (now.status, json.loads(now.body)["status"]) == (410, "REVOKED")
    assert (then.status, json.loads(then.body)["status"]) == (200, "SUBSCRIBED")


async def test_history_keeps_every_version_with_its_writer(rig: Rig) -> None:
    """Each write is a version: who wrote it and what it said."""
    await rig.write("participants", participant("bpp.ies.example"), PUBLISHER)
    change = {"subscriber_id": "bpp.ies.example", "key_id": "k1", "status": "SUSPENDED"}
    await rig.write("participants/status", change, ADMIN)
    history = json.loads((await rig.get("participants/bpp.ies.example/k1/history")).body)
    assert [h["version"] for h in history] == [1, 2]
    assert [h["actor"] for h in history] == ["discom.ies.example|k1", "admin:root"]


async def test_publisher_cannot_write_outside_its_namespace(rig: Rig) -> None:
    """discom.ies.example publishing into other.example: 403, nothing written."""
    doc = participant("bpp.other.example", namespace="other.example")
    reply = await rig.write("participants", doc, PUBLISHER)
    assert (reply.status, error_code(reply)) == (403, "POL_NOT_A_PUBLISHER")
    assert (await rig.get("lookup/bpp.other.example/k1")).status == 404


async def test_wrongly_signed_and_unsigned_writes_change_nothing(rig: Rig) -> None:
    """A signature over other bytes is 401; so is no signature."""
    doc = participant("bpp.ies.example")
    body = json.dumps(doc).encode()
    forged = {
        "Content-Type": "application/json",
        "Authorization": ADMIN.sign(b"{}", int(rig.clock.now())),
    }
    reply = await rig.transport.post(f"{rig.registry.url}/participants", body, forged, 5.0)
    assert (reply.status, error_code(reply)) == (401, "AUT_SIGNATURE_INVALID")
    unsigned = await rig.write("participants", doc, None)
    assert (unsigned.status, error_code(unsigned)) == (401, "AUT_SIGNATURE_MISSING")
    assert (await rig.get("lookup/bpp.ies.example/k1")).status == 404


async def test_valid_until_before_valid_from_is_refused(rig: Rig) -> None:
    """A validity window that ends before it starts: 400, nothing written."""
    doc = participant(
        "bpp.ies.example",
        valid_from="2027-01-01T00:00:00Z",
        valid_until="2026-01-01T00:00:00Z",
    )
    reply = await rig.write("participants", doc, PUBLISHER)
    assert (reply.status, error_code(reply)) == (400, "SCH_VALIDATION_FAILED")
    assert (await rig.get("lookup/bpp.ies.example/k1")).status == 404


async def test_rotated_key_leaves_the_old_one_valid_until_it_expires(rig: Rig) -> None:
    """A second key id for a subscriber; the first stays SUBSCRIBED until its valid_until."""
    until = datetime.fromtimestamp(START, UTC) + timedelta(days=1)
    first = participant("bpp.ies.example", "k1", valid_until=until.isoformat())
    await rig.write("participants", first, PUBLISHER)
    await rig.write("participants", participant("bpp.ies.example", "k2"), PUBLISHER)
    client = RegistryClient(rig.transport, rig.registry.url, api="beckn-v1")
    old = await client.lookup("bpp.ies.example", "k1")
    new = await client.lookup("bpp.ies.example", "k2")
    assert old is not None
    assert new is not None
    assert old.status is new.status is SubscriberStatus.SUBSCRIBED
    rig.clock.advance(2 * 86400)
    expired = await client.lookup("bpp.ies.example", "k1")
    assert expired is not None
    assert expired.status is SubscriberStatus.EXPIRED


async def test_node_directory_clients_work_against_the_registry_unchanged(rig: Rig) -> None:
    """RegistryClient in both APIs looks keys up and searches this registry."""
    await rig.write("participants", participant("bpp.ies.example"), PUBLISHER)
    for api in ("beckn-v1", "dedi"):
        client = RegistryClient(rig.transport, rig.registry.url, api=api)
        found = await client.lookup("bpp.ies.example", "k1")
        assert found is not None
        assert found.network_id == "ies.example/p2p-trading"
        assert await client.lookup("nobody.example", "k1") is None


async def test_credential_revocation_registry(rig: Rig) -> None:
    """A revoked credential answers 200; any other credential 404."""
    entry = {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "credential_id": "urn:uuid:0b5c7d9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
        "issuer": "discom.ies.example",
        "reason": "meter replaced",
    }
    assert (await rig.write("revocations", entry, PUBLISHER)).status == 200
    revoked = await rig.get(f"revocations/{entry['credential_id']}")
    assert revoked.status == 200
    assert json.loads(revoked.body)["reason"] == "meter replaced"
    assert (await rig.get("revocations/urn:uuid:unknown")).status == 404
    revoked_in_registry = registry_revocation_check(rig.transport, rig.registry.url)
    assert await revoked_in_registry(entry["credential_id"]) is True
    assert await revoked_in_registry("urn:uuid:unknown") is False


async def test_institution_registry_records_licences_by_role(rig: Rig) -> None:
    """A DISCOM's licence is recorded by a publisher and found by role; bad scope is refused."""
    licence = {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "org_id": "discom.ies.example",
        "name": "Example Power Distribution Ltd",
        "role": "DISCOM",
        "licence_number": "KERC/DL/2026/07",
        "scope": ["distribution", "p2p-settlement"],
        "issuing_authority": "kerc.example",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2031-01-01T00:00:00Z",
    }
    assert (await rig.write("institutions", licence, PUBLISHER)).status == 200
    found = json.loads((await rig.get("institutions?role=DISCOM")).body)
    assert [(f["org_id"], f["valid_now"]) for f in found] == [("discom.ies.example", True)]
    bad = await rig.write("institutions", {**licence, "scope": []}, PUBLISHER)
    assert (bad.status, error_code(bad)) == (400, "SCH_VALIDATION_FAILED")


async def test_registry_keeps_its_records_and_keys_across_restarts(tmp_path: Path) -> None:
    """Stop and start on the same data dir: the records and the registry's own key survive."""
    settings = load_registry_settings(
        {
            "port": 0,
            "data_dir": str(tmp_path / "data"),
            "admins": [{"key_id": "root", "public_key": ADMIN_PUBLIC}],
            "namespaces": [{"name": "ies.example"}],
        }
    )
    clock = FrozenClock(START)
    first = await start_registry(settings, clock=clock)
    rig = Rig(first, clock)
    try:
        assert (
            await rig.write("participants", participant("bpp.ies.example"), ADMIN)
        ).status == 200
        own_key = first.service.signing_public_key
    finally:
        await rig.transport.aclose()
        await first.aclose()
    second = await start_registry(settings, clock=clock)
    try:
        assert await second.service.lookup("bpp.ies.example", "k1") is not None
        assert second.service.signing_public_key == own_key
    finally:
        await second.aclose()


async def test_registry_answers_the_verifier_licence_step(rig: Rig) -> None:
    """A licensed issuer passes the licence check; an unknown one does not."""
    issuer = "did:web:discom.ies.example"
    licence = {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "org_id": issuer,
        "name": "Example Power Distribution Ltd",
        "role": "DISCOM",
        "licence_number": "KERC/DL/2026/07",
        "scope": ["distribution"],
        "issuing_authority": "kerc.example",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2031-01-01T00:00:00Z",
    }
    assert (await rig.write("institutions", licence, PUBLISHER)).status == 200
    check = registry_licence_check(rig.transport, rig.registry.url, roles={"DISCOM"})
    at = datetime.fromtimestamp(rig.clock.now(), UTC)
    assert await check(issuer, at) is True
    assert await check("did:web:unlicensed.example", at) is False
    assert await check(issuer, datetime(2032, 1, 1, tzinfo=UTC)) is False


async def test_unknown_status_in_a_published_record_is_a_schema_error(rig: Rig) -> None:
    """A published record with a status the registry does not know: 400 naming status."""
    record = participant("bpp.ies.example", status="HALF_SUBSCRIBED")
    reply = await rig.write("participants", record, PUBLISHER)
    error = json.loads(reply.body)["error"]
    assert (reply.status, error["code"], error.get("path")) == (
        400,
        "SCH_VALIDATION_FAILED",
        "status",
    )
    assert (await rig.get("lookup/bpp.ies.example/k1")).status == 404


async def test_lone_surrogate_in_a_write_is_refused_naming_it(rig: Rig) -> None:
    """A record whose string escapes a lone UTF-16 surrogate: 400 SCH_INVALID_JSON at it."""
    record = participant("bpp.ies.example", subscriber_url="https://bpp.ies.example/\ud800")
    reply = await rig.write("participants", record, PUBLISHER)
    error = json.loads(reply.body)["error"]
    assert (reply.status, error["code"], error["path"]) == (
        400,
        "SCH_INVALID_JSON",
        "subscriber_url",
    )
    assert (await rig.get("lookup/bpp.ies.example/k1")).status == 404
