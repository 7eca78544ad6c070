"""The suite as a BPP towards a BAP target: the target's requests and the callbacks we send.

A request the target sent (:class:`TargetRequest`) is read exactly as received: its
dialect, its context fields under their v2 or v1 names, and where its callbacks go
(``bapUri``; Beckn v1.1.1 ``Context``, ``research/beckn-core.md`` sections 1.2 and 4.2).

A callback answering it (:func:`callback_doc`) echoes the request's context with
``action`` ``on_<action>``, a new timestamp and our ``bppId``/``bppUri``, keeping the
transactionId and messageId (section 4.4), and carries the smallest valid message of
that callback in the request's dialect (iesnode's schemas, ``protocol_specs/beckn``).
It is sent as compact JSON, signed over exactly those bytes by our BPP (BECKN-006),
unless a check breaks something on purpose.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iesnode.conformance.receiver import ReceivedCallback
from iesnode.errors import ProtocolError
from iesnode.model.envelope import Dialect, utc_timestamp
from iesnode.protocol.actions import ACTIONS, callback_of, canonical, wire_name
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.duration import parse_duration
from iesnode.protocol.roles.envelopes import join_url, new_id

if TYPE_CHECKING:
    from iesnode.conformance.counterpart import Counterpart
    from iesnode.conformance.wire import Sent

__all__ = ["REQUEST_PATHS", "TargetRequest", "callback_doc", "callback_message", "send_callback"]

REQUEST_PATHS = frozenset({"bpp", "gateway"})
"""Our URLs a BAP target sends requests to: our BPP, or our gateway for discovery."""


def callback_message(action: str, dialect: Dialect) -> dict[str, Any]:
    """The smallest valid ``message`` of ``on_<action>`` (canonical ``action``)."""
    if dialect is Dialect.V2:
        contract = {"id": "conformance-contract-1", "commitments": [{"id": "c1"}]}
        v2: dict[str, dict[str, Any]] = {
            "discover": {"catalogs": [{"id": "conformance-catalog", "offers": [{"id": "o1"}]}]},
            "track": {"tracking": {"status": "ACTIVE"}},
            "rate": {},
            "support": {"support": {"channels": []}},
        }
        return v2.get(action, {"contract": {**contract, "status": {"code": "ACTIVE"}}})
    order = {"id": "conformance-order-1", "items": [{"id": "item-1"}], "status": "ACTIVE"}
    v1: dict[str, dict[str, Any]] = {
        "discover": {"catalog": {"providers": [{"id": "p1", "items": [{"id": "item-1"}]}]}},
        "track": {"tracking": {"status": "active"}},
        "rate": {},
        "support": {"support": {}},
    }
    return v1.get(action, {"order": order})


@dataclass(frozen=True, slots=True)
class TargetRequest:
    """One request the BAP target sent to our BPP (or gateway), as received."""

    received: ReceivedCallback

    @property
    def action(self) -> str | None:
        """Canonical action of the URL path, None when it is no Beckn request action."""
        found = canonical(self.received.action)
        return found if found in ACTIONS else None

    @property
    def context(self) -> dict[str, Any] | None:
        """The body's ``context`` object, None when there is none."""
        doc = self.received.doc
        ctx = doc.get("context") if isinstance(doc, dict) else None
        return ctx if isinstance(ctx, dict) else None

    @property
    def dialect(self) -> Dialect | None:
        """The dialect the body speaks, None when it is no Beckn envelope."""
        try:
            return detect_dialect(self.received.doc)
        except ProtocolError:
            return None

    def field(self, v2_name: str, v1_name: str) -> Any:
        """A context field under its v2 name or else its v1 name (None when absent)."""
        ctx = self.context or {}
        return ctx.get(v2_name, ctx.get(v1_name))

    @property
    def ttl(self) -> float | None:
        """``context.ttl`` in seconds, None when absent or not an ISO 8601 duration."""
        text = self.field("ttl", "ttl")
        try:
            return parse_duration(text) if isinstance(text, str) else None
        except ValueError:
            return None

    @property
    def answerable(self) -> bool:
        """Whether a callback can be built: a known action in a readable envelope."""
        return self.action is not None and self.dialect is not None

    def reply_url(self, fallback: str) -> str:
        """Where its callbacks go: ``{bapUri}/on_<action>`` (``fallback`` without a bapUri)."""
        assert self.action is not None
        assert self.dialect is not None
        base = self.field("bapUri", "bap_uri")
        if not (isinstance(base, str) and base.startswith(("http://", "https://"))):
            base = fallback
        return join_url(base, wire_name(callback_of(self.action), self.dialect))


def callback_doc(
    request: TargetRequest,
    bpp_id: str,
    bpp_uri: str,
    *,
    now: float | None = None,
    solicited: bool = True,
) -> dict[str, Any]:
    """A valid ``on_<action>`` answering ``request`` (new ids when not ``solicited``)."""
    assert request.action is not None
    assert request.dialect is not None
    dialect, v2 = request.dialect, request.dialect is Dialect.V2
    ctx = copy.deepcopy(request.context or {})
    ctx["action"] = wire_name(callback_of(request.action), dialect)
    ctx["timestamp"] = utc_timestamp(time.time() if now is None else now)
    ctx["bppId" if v2 else "bpp_id"] = bpp_id
    ctx["bppUri" if v2 else "bpp_uri"] = bpp_uri
    if not solicited:
        ctx["transactionId" if v2 else "transaction_id"] = new_id()
        ctx["messageId" if v2 else "message_id"] = new_id()
    return {"context": ctx, "message": callback_message(request.action, dialect)}


async def send_callback(
    counterpart: Counterpart,
    request: TargetRequest,
    body: bytes,
    headers: dict[str, str],
    *,
    note: str,
) -> Sent:
    """POST ``body`` with ``headers`` to the request's callback URL, kept as evidence."""
    url = request.reply_url(counterpart.options.target.url)
    return await counterpart.wire.post_url(url, body, headers, note=note)
