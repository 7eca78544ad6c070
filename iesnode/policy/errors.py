"""The error of the policy layer (issue 5, ``research/trust-layer.md`` section 4).

Every failure of a policy pack, the engine or a policy result is one
:class:`PolicyError` with a stable ``code``; the pipeline fails closed on any of
them (a NACK in the 50000 range, built by the caller). Codes in use:

``POL_SYNTAX``            a module does not parse (regopy's parser)
``POL_V0_SYNTAX``         a module uses Rego v0 forms (``allow {``, ``deny[msg] {``)
``POL_COMPILE``           the modules or data do not build into a bundle
``POL_RUNTIME``           evaluation failed (strict built-in error, conflict, engine fault)
``POL_INPUT``             the input or data is not plain JSON within the engine's range
``POL_SHAPE``             an entrypoint returned something other than the contract's shape
``POL_PACK_CHECKSUM``     a pack file or the intent document does not match its checksum
``POL_PACK_SIGNATURE``    a pack signature does not verify
``POL_URL_NOT_ALLOWED``   a contract policy URL is outside the allowed prefixes
``POL_FETCH``             a contract policy could not be fetched
``POL_REVENUE_IMBALANCE`` computed revenue flows do not sum to zero
"""

from __future__ import annotations

from iesnode.errors import IesError

__all__ = ["PolicyError"]


class PolicyError(IesError):
    """A policy pack, the engine or a policy result failed; always fails closed.

    ``code`` is one of the ``POL_*`` codes above, ``reason`` the human sentence;
    ``module`` and ``line`` (1-based) point into Rego source, ``path`` at a JSON path
    or pack file when known.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        path: str | None = None,
        module: str | None = None,
        line: int | None = None,
    ) -> None:
        where = ""
        if module is not None:
            where = f" ({module}" + (f":{line}" if line is not None else "") + ")"
        elif path is not None:
            where = f" (at {path})"
        super().__init__(f"{code}: {reason}{where}")
        self.code = code
        self.reason = reason
        self.path = path
        self.module = module
        self.line = line

    def __repr__(self) -> str:
        return (
            f"PolicyError({self.code!r}, {self.reason!r}, path={self.path!r}, "
            f"module={self.module!r}, line={self.line!r})"
        )
