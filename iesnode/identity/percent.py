"""Percent-encoding of the variable parts of IES identifiers.

IES "Identifier patterns" (``what-ies-provides/register.md``): legacy numbers are kept
verbatim as the tail of a DID, and every character outside ``[A-Za-z0-9._-]`` is
percent-encoded. The encoding is RFC 3986 section 2.1 over the UTF-8 bytes, with
upper-case hex digits (the canonical form); decoding accepts either case.
"""

from __future__ import annotations

import re

from iesnode.identity.errors import IdentifierError

__all__ = ["UNRESERVED", "decode_part", "encode_part"]

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
"""Characters IES leaves as they are inside a DID part."""

_ENCODED = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_BAD_CHAR = re.compile(r"[^A-Za-z0-9._%-]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def encode_part(value: str) -> str:
    """Percent-encode every character of ``value`` outside ``[A-Za-z0-9._-]``."""
    return "".join(
        ch if ch in UNRESERVED else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in value
    )


def decode_part(encoded: str, *, whole: str, path: str) -> str:
    """Decode one encoded part; ``whole`` (the full identifier) and ``path`` go into errors."""
    if not encoded:
        raise IdentifierError(whole, "empty", path=path)
    if _ENCODED.fullmatch(encoded) is None:
        bad = _BAD_CHAR.search(encoded)
        if bad is not None:
            raise IdentifierError(
                whole, f"character {bad.group()!r} must be percent-encoded", path=path
            )
        escape = _BAD_ESCAPE.search(encoded)
        at = escape.start() if escape is not None else 0
        raise IdentifierError(whole, f"broken percent-escape at offset {at}", path=path)
    raw = bytearray()
    i = 0
    while i < len(encoded):
        if encoded[i] == "%":
            raw.append(int(encoded[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(encoded[i]))
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IdentifierError(whole, "percent-escapes are not valid UTF-8", path=path) from exc
