"""iesnode: a Beckn-style signed asynchronous protocol node for the India Energy Stack.

The public API is what this module exports; everything else may change between
releases. Start with :func:`build` and :func:`load_settings`, or ``iesnode demo``.
"""

from iesnode.errors import (
    BusinessError,
    CallbackError,
    CallbackTimeout,
    ClientError,
    IesError,
    NackReceived,
    ProtocolError,
    TransportError,
)
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Callback, Peer
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.settings import NodeRole, NodeSettings, load_settings

__version__ = "0.1.0"

__all__ = [
    "BusinessError",
    "Callback",
    "CallbackError",
    "CallbackTimeout",
    "ClientError",
    "HandlerRegistry",
    "IesError",
    "IncomingRequest",
    "NackReceived",
    "Node",
    "NodeRole",
    "NodeSettings",
    "Peer",
    "ProtocolError",
    "TransportError",
    "__version__",
    "build",
    "load_settings",
]
