"""The smallest valid ``message`` of each request action, and operator templates.

Shapes follow iesnode's schemas of the Beckn messages (``protocol_specs/beckn``: v2.0.0
LTS ``*Action`` bodies, v1.1.1 ``transaction.yaml`` request bodies): discovery carries
an ``intent``; select/init/confirm/update a contract (v2) or order (v1.1) with one
commitment or item; status/cancel a contract id (v2) or ``order_id`` (v1.1).

A flow carries what the target answered forward as a BAP would: the offer or item the
``on_discover``/``on_search`` catalog names is selected, the contract (order) of the
latest callback is sent on with init and confirm, and status asks about its id. A
target whose domain needs more than this takes templates from a JSON file: an object
mapping action names (either dialect) to the ``message`` to send verbatim.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iesnode.errors import ConfigError
from iesnode.model.envelope import Dialect
from iesnode.protocol.actions import ACTIONS, canonical

__all__ = ["DEFAULT_OFFER", "load_templates", "request_message"]

DEFAULT_OFFER = "conformance-offer-1"
_DEFAULT_CONTRACT = "conformance-contract-1"


def load_templates(path: Path) -> dict[str, dict[str, Any]]:
    """Read ``{action: message}`` from a JSON file; ConfigError naming what is wrong."""
    try:
        doc: Any = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read templates {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"templates {path}: expected a JSON object of action -> message")
    templates: dict[str, dict[str, Any]] = {}
    for name, message in doc.items():
        action = canonical(str(name))
        if action is None or action not in ACTIONS:
            raise ConfigError(f"templates {path}: {name!r} is not a Beckn request action")
        if not isinstance(message, dict):
            raise ConfigError(f"templates {path}: the message of {name!r} must be an object")
        templates[action] = message
    return templates


def _first(items: Any) -> dict[str, Any] | None:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None


def _offer_id(message: Mapping[str, Any]) -> str | None:
    """The first offer (v2 ``catalogs[].offers[]``) or item (v1 ``catalog.providers[].items[]``)."""
    catalog = _first(message.get("catalogs")) or message.get("catalog")
    if not isinstance(catalog, dict):
        return None
    offer = _first(catalog.get("offers")) or _first(catalog.get("items"))
    provider = _first(catalog.get("providers"))
    if offer is None and provider is not None:
        offer = _first(provider.get("items")) or _first(provider.get("offers"))
    found = offer.get("id") if offer else None
    return found if isinstance(found, str) else None


def _deal(message: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    found = message.get(key)
    return found if isinstance(found, dict) else None


def _v2(action: str, previous: Mapping[str, Any]) -> dict[str, Any]:
    contract = _deal(previous, "contract")
    offer = _offer_id(previous) or DEFAULT_OFFER
    draft = {"commitments": [{"id": "c1", "offer": {"id": offer}}]}
    if contract is not None and _first(contract.get("commitments")) is not None:
        draft = contract
    contract_id = contract.get("id") if contract else None
    reference = {"id": contract_id if isinstance(contract_id, str) else _DEFAULT_CONTRACT}
    shapes: dict[str, dict[str, Any]] = {
        "discover": {"intent": {"textSearch": "conformance"}},
        "select": {"contract": draft},
        "init": {"contract": draft},
        "confirm": {"contract": draft},
        "update": {"contract": draft},
        "status": {"contract": reference},
        "cancel": {"contract": reference},
        "track": {"tracking": {"contract": reference}},
        "rate": {"ratingInputs": [{"target": reference, "range": {"value": 5}}]},
        "support": {"support": {"orderId": reference["id"]}},
    }
    return shapes[action]


def _v1(action: str, previous: Mapping[str, Any]) -> dict[str, Any]:
    order = _deal(previous, "order")
    item = _offer_id(previous) or DEFAULT_OFFER
    draft = order if order is not None else {"items": [{"id": item}]}
    order_id = order.get("id") if order else None
    reference = order_id if isinstance(order_id, str) else _DEFAULT_CONTRACT
    shapes: dict[str, dict[str, Any]] = {
        "discover": {"intent": {"item": {"descriptor": {"name": "conformance"}}}},
        "select": {"order": draft},
        "init": {"order": draft},
        "confirm": {"order": draft},
        "update": {"update_target": "order", "order": draft},
        "status": {"order_id": reference},
        "cancel": {"order_id": reference},
        "track": {"order_id": reference},
        "rate": {"ratings": [{"rating_category": "Order", "id": reference, "value": "5"}]},
        "support": {"support": {"order_id": reference}},
    }
    return shapes[action]


def request_message(
    action: str,
    dialect: Dialect,
    *,
    templates: Mapping[str, dict[str, Any]] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``message`` to send for canonical ``action``: the template, else the default.

    ``previous`` is the ``message`` of the flow's latest callback, carried forward.
    """
    if templates and action in templates:
        return copy.deepcopy(templates[action])  # a copy the caller may change
    earlier = previous or {}
    return _v2(action, earlier) if dialect is Dialect.V2 else _v1(action, earlier)
