"""The conformance suite's own network identities: a BAP, a second BAP, a gateway, a BPP.

The suite plays the target's counterpart with keys of its own (BECKN-006 keyIds
``subscriber_id|key_id|ed25519``, ``research/beckn-core.md`` section 2): the **BAP**
signs every request, the **other** BAP exists so a message can carry a valid signature
by a subscriber that is not the context's sender, the **gateway** signs
``X-Gateway-Authorization`` on forwarded discovery (section 4.1), and the **BPP** answers
a BAP target's requests and signs the callbacks sent to it. Keys are generated
per run (with a random key id, so a target's key cache never holds a stale key under
the same id) or loaded from a JSON keys file, which static mode needs because the
operator copies the public keys into the target's configuration before the run.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from iesnode.errors import ConfigError
from iesnode.model.subscriber import Role
from iesnode.protocol.signing import Signer, load_signing_key
from iesnode.registry.subscribe import encryption_public_key

__all__ = ["CounterpartKeys", "Identity", "static_listing"]

_ROLES = {"bap": Role.BAP, "other": Role.BAP, "gateway": Role.BG, "bpp": Role.BPP}
_OPTIONAL = frozenset({"bpp"})
"""Identities a keys file written before BAP targets were supported lacks."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class Identity:
    """One subscriber key the suite signs with; ``name`` is also its URL path below ours."""

    name: str
    """``bap``, ``other``, ``gateway`` or ``bpp``."""
    subscriber_id: str
    key_id: str
    signing_private_key: str
    """base64 Ed25519 seed (32 bytes) or libsodium key (64 bytes)."""
    encryption_private_key: str
    """base64 raw X25519 private key (registries require an encryption key)."""

    @property
    def role(self) -> Role:
        """The registry role this identity is listed with."""
        return _ROLES[self.name]

    @property
    def signing_public_key(self) -> str:
        """base64 Ed25519 public key."""
        return _b64(bytes(load_signing_key(self.signing_private_key).verify_key))

    @property
    def encryption_public_key(self) -> str:
        """base64 X25519 public key."""
        return encryption_public_key(self.encryption_private_key)

    def signer(self, lifetime: int = 300) -> Signer:
        """A signer for this key (``expires = created + lifetime``)."""
        return Signer.from_base64(
            self.subscriber_id, self.key_id, self.signing_private_key, lifetime
        )


def _new_identity(name: str, subscriber_id: str, key_id: str) -> Identity:
    return Identity(
        name=name,
        subscriber_id=subscriber_id,
        key_id=key_id,
        signing_private_key=_b64(bytes(SigningKey.generate())),
        encryption_private_key=_b64(bytes(PrivateKey.generate())),
    )


@dataclass(frozen=True, slots=True)
class CounterpartKeys:
    """The identities of one conformance run."""

    bap: Identity
    other: Identity
    gateway: Identity
    bpp: Identity

    @property
    def all(self) -> tuple[Identity, ...]:
        """Every identity, BAP first."""
        return (self.bap, self.other, self.gateway, self.bpp)

    @classmethod
    def generate(cls, domain: str = "conformance.iesnode") -> CounterpartKeys:
        """Fresh keys; key ids are random so no target cache mistakes them for old ones."""
        key_id = f"c-{secrets.token_hex(4)}"
        return cls(
            bap=_new_identity("bap", f"bap.{domain}", key_id),
            other=_new_identity("other", f"other-bap.{domain}", key_id),
            gateway=_new_identity("gateway", f"gateway.{domain}", key_id),
            bpp=_new_identity("bpp", f"bpp.{domain}", key_id),
        )

    @classmethod
    def load(cls, path: Path) -> CounterpartKeys:
        """Read a keys file written by :meth:`save`; ConfigError when unusable.

        A file without a ``bpp`` entry (written before BAP targets were supported) still
        loads, with a new BPP identity that no target was told about: re-create the file
        to test a BAP target in static mode.
        """
        try:
            doc: Any = json.loads(path.read_text("utf-8"))
            found = {
                name: Identity(name=name, **doc[name])
                for name in _ROLES
                if name in doc or name not in _OPTIONAL
            }
            if "bpp" not in found:
                found["bpp"] = _new_identity("bpp", "bpp.conformance.iesnode", "c-unlisted")
            for identity in found.values():
                identity.signer()
                _ = identity.encryption_public_key
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot use keys file {path}: {exc}") from exc
        return cls(**found)

    def save(self, path: Path) -> None:
        """Write the keys (private keys included) readable by the owner only."""
        doc = {}
        for identity in self.all:
            fields = asdict(identity)
            del fields["name"]
            doc[identity.name] = fields
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")


def static_listing(keys: CounterpartKeys, public_url: str, network_id: str | None) -> str:
    """What an operator configures in a target that uses no registry (static mode).

    A plain listing of each identity, then the same as ``[[registry.subscribers]]``
    tables an iesnode target reads directly.
    """
    lines = ["Configure the target to trust these subscribers (static mode):", ""]
    for identity in keys.all:
        lines += [
            f"  {identity.name}: subscriber_id={identity.subscriber_id} "
            f"key_id={identity.key_id} role={identity.role.value}",
            f"    url={public_url.rstrip('/')}/{identity.name}",
            f"    signing_public_key={identity.signing_public_key}",
        ]
    lines += ["", "For an iesnode target, add to its TOML configuration:", ""]
    for identity in keys.all:
        lines += [
            "[[registry.subscribers]]",
            f'subscriber_id = "{identity.subscriber_id}"',
            f'key_id = "{identity.key_id}"',
            f'url = "{public_url.rstrip("/")}/{identity.name}"',
            f'role = "{identity.role.value}"',
            f'signing_public_key = "{identity.signing_public_key}"',
        ]
        if network_id:
            lines.append(f'network_id = "{network_id}"')
        lines.append("")
    return "\n".join(lines)
