"""Where consent meets the protocol: a BPP guard and the consent ``update`` handler.

* :func:`consent_guard` runs before a data provider's handler (a BPP guard, see
  :class:`~iesnode.protocol.roles.bpp.HandlerRegistry.guard`): the request's consent id
  and data request are checked with :func:`~iesnode.consent.enforcement.enforce`, the
  outcome goes to the audit chain, and a refusal becomes the callback's error, so no
  meter data leaves without an active consent.
* :func:`consent_update_handler` serves consent revocation, pause and resume over
  ``update``/``on_update`` (DEG onboarding guide, ``research/energy-domain.md`` 2.5):
  the answer carries the status list credential URL and index of the consent.

The request shape is iesnode's: ``message.consent = {"id": ..., "request": {consumer,
purpose, meters, dataCategories, dataRange, granularity, mode}}``; the requester is
always the verified sender, never a field the sender writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from iesnode.consent.audit import AuditLog
from iesnode.consent.enforcement import DataRequest, enforce
from iesnode.consent.errors import ConsentError
from iesnode.consent.lifecycle import ConsentLedger, ConsentRecord
from iesnode.credentials.issuer import CredentialIssuer
from iesnode.credentials.status_list import StatusPurpose, status_entry
from iesnode.credentials.status_registry import StatusLists
from iesnode.errors import BusinessError
from iesnode.interfaces import Clock
from iesnode.protocol.roles.bpp import Guard, Handler, IncomingRequest

__all__ = [
    "StatusListBits",
    "consent_guard",
    "consent_update_handler",
    "data_request",
    "issue_consent_credential",
]


class StatusListBits:
    """The consent ledger's ``StatusBits`` on an issuer's Bitstring Status Lists."""

    def __init__(self, lists: StatusLists) -> None:
        self._lists = lists

    async def allocate(self) -> int:
        """A fresh random index in both lists."""
        return (await self._lists.allocate()).index

    async def suspend(self, index: int) -> None:
        """Set the suspension bit."""
        await self._lists.suspend(index)

    async def resume(self, index: int) -> None:
        """Clear the suspension bit."""
        await self._lists.resume(index)

    async def revoke(self, index: int) -> None:
        """Set the revocation bit."""
        await self._lists.revoke(index)


async def issue_consent_credential(
    issuer: CredentialIssuer, record: ConsentRecord
) -> dict[str, Any]:
    """The consent as a signed VC whose status entries are the consent's pause/revoke bits."""
    if record.status_index is None:
        raise ValueError("only an activated consent has status bits to point at")
    entries = [
        status_entry(issuer.status.list_url(purpose), record.status_index, purpose)
        for purpose in ("revocation", "suspension")
    ]
    credential = record.artefact.to_credential(issuer.issuer, credential_status=entries)
    return issuer.sign(credential)


def _consent_block(req: IncomingRequest) -> dict[str, Any]:
    block = req.message.get("consent")
    if not isinstance(block, dict) or not isinstance(block.get("id"), str):
        raise BusinessError(
            "POL_CONSENT_REQUIRED", "the request names no consent", path="message.consent.id"
        )
    return block


def data_request(req: IncomingRequest) -> tuple[str, DataRequest]:
    """The consent id and the data request a verified request carries."""
    block = _consent_block(req)
    raw = block.get("request")
    if not isinstance(raw, dict):
        raise BusinessError(
            "POL_CONSENT_REQUEST_INVALID",
            "message.consent.request must describe the data asked for",
            path="message.consent.request",
        )
    try:
        request = DataRequest.model_validate({**raw, "requester": req.sender})
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise BusinessError(
            "POL_CONSENT_REQUEST_INVALID",
            f"{where}: {exc.errors()[0]['msg']}",
            path=f"message.consent.request.{where}",
        ) from exc
    return block["id"], request


def consent_guard(ledger: ConsentLedger, audit: AuditLog, clock: Clock) -> Guard:
    """A BPP guard refusing any request outside an active consent (refusals are audited)."""

    async def guard(req: IncomingRequest) -> None:
        consent_id, request = data_request(req)
        at = datetime.fromtimestamp(clock.now(), UTC)
        decision = await enforce(ledger, audit, consent_id, request, at)
        if not decision.allowed:
            raise BusinessError(
                f"POL_{decision.code}",
                decision.reason or "not within the consent",
                path="message.consent",
                legacy_code="50000",
            )

    return guard


def consent_update_handler(
    ledger: ConsentLedger, list_url: Callable[[StatusPurpose], str], clock: Clock
) -> Handler:
    """``update`` with ``message.consent = {id, action}`` (REVOKE, PAUSE, RESUME).

    Only the consent's data consumer (the verified sender) may change it this way.
    """
    actions = {"REVOKE": ledger.revoke, "PAUSE": ledger.pause, "RESUME": ledger.resume}

    async def handle(req: IncomingRequest) -> dict[str, Any]:
        block = _consent_block(req)
        act = actions.get(str(block.get("action", "")).upper())
        if act is None:
            raise BusinessError(
                "BIZ_INVALID_UPDATE",
                "consent action must be REVOKE, PAUSE or RESUME",
                path="message.consent.action",
            )
        try:
            current = await ledger.get(block["id"], datetime.fromtimestamp(clock.now(), UTC))
            if current.artefact.data_consumer != req.sender:
                raise BusinessError(
                    "POL_NOT_A_PARTY",
                    "only the consent's data consumer may change it here",
                    path="message.consent.id",
                )
            record = await act(block["id"], actor=req.sender)
        except ConsentError as exc:
            raise BusinessError(
                f"POL_{exc.code}", exc.reason, path="message.consent", legacy_code="50000"
            ) from exc
        purpose: StatusPurpose = "revocation" if record.status.value == "REVOKED" else "suspension"
        return {
            "contract": req.message.get("contract", {}),  # on_update answers the same contract
            "consent": {
                "id": block["id"],
                "status": record.status.value,
                "statusPurpose": purpose,
                "statusListCredential": list_url(purpose),
                "statusListIndex": str(record.status_index),
            },
        }

    return handle
