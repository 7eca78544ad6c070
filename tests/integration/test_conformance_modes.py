"""The suite's other ways of meeting a target: static keys, and the target's key from a registry."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from iesnode.conformance.identities import CounterpartKeys
from iesnode.conformance.model import Outcome
from iesnode.conformance.options import RunOptions
from iesnode.conformance.runner import run_conformance
from iesnode.conformance.target import TargetProfile
from iesnode.demo import energy_provider
from iesnode.http.transport import AiohttpTransport
from iesnode.node import build
from iesnode.protocol.signing import Signer
from iesnode.registry.subscribe import encryption_public_key
from iesnode.registry_serve import start_registry
from iesnode.settings import load_registry_settings, load_settings
from iesnode.testing import generate_signing_key
from tests.redis_server import free_port


def fast(target: TargetProfile, port: int, **changes: Any) -> RunOptions:
    """Options with test-short waits, listening on ``port``."""
    options = RunOptions(
        target=target,
        listen_port=port,
        callback_timeout=1.5,
        retry_window=1.2,
        settle=0.15,
    )
    return replace(options, **changes)


def b64(raw: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(raw).decode("ascii")


def failures(results: list[tuple[str, Outcome, str]]) -> dict[str, str]:
    """Check id -> message of every result that is not a pass."""
    return {cid: message for cid, outcome, message in results if outcome is not Outcome.PASS}


async def test_static_mode_passes_against_a_target_given_our_keys() -> None:
    """No registry: the target lists the printed keys as [[registry.subscribers]]; all pass."""
    port = free_port()
    keys = CounterpartKeys.generate()
    subscribers = [
        {
            "subscriber_id": identity.subscriber_id,
            "key_id": identity.key_id,
            "url": f"http://127.0.0.1:{port}/{identity.name}",
            "role": identity.role.value,
            "signing_public_key": identity.signing_public_key,
        }
        for identity in keys.all
    ]
    private, public = generate_signing_key()
    node = build(
        load_settings(
            {
                "node": {
                    "subscriber_id": "bpp.static.example",
                    "key_id": "k1",
                    "signing_private_key": private,
                    "roles": ["bpp"],
                },
                "registry": {"subscribers": subscribers},
                "delivery": {"backoff_base": 0.3},
            }
        ),
        handlers=energy_provider("bpp.static.example", 4.0, 2.0),
    )
    async with node:
        target = TargetProfile(node.public_url, "bpp", "bpp.static.example", "k1", public)
        options = fast(target, port, static=True, keys=keys)
        report = await run_conformance(options)
    assert report.mode == "static"
    assert failures([(r.check.id, r.outcome, r.message) for r in report.results]) == {}


async def test_target_key_is_looked_up_in_the_targets_registry(tmp_path: Path) -> None:
    """--target-registry-url: callbacks verify with the key the target's registry lists; named
    as someone else, the target refuses requests addressed to that other id."""
    admin = SigningKey.generate()
    registry = await start_registry(
        load_registry_settings(
            {
                "port": 0,
                "data_dir": str(tmp_path / "registry"),
                "admins": [{"key_id": "root", "public_key": b64(bytes(admin.verify_key))}],
                "namespaces": [{"name": "ies.example"}],
            }
        )
    )
    port = free_port()
    private, public = generate_signing_key()
    record = {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "subscriber_id": "bpp.listed.example",
        "unique_key_id": "k7",
        "subscriber_url": "http://127.0.0.1:1",
        "type": "BPP",
        "signing_public_key": public,
        "encr_public_key": encryption_public_key(b64(bytes(PrivateKey.generate()))),
    }
    body = json.dumps(record).encode()
    transport = AiohttpTransport()
    headers = {
        "Content-Type": "application/json",
        "Authorization": Signer("admin", "root", admin).sign(body, int(time.time())),
    }
    reply = await transport.post(f"{registry.url}/participants", body, headers, 5.0)
    await transport.aclose()
    assert reply.status == 200, reply.body
    node = build(
        load_settings(
            {
                "node": {
                    "subscriber_id": "bpp.listed.example",
                    "key_id": "k7",
                    "signing_private_key": private,
                    "roles": ["bpp"],
                },
                "registry": {"url": f"http://127.0.0.1:{port}/registry"},
            }
        ),
        handlers=energy_provider("bpp.listed.example", 4.0, 2.0),
    )
    try:
        async with node:
            target = TargetProfile(
                node.public_url, "bpp", "bpp.listed.example", registry_url=registry.url
            )
            options = fast(target, port, only=("bpp.flow",))
            good = await run_conformance(options)
            wrong = replace(target, subscriber_id="bpp.unlisted.example")
            bad = await run_conformance(replace(options, target=wrong, actions=("discover",)))
    finally:
        await registry.aclose()
    assert failures([(r.check.id, r.outcome, r.message) for r in good.results]) == {}
    ack = next(r for r in bad.results if r.check.id == "bpp.flow.discover.ack")
    assert ack.outcome is Outcome.FAIL
    assert "CTX_INVALID_FIELD addressed to 'bpp.unlisted.example'" in ack.message
