"""OBIS codes: the six-group identifiers of meter quantities.

IEC 62056-61 (DLMS/COSEM object identification system): groups A to F, each 0..255.
Written as the reduced display form ``A-B:C.D.E*F`` (``*F`` optional, F = 255
when absent; ``&F`` is the older billing-period separator), or, as the IES
MeterData examples and Indian IS 15959 tables do, as six dotted decimals
``A.B.C.D.E.F`` (the canonical form here). DLMS tools also print the 6-byte
logical name as 12 hex digits, which is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass

from iesnode.identity.errors import IdentifierError

__all__ = ["ObisCode"]

_DOTTED = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_REDUCED = re.compile(r"(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:[*&](\d{1,3}))?")
_HEX = re.compile(r"[0-9A-Fa-f]{12}")


@dataclass(frozen=True, slots=True, order=True)
class ObisCode:
    """One OBIS code; every group is 0..255."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for name, value in zip("abcdef", astuple(self), strict=True):
            if not 0 <= value <= 255:
                raise IdentifierError(str(self), f"{value} is not in 0..255", path=f"group {name}")

    @classmethod
    def parse(cls, text: str) -> ObisCode:
        """Parse the dotted, reduced (``A-B:C.D.E*F``) or 12-hex-digit form."""
        match = _DOTTED.fullmatch(text) or _REDUCED.fullmatch(text)
        if match is not None:
            groups = [int(g) for g in match.groups() if g is not None]
        elif _HEX.fullmatch(text):
            groups = list(bytes.fromhex(text))
        else:
            raise IdentifierError(
                text, "expected A.B.C.D.E.F, A-B:C.D.E[*F] or 12 hex digits", path="obis"
            )
        try:
            return cls(*groups)
        except IdentifierError as exc:
            raise IdentifierError(text, exc.reason, path=exc.path) from None

    def __str__(self) -> str:
        return ".".join(str(g) for g in astuple(self))

    @property
    def reduced(self) -> str:
        """The IEC 62056-61 display form ``A-B:C.D.E*F``."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}*{self.f}"
