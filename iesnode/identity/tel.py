"""``tel:`` URIs for consumer holders (RFC 3966, global numbers only).

IES lets a consumer's wallet be named by a telephone number (``tel:+91...``). RFC 3966
section 3: a global number is ``+`` then digits with optional visual separators
(``-``, ``.``, ``(``, ``)``), which carry no meaning; section 5.1.1 makes the
separators removable, so the canonical form here is ``tel:+<digits>`` (an E.164
number, at most 15 digits per ITU-T E.164 section 6). Only the ``ext`` parameter
(section 5.1.5) is kept; local numbers, which need a ``phone-context``, are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iesnode.identity.errors import IdentifierError

__all__ = ["TelUri"]

_SEPARATORS = re.compile(r"[-.()]")
_PHONEDIGITS = re.compile(r"[0-9\-.()]+")
_MIN_DIGITS, _MAX_DIGITS = 4, 15


@dataclass(frozen=True, slots=True)
class TelUri:
    """A global telephone number: ``number`` is ``+`` and 4 to 15 digits, ``extension`` digits."""

    number: str
    extension: str | None = None

    def __post_init__(self) -> None:
        text = f"tel:{self.number}"
        digits = self.number.removeprefix("+")
        if not self.number.startswith("+"):
            raise IdentifierError(
                text, "only global numbers ('+' and country code) are accepted", path="number"
            )
        if not (digits.isascii() and digits.isdigit()):
            raise IdentifierError(text, "the number must be '+' and digits only", path="number")
        if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
            raise IdentifierError(
                text, f"{len(digits)} digits; E.164 numbers have 4 to 15", path="number"
            )
        if digits.startswith("0"):
            raise IdentifierError(text, "a country code never starts with 0", path="number")
        if self.extension is not None and not (
            self.extension.isascii() and self.extension.isdigit()
        ):
            raise IdentifierError(text, "the extension must be digits", path="ext")

    @classmethod
    def parse(cls, text: str) -> TelUri:
        """Parse ``tel:+<digits and separators>[;ext=<digits>]``; separators are dropped."""
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "tel":
            raise IdentifierError(text, "a telephone URI starts with 'tel:'", path="scheme")
        number, *params = rest.split(";")
        if not number.startswith("+"):
            raise IdentifierError(
                text, "only global numbers ('+' and country code) are accepted", path="number"
            )
        if _PHONEDIGITS.fullmatch(number[1:]) is None:
            raise IdentifierError(
                text, "a number has digits and the separators - . ( ) only", path="number"
            )
        extension: str | None = None
        for param in params:
            name, _, value = param.partition("=")
            if name.lower() != "ext" or extension is not None:
                raise IdentifierError(text, f"unsupported parameter {name!r}", path="parameter")
            extension = _SEPARATORS.sub("", value)
            if not extension:
                raise IdentifierError(text, "empty extension", path="ext")
        try:
            return cls("+" + _SEPARATORS.sub("", number[1:]), extension)
        except IdentifierError as exc:
            raise IdentifierError(text, exc.reason, path=exc.path) from None

    def __str__(self) -> str:
        ext = "" if self.extension is None else f";ext={self.extension}"
        return f"tel:{self.number}{ext}"
