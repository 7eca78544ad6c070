"""Errors of the identity toolkit: malformed identifiers, failed DID resolution, mapping trouble.

::

    IesError
    ├── IdentifierError (also ValueError)   a DID, tel: URI, OBIS code ... is malformed
    ├── ConfigError
    │   └── MappingRuleError                a legacy-ID rule file is invalid
    ├── MappingError (also LookupError)
    │   ├── NoMapping                       no rule or pair covers the identifier
    │   └── MappingConflict                 rules disagree; never merged silently
    └── ClientError
        └── DidResolutionError
            ├── UnsupportedDidMethod
            ├── DidNotFound                 404 / 410 from the DID's host
            ├── DidUnreachable              transport failure or unexpected HTTP status
            ├── MalformedDidDocument        not JSON, not a DID document, too large
            └── DidDocumentMismatch         the document's ``id`` is another DID
"""

from __future__ import annotations

from collections.abc import Sequence

from iesnode.errors import ClientError, ConfigError, IesError

__all__ = [
    "DidDocumentMismatch",
    "DidNotFound",
    "DidResolutionError",
    "DidUnreachable",
    "IdentifierError",
    "MalformedDidDocument",
    "MappingConflict",
    "MappingError",
    "MappingRuleError",
    "NoMapping",
    "UnsupportedDidMethod",
]


class IdentifierError(IesError, ValueError):
    """An identifier is malformed; ``path`` names the part (``domain``, ``local_id`` ...)."""

    def __init__(self, text: str, reason: str, *, path: str) -> None:
        super().__init__(f"{path}: {reason} in {text!r}")
        self.text = text
        self.reason = reason
        self.path = path


class MappingRuleError(ConfigError):
    """A legacy-ID mapping rule file is invalid; ``path`` names the rule and field."""

    def __init__(self, reason: str, *, path: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason
        self.path = path


class MappingError(IesError, LookupError):
    """An identifier could not be mapped to exactly one counterpart."""


class NoMapping(MappingError):
    """No rule and no explicit pair covers ``value``."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.value = value
        self.reason = reason


class MappingConflict(MappingError):
    """``value`` maps to several counterparts (``candidates``, with the rules that gave them)."""

    def __init__(self, value: str, candidates: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{target!r} (rule {rule})" for rule, target in candidates)
        super().__init__(f"{value!r} maps to {len(candidates)} different values: {listed}")
        self.value = value
        self.candidates = tuple(candidates)


class DidResolutionError(ClientError):
    """Resolving ``did`` failed; subclasses say why."""

    def __init__(self, did: str, reason: str) -> None:
        super().__init__(f"{did}: {reason}")
        self.did = did
        self.reason = reason


class UnsupportedDidMethod(DidResolutionError):
    """The DID method is neither ``web`` nor ``key``."""


class DidNotFound(DidResolutionError):
    """The DID's host answered 404 or 410: there is no such DID document."""


class DidUnreachable(DidResolutionError):
    """The DID's host did not answer, or answered with an unexpected HTTP status."""

    def __init__(self, did: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(did, reason)
        self.status = status


class MalformedDidDocument(DidResolutionError):
    """The answer is not a DID document; ``path`` names the failing JSON path when known."""

    def __init__(self, did: str, reason: str, *, path: str | None = None) -> None:
        super().__init__(did, reason if path is None else f"{path}: {reason}")
        self.path = path


class DidDocumentMismatch(DidResolutionError):
    """The document's ``id`` is not the DID that was resolved."""

    def __init__(self, did: str, document_id: str) -> None:
        super().__init__(did, f"document id is {document_id!r}")
        self.document_id = document_id
