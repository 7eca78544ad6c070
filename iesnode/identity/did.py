"""Generic DID and DID URL syntax, and the did:web host and path.

* DID syntax: W3C DID Core 1.0 section 3.1 (``did:<method-name>:<method-specific-id>``,
  lower-case method names, ``idchar`` = ALPHA / DIGIT / ``.`` / ``-`` / ``_`` /
  pct-encoded, ``:``-separated segments whose last one is non-empty).
* DID URL syntax: DID Core section 3.2 (a DID followed by an optional path, query and
  fragment).
* did:web: W3C CCG "did:web Method Specification" section 3.1 (the first segment is
  the domain, a port's ``:`` is written ``%3A``; further segments are a path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iesnode.identity.errors import IdentifierError

__all__ = ["Did", "DidUrl", "did_web", "web_host"]

_METHOD = re.compile(r"[a-z0-9]+")
_IDCHARS = r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
_SPECIFIC_ID = re.compile(rf"(?:{_IDCHARS}*:)*{_IDCHARS}+")
_URL = re.compile(
    r"(?P<did>did:[^/?#]*)(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?"
)
_URL_CHARS = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _check_host(host: str, whole: str) -> str:
    """Validate ``name[:port]`` (a DNS name or dotted IPv4 address); return it lower-cased."""
    name, colon, port = host.partition(":")
    if colon and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        raise IdentifierError(whole, f"port {port!r} is not a number in 1..65535", path="domain")
    if not name or len(name) > 253:
        raise IdentifierError(whole, "a domain name has 1 to 253 characters", path="domain")
    for label in name.split("."):
        if _LABEL.fullmatch(label) is None:
            raise IdentifierError(whole, f"bad domain label {label!r}", path="domain")
    return host.lower()


def _why_not_id(specific_id: str) -> str:
    """Say what makes ``specific_id`` fail the ``method-specific-id`` rule."""
    bad = re.search(r"[^A-Za-z0-9._:%-]", specific_id)
    if bad is not None:
        return f"character {bad.group()!r} must be percent-encoded"
    if re.search(r"%(?![0-9A-Fa-f]{2})", specific_id):
        return "broken percent-escape"
    return "the last segment is empty"


def web_host(encoded: str, whole: str) -> str:
    """Decode a did:web domain segment (``host`` or ``host%3Aport``); ``whole`` goes into errors."""
    host = re.sub("%3[Aa]", ":", encoded)
    if "%" in host:
        raise IdentifierError(whole, "only a port's ':' may be percent-encoded", path="domain")
    return _check_host(host, whole)


@dataclass(frozen=True, slots=True)
class Did:
    """A DID: ``did:<method>:<specific_id>``, the specific id kept exactly as written."""

    method: str
    specific_id: str

    def __post_init__(self) -> None:
        text = f"did:{self.method}:{self.specific_id}"
        if _METHOD.fullmatch(self.method) is None:
            raise IdentifierError(text, "method name must be [a-z0-9]+", path="method")
        if _SPECIFIC_ID.fullmatch(self.specific_id) is None:
            raise IdentifierError(text, _why_not_id(self.specific_id), path="method_specific_id")

    @classmethod
    def parse(cls, text: str) -> Did:
        """Parse a bare DID (no path, query or fragment)."""
        scheme, _, rest = text.partition(":")
        if scheme != "did":
            raise IdentifierError(text, "a DID starts with 'did:'", path="scheme")
        method, colon, specific = rest.partition(":")
        if not colon:
            raise IdentifierError(text, "a DID is did:<method>:<id>", path="method_specific_id")
        return cls(method, specific)

    def __str__(self) -> str:
        return f"did:{self.method}:{self.specific_id}"

    @property
    def web_host(self) -> str:
        """did:web only: the decoded ``domain[:port]`` (``%3A`` becomes ``:``), lower-cased."""
        if self.method != "web":
            raise IdentifierError(str(self), "not a did:web", path="method")
        return web_host(self.specific_id.split(":", 1)[0], str(self))

    @property
    def web_path(self) -> tuple[str, ...]:
        """did:web only: the path segments after the domain, still percent-encoded."""
        if self.method != "web":
            raise IdentifierError(str(self), "not a did:web", path="method")
        segments = tuple(self.specific_id.split(":")[1:])
        if "" in segments:
            raise IdentifierError(str(self), "empty path segment", path="path")
        return segments


@dataclass(frozen=True, slots=True)
class DidUrl:
    """A DID URL: a DID plus optional ``/path``, ``?query`` and ``#fragment``."""

    did: Did
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    @classmethod
    def parse(cls, text: str) -> DidUrl:
        """Parse ``did:...[/path][?query][#fragment]``."""
        match = _URL.fullmatch(text)
        if match is None:
            raise IdentifierError(text, "a DID URL starts with 'did:'", path="scheme")
        for part in ("path", "query", "fragment"):
            value = match.group(part)
            if value is not None and _URL_CHARS.fullmatch(value) is None:
                raise IdentifierError(text, "character not allowed in a URL", path=part)
        return cls(
            Did.parse(match.group("did")),
            match.group("path") or "",
            match.group("query"),
            match.group("fragment"),
        )

    def __str__(self) -> str:
        query = "" if self.query is None else f"?{self.query}"
        fragment = "" if self.fragment is None else f"#{self.fragment}"
        return f"{self.did}{self.path}{query}{fragment}"


def did_web(host: str, *path: str) -> Did:
    """Build ``did:web:<host>[:<path>...]``; a port's ``:`` in ``host`` becomes ``%3A``.

    ``path`` segments must already be encoded (see ``iesnode.identity.percent``).
    """
    checked = _check_host(host, f"did:web:{host}")
    if "" in path:
        raise IdentifierError(f"did:web:{host}:{':'.join(path)}", "empty path segment", path="path")
    return Did("web", ":".join((checked.replace(":", "%3A"), *path)))
