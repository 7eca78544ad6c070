"""Beckn action names in both dialects, and how requests pair with callbacks.

v2.0 renamed ``search`` to ``discover`` and ``rating`` to ``rate`` (Beckn v2.0.0 LTS
``paths``); v1.1 keeps the old names (Beckn v1.1.1 ``transaction.yaml``). Inside
iesnode actions are named the v2 way; :func:`wire_name` gives a dialect's name.
"""

from __future__ import annotations

from iesnode.model.envelope import Dialect

__all__ = [
    "ACTIONS",
    "CALLBACKS",
    "UNSOLICITED_CALLBACKS",
    "callback_of",
    "canonical",
    "is_callback",
    "request_of",
    "wire_name",
]

ACTIONS: tuple[str, ...] = (
    "discover",
    "select",
    "init",
    "confirm",
    "status",
    "track",
    "update",
    "cancel",
    "rate",
    "support",
)
CALLBACKS: tuple[str, ...] = tuple(f"on_{a}" for a in ACTIONS)
UNSOLICITED_CALLBACKS = frozenset({"on_status", "on_update", "on_cancel"})
"""Callbacks a BPP may send on its own, with a new messageId, in a known transaction."""

_V1_NAMES = {
    "discover": "search",
    "rate": "rating",
    "on_discover": "on_search",
    "on_rate": "on_rating",
}
_FROM_V1 = {v: k for k, v in _V1_NAMES.items()}
_KNOWN = frozenset(ACTIONS) | frozenset(CALLBACKS)


def canonical(name: str) -> str | None:
    """The v2 name of any dialect's action name, or None when it is not a Beckn action."""
    name = _FROM_V1.get(name, name)
    return name if name in _KNOWN else None


def wire_name(action: str, dialect: Dialect) -> str:
    """How ``action`` (a canonical name) is spelled in ``dialect``."""
    return action if dialect is Dialect.V2 else _V1_NAMES.get(action, action)


def is_callback(action: str) -> bool:
    """True for ``on_*`` actions."""
    return action.startswith("on_")


def callback_of(action: str) -> str:
    """``select`` -> ``on_select``."""
    return f"on_{action}"


def request_of(callback: str) -> str:
    """``on_select`` -> ``select``."""
    return callback.removeprefix("on_")
