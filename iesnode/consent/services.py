"""The node as a credential issuer with a consent ledger and an audit chain.

Opened by the node when ``[credentials] enabled``: one record store (SQLite in
``data_dir``, else in memory) holds the issuer's status lists, the consents and the audit
log. The issuer is ``did:web:<subscriber id>`` with the key its ``/.well-known/did.json``
publishes (``#key-1``); status lists are served under ``<public url>/status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iesnode.consent.audit import AuditLog
from iesnode.consent.gate import StatusListBits
from iesnode.consent.lifecycle import ConsentLedger
from iesnode.credentials.issuer import CredentialIssuer
from iesnode.interfaces import Clock, RecordStore
from iesnode.storage.records import MemoryRecordStore
from iesnode.storage.sqlite import SqliteRecordStore

__all__ = ["IssuerServices"]


@dataclass
class IssuerServices:
    """Issuer, consent ledger and audit log over one record store."""

    store: RecordStore
    issuer: CredentialIssuer
    audit: AuditLog
    consent: ConsentLedger

    @classmethod
    async def open(
        cls,
        *,
        data_dir: Path | None,
        subscriber_id: str,
        private_key: str,
        public_url: str,
        clock: Clock,
    ) -> IssuerServices:
        """Open the store and wire the three services around it."""
        store: RecordStore = (
            await SqliteRecordStore.open(data_dir / "records.sqlite3")
            if data_dir is not None
            else MemoryRecordStore()
        )
        did = f"did:web:{subscriber_id}"
        issuer = CredentialIssuer(
            issuer=did,
            verification_method=f"{did}#key-1",
            private_key=private_key,
            store=store,
            clock=clock,
            list_base_url=f"{public_url}/status",
        )
        audit = AuditLog(store, clock, private_key)
        consent = ConsentLedger(store, StatusListBits(issuer.status), clock, audit=audit)
        return cls(store, issuer, audit, consent)

    async def aclose(self) -> None:
        """Close the record store."""
        await self.store.aclose()
