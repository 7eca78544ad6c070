"""Meter data over the node under consent: served while the consent is active, refused
(with the reason, in the audit chain) after the consumer revokes it over update, the
status list served by the node shows the revocation, and a tampered log is caught."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iesnode.cli import main
from iesnode.consent.artefact import ConsentTerms
from iesnode.consent.gate import (
    consent_guard,
    consent_update_handler,
    issue_consent_credential,
)
from iesnode.credentials.status_list import check_status
from iesnode.credentials.verifier import CredentialVerifier
from iesnode.errors import CallbackError
from iesnode.http.transport import AiohttpTransport
from iesnode.identity.resolver import DidResolver
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork

CONSUMER = "did:web:discom.example:consumers:12345"
METER = "DISCOM-SM-2025-654321"


def terms() -> ConsentTerms:
    """The consumer lets bap.test view a year of interval data of one meter, 5 times a day."""
    return ConsentTerms.model_validate(
        {
            "consumer": CONSUMER,
            "dataProvider": "discom.test",
            "dataConsumer": "bap.test",
            "purpose": {"code": "EE-AUDIT", "refUri": "https://purpose.example/EE-AUDIT"},
            "dataCategories": [{"profile": "INTERVAL"}],
            "dataRange": {"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "validity": {"validFrom": "2026-01-01T00:00:00Z", "validUntil": "2028-01-01T00:00:00Z"},
            "frequency": {"count": 5, "period": "P1D"},
            "dataLife": "P30D",
            "mode": "VIEW",
            "filters": {"minAggregationInterval": "PT30M"},
            "meters": [METER],
        }
    )


def data_order(consent_id: str) -> dict[str, Any]:
    """A confirm asking for interval data under ``consent_id``."""
    return {
        "contract": {"commitments": [{"id": "meter-data"}]},
        "consent": {
            "id": consent_id,
            "request": {
                "consumer": CONSUMER,
                "purpose": "EE-AUDIT",
                "meters": [METER],
                "dataCategories": [{"profile": "INTERVAL"}],
                "dataRange": {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"},
                "granularity": "PT30M",
                "mode": "VIEW",
            },
        },
    }


async def test_meter_data_under_consent_then_refused_after_revocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Served, revoked over update (status list shows it), refused with reason, audit verifies."""
    handlers = HandlerRegistry()
    served: list[str] = []
    async with LocalNetwork(settings={"credentials": {"enabled": True}}) as net:
        bpp = await net.add("discom.test", NodeRole.BPP, handlers=handlers)
        assert bpp.consent is not None
        assert bpp.audit is not None
        assert bpp.credentials is not None
        handlers.guard("confirm")(consent_guard(bpp.consent, bpp.audit, bpp.clock))

        @handlers.on("confirm")
        async def confirm(req: IncomingRequest) -> dict[str, Any]:
            served.append(req.message["consent"]["id"])
            return {"contract": {"id": "c-1", "commitments": [{"id": "meter-data"}]}}

        handlers.on("update")(
            consent_update_handler(bpp.consent, bpp.credentials.status.list_url, bpp.clock)
        )
        record = await bpp.consent.request(terms())
        await bpp.consent.approve(record.consent_id)
        active = await bpp.consent.activate(record.consent_id)
        consent_vc = await issue_consent_credential(bpp.credentials, active)
        transport = AiohttpTransport()
        resolver = DidResolver(transport, bpp.clock, base_url=bpp.public_url)

        async def fetch(url: str) -> dict[str, Any]:
            reply = await transport.get(url, {}, 5.0)
            doc: dict[str, Any] = json.loads(reply.body)
            return doc

        verifier = CredentialVerifier(resolve=resolver.resolve, fetch_status_list=fetch)
        assert (await verifier.verify(consent_vc, holder=CONSUMER)).valid
        bap_node = await net.add("bap.test", NodeRole.BAP)
        peer = Peer("discom.test", bpp.public_url)
        async with bap_node.bap() as bap:
            await bap.confirm(peer, data_order(record.consent_id), ttl=5)
            assert served == [record.consent_id]
            revoke = {
                "contract": {"commitments": [{"id": "meter-data"}]},
                "consent": {"id": record.consent_id, "action": "REVOKE"},
            }
            on_update = await bap.request("update", peer, revoke, ttl=5)
            answer = on_update.message["consent"]
            assert answer["status"] == "REVOKED"
            with pytest.raises(CallbackError) as refused:
                await bap.confirm(peer, data_order(record.consent_id), ttl=5)
        assert served == [record.consent_id]
        assert refused.value.code.startswith("POL_CONSENT_")
        async with (
            aiohttp.ClientSession() as session,
            session.get(answer["statusListCredential"]) as resp,
        ):
            assert resp.status == 200
            assert resp.headers["ETag"]
            status_list = json.loads(await resp.read())
        entry = {
            "type": "BitstringStatusListEntry",
            "statusPurpose": answer["statusPurpose"],
            "statusListIndex": answer["statusListIndex"],
            "statusListCredential": answer["statusListCredential"],
        }
        assert check_status(entry, status_list) is True
        assert "proof" in status_list
        resolver.forget("did:web:discom.test")
        after = await verifier.verify(consent_vc, holder=CONSUMER)
        await transport.aclose()
        assert (after.failed_step, after.reason) == ("status", "the credential is revoked")
        await bpp.audit.checkpoint()
        log = tmp_path / "audit.jsonl"
        await bpp.audit.export(log)
        key = base64.b64encode(bytes(bpp.audit.verify_key)).decode()
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()]
    assert "FETCH_ALLOWED" in events
    assert "FETCH_DENIED" in events
    capsys.readouterr()  # drop what the nodes logged
    assert main(["consent", "audit", "verify", str(log), "--key", key]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ok:")
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["at"] = first.get("at", 0) + 1 if isinstance(first.get("at"), int | float) else "x"
    lines[0] = json.dumps(first)
    log.write_text("\n".join(lines) + "\n")
    assert main(["consent", "audit", "verify", str(log), "--key", key]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("tampered: AUDIT_")
