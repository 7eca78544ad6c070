"""``iesnode demo``: a gateway, a BAP and two BPPs on loopback trading energy.

Everything is real: four aiohttp servers on 127.0.0.1, an Ed25519 key each, every
message signed over its exact bytes and verified by the receiver, ACKs
counter-signed, callbacks delivered by the outbox worker. State is in memory (the
embedded default), so the demo needs no Redis. Exit 0 only if the whole
discover -> select -> init -> confirm -> status flow completed.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any, TextIO

from iesnode.errors import ClientError
from iesnode.log import configure_logging
from iesnode.model.envelope import Dialect
from iesnode.protocol.roles.bap import Callback
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.settings import NodeRole, NodeSettings
from iesnode.testing import LocalNetwork

__all__ = ["demo_handlers", "energy_provider", "run_demo"]


def energy_provider(name: str, price_inr_per_kwh: float, kwh: float) -> HandlerRegistry:
    """Handlers of a prosumer platform selling rooftop-solar energy in 15-minute blocks."""
    handlers = HandlerRegistry()
    offer_id = f"{name}-offer-1"
    contracts: dict[str, dict[str, Any]] = {}

    def contract(req: IncomingRequest, status: str) -> dict[str, Any]:
        txn = req.context.transaction_id
        current = contracts.setdefault(
            txn,
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{txn}")),
                "commitments": [
                    {
                        "id": "c1",
                        "offer": {"id": offer_id},
                        "quantity": {"unitCode": "KWH", "unitQuantity": kwh},
                    }
                ],
                "consideration": [
                    {"price": {"currency": "INR", "value": round(price_inr_per_kwh * kwh, 2)}}
                ],
            },
        )
        current["status"] = {"code": status}
        if req.context.dialect is not Dialect.V2:
            return {"order": {**current, "status": status}}  # v1.1 Order.status is a string
        return {"contract": current}

    @handlers.on("discover")
    async def discover(req: IncomingRequest) -> dict[str, Any]:
        if req.context.dialect is not Dialect.V2:  # Beckn v1.1 on_search carries one catalog
            return {"catalog": {"providers": [{"id": name, "items": [{"id": offer_id}]}]}}
        return {
            "catalogs": [
                {
                    "id": f"{name}-catalog",
                    "descriptor": {"name": f"{name} rooftop solar"},
                    "offers": [
                        {
                            "id": offer_id,
                            "descriptor": {"name": f"{kwh} kWh, 14:00-14:15"},
                            "price": {"currency": "INR", "value": price_inr_per_kwh},
                        }
                    ],
                }
            ]
        }

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return contract(req, "DRAFT")

    @handlers.on("init")
    async def init(req: IncomingRequest) -> dict[str, Any]:
        return contract(req, "DRAFT")

    @handlers.on("confirm")
    async def confirm(req: IncomingRequest) -> dict[str, Any]:
        return contract(req, "ACTIVE")

    @handlers.on("status")
    async def status(req: IncomingRequest) -> dict[str, Any]:
        return contract(req, "ACTIVE")

    return handlers


class _Transcript:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._t0 = time.perf_counter()

    def line(self, who: str, text: str) -> None:
        ms = (time.perf_counter() - self._t0) * 1000
        print(f"{ms:8.1f} ms  {who:<22} {text}", file=self._out, flush=True)

    def callback(self, cb: Callback, sent_at: float) -> None:
        via = f", relayed by {cb.gateway} (gateway signature verified)" if cb.gateway else ""
        self.line(
            "bap.demo.ies",
            f"<- {cb.context.action} from {cb.sender}: signature verified{via}; "
            f"callback latency {(cb.received_at - sent_at) * 1000:.1f} ms",
        )


def demo_handlers(settings: NodeSettings) -> HandlerRegistry:
    """The demo's energy offers for ``iesnode serve`` (``[node] handlers``).

    ``[app]`` may set ``price_inr_per_kwh`` (default 4.5) and ``kwh`` (default 10).
    """
    price = float(settings.app.get("price_inr_per_kwh", 4.5))
    kwh = float(settings.app.get("kwh", 10.0))
    return energy_provider(settings.node.subscriber_id, price, kwh)


async def _flow(out: TextIO) -> bool:
    log = _Transcript(out)
    async with LocalNetwork() as net:
        gateway = await net.add("gateway.demo.ies", NodeRole.GATEWAY)
        log.line(gateway.signer.subscriber_id, f"gateway listening on {gateway.public_url}")
        for name, price, kwh in (("solar-a.demo.ies", 4.5, 10.0), ("solar-b.demo.ies", 5.2, 8.0)):
            bpp = await net.add(name, NodeRole.BPP, handlers=energy_provider(name, price, kwh))
            log.line(name, f"BPP listening on {bpp.public_url}")
        bap_node = await net.add("bap.demo.ies", NodeRole.BAP)
        log.line("bap.demo.ies", f"BAP listening on {bap_node.public_url}")
        async with bap_node.bap() as bap:
            sent = bap_node.clock.now()
            log.line("bap.demo.ies", "-> discover (signed) to the gateway: ACK, counter-signed")
            offers: list[Callback] = []
            async for cb in bap.discover({"intent": {"textSearch": "solar energy"}}, ttl=1.5):
                log.callback(cb, sent)
                offers.append(cb)
                if len(offers) == 2:
                    break
            if not offers:
                log.line("bap.demo.ies", "no offers arrived")
                return False
            best = min(
                offers, key=lambda c: c.message["catalogs"][0]["offers"][0]["price"]["value"]
            )
            offer = best.message["catalogs"][0]["offers"][0]
            log.line(
                "bap.demo.ies", f"best offer: {offer['id']} at INR {offer['price']['value']}/kWh"
            )
            order = {
                "contract": {
                    "commitments": [{"id": "c1", "offer": {"id": offer["id"]}}],
                }
            }
            current: Callback = best
            for action in ("select", "init", "confirm"):
                sent = bap_node.clock.now()
                log.line("bap.demo.ies", f"-> {action} to {best.sender}: ACK, counter-signed")
                current = await bap.request(action, current, order, ttl=5)
                log.callback(current, sent)
                state = current.message["contract"]["status"]["code"]
                log.line(best.sender, f"contract {current.message['contract']['id']} is {state}")
            sent = bap_node.clock.now()
            contract_id = current.message["contract"]["id"]
            log.line("bap.demo.ies", f"-> status to {best.sender}: ACK, counter-signed")
            status = await bap.status(current, {"contract": {"id": contract_id}}, ttl=5)
            log.callback(status, sent)
            log.line(
                "bap.demo.ies",
                f"trade {contract_id} is {status.message['contract']['status']['code']}",
            )
    return True


def run_demo(out: TextIO | None = None) -> int:
    """Run the demo flow and print its transcript; 0 when the flow completed."""
    out = out or sys.stdout
    configure_logging(json=True, level="WARNING")
    try:
        ok = asyncio.run(_flow(out))
    except ClientError as exc:
        print(f"demo failed: {exc}", file=out)
        return 1
    print(
        "demo completed: discover -> select -> init -> confirm -> status" if ok else "demo failed",
        file=out,
    )
    return 0 if ok else 1
