"""Why a credential, presentation or status list was refused.

Every refusal names the verifier-chain step that failed (``parse``, ``context``,
``schema``, ``issuer``, ``proof``, ``licence``, ``status``, ``validity``, ``holder``,
``presentation``), a plain reason and, where it applies, the JSON path.
"""

from __future__ import annotations

from typing import Literal

from iesnode.errors import IesError

__all__ = ["CredentialError", "Step"]

Step = Literal[
    "parse",
    "context",
    "schema",
    "issuer",
    "proof",
    "licence",
    "status",
    "validity",
    "holder",
    "presentation",
]


class CredentialError(IesError):
    """A credential (or presentation, or status list) failed one verification step."""

    def __init__(self, step: Step, reason: str, *, path: str | None = None) -> None:
        super().__init__(f"{step}: {reason}" + (f" (at {path})" if path else ""))
        self.step: Step = step
        self.reason = reason
        self.path = path
