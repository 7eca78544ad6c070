"""Interop with an implementation written by others: the ONDC signing SDK for Node.js.

Headers the SDK creates verify in iesnode, and headers iesnode creates verify in the SDK,
for ASCII, non-ASCII and empty bodies; a changed body fails on both sides. ``./dev test``
installs the SDK under ``tests/interop/node_modules`` (``npm install``); a missing Node.js
or SDK fails these tests rather than skipping them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from iesnode.errors import AuthError
from iesnode.protocol.signing import (
    Signer,
    load_verify_key,
    parse_authorization,
    verify_signature,
)

HERE = Path(__file__).parent
BODIES = {
    "ascii": '{"context":{"action":"search"},"message":{"intent":{}}}',
    "non-ascii": '{"message":{"descriptor":{"name":"सौर ऊर्जा — 10 kWh ☀"}}}',
    "empty": "",
}


def sdk(request: dict[str, Any]) -> dict[str, Any]:
    """Run one SDK operation in Node.js."""
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the interop tests (./dev test checks it)"
    assert (HERE / "node_modules" / "ondc-crypto-sdk-nodejs").is_dir(), "run ./dev test first"
    done = subprocess.run(
        [node, str(HERE / "ondc_sdk.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=HERE,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def keys() -> tuple[str, str, Signer]:
    """A libsodium-style 64-byte private key, its public key, and the same key as our Signer."""
    key = SigningKey.generate()
    private64 = base64.b64encode(bytes(key) + bytes(key.verify_key)).decode()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    return private64, public, Signer.from_base64("bap.interop.example", "k1", private64)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_sdk_header_verifies_in_iesnode(kind: str, keys: tuple[str, str, Signer]) -> None:
    """The SDK signs the body string; iesnode verifies over the same UTF-8 bytes."""
    private64, public, _ = keys
    body = BODIES[kind]
    header = sdk(
        {
            "op": "sign",
            "body": body,
            "privateKey": private64,
            "subscriberId": "bap.interop.example",
            "keyId": "k1",
        }
    )["header"]
    parsed = parse_authorization(header)
    assert (parsed.subscriber_id, parsed.key_id) == ("bap.interop.example", "k1")
    verify_signature(body.encode("utf-8"), parsed, load_verify_key(public))
    with pytest.raises(AuthError):
        verify_signature((body + " ").encode("utf-8"), parsed, load_verify_key(public))


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_iesnode_header_verifies_in_the_sdk(kind: str, keys: tuple[str, str, Signer]) -> None:
    """iesnode signs the exact bytes; the SDK accepts the header, and refuses another body."""
    _, public, signer = keys
    body = BODIES[kind]
    header = signer.sign(body.encode("utf-8"), created=int(time.time()))
    assert sdk({"op": "verify", "body": body, "header": header, "publicKey": public})["valid"]
    changed = sdk({"op": "verify", "body": body + " ", "header": header, "publicKey": public})
    assert changed["valid"] is False
