"""What the P2P roles need of the node they run in: peers, a BAP client, followed trades.

Every P2P role (:mod:`.platform`, :mod:`.buyer`, :mod:`.ledger_provider`,
:mod:`.meter_bpp`) is plain data plus a :class:`~iesnode.protocol.roles.bpp.HandlerRegistry`;
it is bound to its running :class:`~iesnode.node.Node` by ``start(node)`` (the node must be
built with the role's handlers), which is how ``iesnode serve``-style processes and
:mod:`.cluster` start it. A ledger provider pulls meter data on the DISCOM's data-sharing
network, so its BAP client may put another ``networkId`` in its contexts
(IES runs P2P trading and data sharing as separate networks, ``research/energy-domain.md``
§2.0). A platform keeps a confirmed trade's transaction known to its callback inbox until
delivery ends, so the unsolicited ``on_update`` of a curtailment is accepted hours later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from iesnode.errors import ClientError
from iesnode.interfaces import PendingRequest
from iesnode.model.subscriber import Role, SubscriberQuery
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.protocol.roles.bpp import HandlerRegistry

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["P2PRole", "bap_client", "follow", "peer"]


class P2PRole(Protocol):
    """A P2P role: handlers to build the node with, bound to the node once it runs."""

    @property
    def handlers(self) -> HandlerRegistry:
        """The BPP handlers (empty for a BAP-only role)."""
        ...

    async def start(self, node: Node) -> None:
        """Bind to the started node (open stores, resolve adapters, start tasks)."""
        ...

    async def aclose(self) -> None:
        """Stop tasks and close stores."""
        ...


async def peer(node: Node, subscriber_id: str) -> Peer:
    """The subscriber as a BPP to send requests to (its URL from the node's directory)."""
    found = await node.directory.find(SubscriberQuery(subscriber_id=subscriber_id))
    providers = [s for s in found if s.role is Role.BPP] or found
    if not providers:
        raise ClientError(f"{subscriber_id} is not in the directory")
    return Peer(subscriber_id, providers[0].url)


def bap_client(node: Node, *, network_id: str | None = None) -> BapClient:
    """A BAP client of ``node``; ``network_id`` replaces the node's own in the contexts."""
    return node.bap_client(network_id=network_id)


async def follow(node: Node, transaction_id: str, until: float) -> None:
    """Keep accepting unsolicited callbacks of ``transaction_id`` until ``until`` (epoch s).

    The inbox accepts an unsolicited ``on_update``/``on_status`` only in a transaction
    with a retained request; this retains a marker request (no callback can answer it).
    """
    now = node.clock.now()
    if until <= now:
        return
    marker = PendingRequest(f"follow:{transaction_id}", transaction_id, "status", until)
    await node.inbox.expect(marker, retention=until - now)
