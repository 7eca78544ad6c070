"""Why a consent operation was refused.

A :class:`ConsentError` carries a stable ``code`` (``CONSENT_*``) and a plain
``reason``; the lifecycle raises it for unknown consents, illegal transitions
(``research/trust-layer.md`` section 5.1) and replacements that change the parties.
Enforcement refusals are not errors but :class:`~iesnode.consent.enforcement.Decision`
values, which use the same code style.
"""

from __future__ import annotations

from iesnode.errors import IesError

__all__ = ["ConsentError"]


class ConsentError(IesError):
    """A consent operation was refused; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str, *, consent_id: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.consent_id = consent_id

    def __repr__(self) -> str:
        return f"ConsentError({self.code!r}, {self.reason!r}, consent_id={self.consent_id!r})"
