"""Signing and verifying a policy pack's ``signature.json`` (issue 5, "Policy packs").

The signature is Ed25519 over the *pack digest* (:func:`iesnode.policy.pack_files.pack_digest`:
the SHA-256 of the sorted listing of every file but ``signature.json``). ``signature.json``
holds ``key_id``, ``algorithm`` (``"ed25519"``), the signed ``digest`` and the base64
``signature``. Verification always checks the digest against the content; trust in the
signer needs the key id among the configured trusted keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path

from nacl.exceptions import BadSignatureError

from iesnode.policy.errors import PolicyError
from iesnode.policy.pack_files import SIGNATURE_FILE, invalid, pack_digest, read_pack_dir
from iesnode.policy.pack_manifest import check_manifest
from iesnode.protocol.signing import load_signing_key, load_verify_key

__all__ = ["sign", "verify_signature"]


def verify_signature(
    files: Mapping[str, bytes], trusted_keys: Mapping[str, str] | None, required: bool
) -> str | None:
    """Check ``signature.json``; return the signing key id when the signature was verified."""
    raw = files.get(SIGNATURE_FILE)
    if raw is None:
        if required:
            raise PolicyError("POL_PACK_SIGNATURE", "pack is unsigned but a signature is required")
        return None
    try:
        sig = json.loads(raw)
        key_id, algorithm, digest, value = (
            sig["key_id"],
            sig["algorithm"],
            sig["digest"],
            sig["signature"],
        )
        signature = base64.b64decode(value, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PolicyError("POL_PACK_SIGNATURE", f"{SIGNATURE_FILE} is malformed: {exc}") from exc
    if algorithm != "ed25519":
        raise PolicyError("POL_PACK_SIGNATURE", f"unsupported signature algorithm {algorithm!r}")
    actual = pack_digest(files)
    if digest != actual:
        raise PolicyError(
            "POL_PACK_SIGNATURE",
            f"pack content changed since it was signed: digest {actual} != signed {digest}",
        )
    if trusted_keys is None and not required:
        return None  # integrity checked; trust needs configured keys
    public = (trusted_keys or {}).get(key_id)
    if public is None:
        raise PolicyError("POL_PACK_SIGNATURE", f"pack signed by unknown key {key_id!r}")
    try:
        load_verify_key(public).verify(bytes.fromhex(actual), signature)
    except (BadSignatureError, ValueError) as exc:
        raise PolicyError("POL_PACK_SIGNATURE", f"signature by {key_id!r} does not verify") from exc
    return str(key_id)


def sign(path: Path, private_key_b64: str, key_id: str) -> dict[str, str]:
    """Sign the pack directory ``path`` and write its ``signature.json``; return that document."""
    if not Path(path).is_dir():
        raise invalid(f"only a pack directory can be signed: {path}")
    files = read_pack_dir(Path(path))
    files.pop(SIGNATURE_FILE, None)
    check_manifest(files, Path(path))  # never sign a pack that would not load
    digest = pack_digest(files)
    signature = load_signing_key(private_key_b64).sign(bytes.fromhex(digest)).signature
    doc = {
        "key_id": key_id,
        "algorithm": "ed25519",
        "digest": digest,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    (Path(path) / SIGNATURE_FILE).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    return doc
