"""The one error tree of iesnode.

Every error a peer can see carries its Beckn error code in both dialects and the
HTTP status it is answered with; exactly one middleware (``iesnode.http.middleware``)
turns a :class:`ProtocolError` into a NACK. The v2 codes follow the layered
string scheme of the Beckn v2 error-code draft (``CTX_*``, ``AUT_*``, ``SCH_*``,
``NET_*``, ``BIZ_*``, ``POL_*``, ``DOM_*``); the v1.1 codes follow BECKN-005
(30000 request, 40000 business, 50000 policy) with the widely deployed ONDC
extensions where BECKN-005 has no code (30016 invalid signature, 30022 stale
request, 20009 late callback).

::

    IesError
    ├── ConfigError                     bad settings or plugin config at start-up
    ├── ProtocolError                   answered to a peer as a NACK
    │   ├── RequestRejected (400)       context, dialect, schema, replay, ttl ...
    │   ├── AuthError (401)             signature, key, sender checks
    │   ├── Forbidden (403)             authenticated, but not allowed to do this
    │   ├── Conflict (409)              the write contradicts what is stored
    │   ├── PayloadTooLarge (413)
    │   ├── UnsupportedMediaType (415)
    │   ├── UnknownAction (404)
    │   ├── ServiceUnavailable (503)    registry unreachable, queue down
    │   └── BusinessError (no HTTP)     raised by handlers, sent in an on_* error
    └── ClientError                     our outbound call did not get what it needed
        ├── TransportError              connection refused, timeout, DNS
        ├── NackReceived                the peer answered NACK
        ├── CallbackTimeout             no callback before the request's ttl
        └── CallbackError               the callback carried an error instead of a result
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "BusinessError",
    "CallbackError",
    "CallbackTimeout",
    "ClientError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "IesError",
    "NackReceived",
    "PayloadTooLarge",
    "ProtocolError",
    "RequestRejected",
    "ServiceUnavailable",
    "TransportError",
    "UnknownAction",
    "UnsupportedMediaType",
    "UnusableUrl",
]


class IesError(Exception):
    """Root of every error iesnode raises on purpose."""


class ConfigError(IesError):
    """Settings or a plugin configuration are invalid; raised at start-up."""


class ProtocolError(IesError):
    """An error answered to a peer as a NACK.

    ``code`` is the v2 layered string code, ``legacy_code`` the numeric v1.1 code,
    ``path`` the JSON path (or header name) that failed.
    """

    http_status: ClassVar[int] = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        path: str | None = None,
        legacy_code: str = "30000",
        error_type: str = "CONTEXT-ERROR",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.legacy_code = legacy_code
        self.error_type = error_type

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, path={self.path!r})"


class RequestRejected(ProtocolError):
    """The request is malformed or out of context: HTTP 400."""

    http_status = 400


class AuthError(ProtocolError):
    """The signature, key or sender could not be verified: HTTP 401.

    ``gateway`` is true when the failing header was ``X-Gateway-Authorization``
    (answered with ``Proxy-Authenticate`` instead of ``WWW-Authenticate``).
    """

    http_status = 401

    def __init__(
        self, code: str, message: str, *, path: str = "Authorization", gateway: bool = False
    ) -> None:
        super().__init__(code, message, path=path, legacy_code="30016", error_type="AUTH-ERROR")
        self.gateway = gateway


class Forbidden(ProtocolError):
    """The signer is known but may not do this (e.g. publish outside its namespace): HTTP 403."""

    http_status = 403


class Conflict(ProtocolError):
    """The write contradicts stored state (duplicate key, stale version): HTTP 409."""

    http_status = 409


class PayloadTooLarge(ProtocolError):
    """The body is over the configured size limit: HTTP 413."""

    http_status = 413


class UnsupportedMediaType(ProtocolError):
    """The body is not ``application/json``: HTTP 415."""

    http_status = 415


class UnknownAction(ProtocolError):
    """No such Beckn endpoint: HTTP 404."""

    http_status = 404


class ServiceUnavailable(ProtocolError):
    """A dependency we need to judge the request (registry, queue) is unreachable: HTTP 503."""

    http_status = 503


class BusinessError(ProtocolError):
    """Raised by a BPP handler; sent to the BAP as the ``error`` of the ``on_*`` callback."""

    http_status = 400

    def __init__(
        self, code: str, message: str, *, path: str | None = None, legacy_code: str = "40000"
    ) -> None:
        super().__init__(
            code, message, path=path, legacy_code=legacy_code, error_type="DOMAIN-ERROR"
        )


class ClientError(IesError):
    """An outbound call of ours did not succeed."""


class TransportError(ClientError):
    """The peer could not be reached, or did not answer in time."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class UnusableUrl(ClientError):
    """The HTTP client refuses the peer's URL itself (credentials in it, a bad host ...).

    Unlike a :class:`TransportError`, trying again cannot help.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: unusable URL: {reason}")
        self.url = url
        self.reason = reason


class NackReceived(ClientError):
    """The peer answered our request with a NACK."""

    def __init__(
        self, url: str, status: int, code: str | None, message: str, path: str | None
    ) -> None:
        super().__init__(f"{url} answered NACK {status} {code}: {message} (path={path})")
        self.url = url
        self.status = status
        self.code = code
        self.message = message
        self.path = path


class CallbackTimeout(ClientError):
    """No callback (or not enough callbacks) arrived before the request's ttl ran out."""

    def __init__(self, action: str, message_id: str, ttl: float) -> None:
        super().__init__(f"no on_{action} for message {message_id} within {ttl:g}s")
        self.action = action
        self.message_id = message_id
        self.ttl = ttl


class CallbackError(ClientError):
    """The ``on_*`` callback carried an error (e.g. a BPP's business error)."""

    def __init__(self, action: str, code: str, message: str, path: str | None) -> None:
        super().__init__(f"{action} error {code}: {message} (path={path})")
        self.action = action
        self.code = code
        self.message = message
        self.path = path
