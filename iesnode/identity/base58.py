"""Base58 with the Bitcoin alphabet (multibase ``z``).

The alphabet and the leading-zero rule (each leading 0x00 byte is one leading ``1``)
follow draft-msporny-base58-03 section 3, which the multibase table names
``base58btc``.
"""

from __future__ import annotations

__all__ = ["ALPHABET", "b58decode", "b58encode"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode ``data`` as base58btc."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(ALPHABET[rest])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode base58btc; ``ValueError`` names the first character outside the alphabet."""
    number = 0
    for pos, ch in enumerate(text):
        value = _INDEX.get(ch)
        if value is None:
            raise ValueError(f"character {ch!r} at offset {pos} is not base58btc")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body
