"""Issuing, revoking, suspending and resuming credentials as one issuer.

An issuer signs with eddsa-jcs-2022 (``iesnode.credentials.eddsa_jcs_2022``) under one
verification method, gives every credential a random index in its revocation and
suspension Bitstring Status Lists (``iesnode.credentials.status_registry``) and
publishes each list as a credential it signs itself, re-signed only when a bit
changes (cached per list version).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iesnode.credentials.eddsa_jcs_2022 import add_proof
from iesnode.credentials.status_list import StatusPurpose
from iesnode.credentials.status_registry import StatusLists
from iesnode.identity.didkey import DidKey
from iesnode.interfaces import Clock, RecordStore
from iesnode.protocol.signing import load_signing_key

__all__ = ["CredentialIssuer", "SignedList", "did_key_issuer", "status_index"]

PURPOSES: tuple[StatusPurpose, ...] = ("revocation", "suspension")


def did_key_issuer(private_key: str) -> tuple[str, str]:
    """(issuer DID, verification method) of a did:key made from an Ed25519 private key."""
    public = bytes(load_signing_key(private_key).verify_key)
    key = DidKey(public)
    did = str(key)
    return did, f"{did}#{key.multibase}"


@dataclass(frozen=True, slots=True)
class SignedList:
    """A signed status list credential and its HTTP caching validators."""

    credential: dict[str, Any]
    etag: str
    last_modified: float
    """Epoch seconds of the list version (for ``Last-Modified``)."""


class CredentialIssuer:
    """One issuer's signing key and status lists."""

    def __init__(
        self,
        *,
        issuer: str,
        verification_method: str,
        private_key: str,
        store: RecordStore,
        clock: Clock,
        list_base_url: str,
        list_suffix: str = "",
    ) -> None:
        self.issuer = issuer
        self._method = verification_method
        self._key = private_key
        self._clock = clock
        base = list_base_url.rstrip("/")
        self.status = StatusLists(
            store,
            clock,
            issuer=issuer,
            list_urls={p: f"{base}/{p}{list_suffix}" for p in PURPOSES},
        )
        self._signed: dict[tuple[StatusPurpose, int], SignedList] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """Add our eddsa-jcs-2022 proof (assertionMethod) to ``document``."""
        return add_proof(
            document,
            private_key=self._key,
            verification_method=self._method,
            created=self._now().replace(microsecond=0),
        )

    async def issue(
        self, credential: dict[str, Any], *, with_status: bool = True
    ) -> dict[str, Any]:
        """Sign ``credential`` as this issuer, with status entries unless told otherwise."""
        doc = {k: v for k, v in credential.items() if k != "proof"}
        given = doc.get("issuer")
        # keep an issuer object (name, licence...) as the credential type may require it
        doc["issuer"] = {**given, "id": self.issuer} if isinstance(given, dict) else self.issuer
        doc.setdefault("validFrom", self._now().replace(microsecond=0).isoformat())
        if with_status:
            allocation = await self.status.allocate()
            doc["credentialStatus"] = allocation.entries
        return self.sign(doc)

    async def signed_list(self, purpose: StatusPurpose) -> SignedList:
        """The current list credential for ``purpose``, signed (cached per version)."""
        snapshot = await self.status.snapshot(purpose)
        cached = self._signed.get((purpose, snapshot.version))
        if cached is None:
            cached = SignedList(
                self.sign(snapshot.credential), snapshot.etag, snapshot.last_modified
            )
            self._signed = {k: v for k, v in self._signed.items() if k[0] != purpose}
            self._signed[purpose, snapshot.version] = cached
        return cached

    async def publish(self, directory: Path) -> list[Path]:
        """Write every signed list as ``<directory>/<purpose>.json`` (static hosting)."""
        files = {
            directory / f"{purpose}.json": json.dumps(
                (await self.signed_list(purpose)).credential, indent=2
            )
            for purpose in PURPOSES
        }
        await asyncio.to_thread(_write_files, directory, files)
        return list(files)


def _write_files(directory: Path, files: dict[Path, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")


def status_index(credential: dict[str, Any]) -> int:
    """The status list index a credential was issued with."""
    raw = credential.get("credentialStatus")
    entries = raw if isinstance(raw, list) else [raw]
    for entry in entries:
        if isinstance(entry, dict) and str(entry.get("statusListIndex", "")).isdigit():
            return int(entry["statusListIndex"])
    raise ValueError("the credential carries no statusListIndex")
