"""W3C Bitstring Status List v1.0 §5.1: the status bitstring and its ``encodedList`` encoding.

Follows ``w3c/vc-bitstring-status-list`` (Recommendation) §5.1 bitstring encoding
(:class:`Bitstring`): index 0 is the most significant bit of byte 0; ``encodedList`` is
multibase base64url without padding (prefix ``u``) of the GZIP (RFC 1952) of the bitstring,
which holds at least 131,072 bits (16 KB; §3.2 ``minimumNumberOfEntries``, enforced by
:func:`decode`).

Writers always emit the ``u`` prefix and a deterministic GZIP member (mtime 0). Readers also
take lists without the prefix, padded or not, in base64 or base64url, as seen in the wild.
The list credentials and entries that carry the encoding are in
:mod:`iesnode.credentials.status_list`.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Iterable

from iesnode.credentials.errors import CredentialError

__all__ = ["MAXIMUM_BITS", "MINIMUM_BITS", "Bitstring", "decode", "decompress_list"]

MINIMUM_BITS = 131_072
"""§3.2 ``minimumNumberOfEntries``: 16 KB of uncompressed bitstring."""
MAXIMUM_BITS = 1 << 27
"""Our ceiling (16 MiB uncompressed) so that a hostile list cannot inflate without bound."""

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"  # deflate, no flags, mtime 0, Unix
_MULTIBASE_BASE64URL = "u"


class Bitstring:
    """A fixed-length status bitstring; bit ``i`` is ``byte[i // 8] >> (7 - i % 8) & 1``."""

    __slots__ = ("_bits",)

    def __init__(self, length: int = MINIMUM_BITS) -> None:
        _check_length(length)
        self._bits = bytearray(length // 8)

    @classmethod
    def from_bytes(cls, data: bytes) -> Bitstring:
        """A bitstring over a copy of ``data`` (which must be at least 16 KB)."""
        bitstring = cls(len(data) * 8)
        bitstring._bits[:] = data
        return bitstring

    @classmethod
    def with_set(cls, indexes: Iterable[int], length: int = MINIMUM_BITS) -> Bitstring:
        """A bitstring of ``length`` bits with exactly ``indexes`` set."""
        bitstring = cls(length)
        for index in indexes:
            bitstring.set(index, True)
        return bitstring

    def __len__(self) -> int:
        return len(self._bits) * 8

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitstring) and self._bits == other._bits

    def __repr__(self) -> str:
        return f"Bitstring(length={len(self)}, set={self.count()})"

    def get(self, index: int) -> bool:
        """Whether bit ``index`` is set."""
        self._check_index(index)
        return bool(self._bits[index // 8] & (0x80 >> (index % 8)))

    def set(self, index: int, value: bool) -> None:
        """Set (``True``) or clear (``False``) bit ``index``."""
        self._check_index(index)
        mask = 0x80 >> (index % 8)
        if value:
            self._bits[index // 8] |= mask
        else:
            self._bits[index // 8] &= ~mask & 0xFF

    def count(self) -> int:
        """How many bits are set."""
        return sum(byte.bit_count() for byte in self._bits)

    def set_indexes(self) -> list[int]:
        """Every set index, ascending."""
        return [
            position * 8 + offset
            for position, byte in enumerate(self._bits)
            if byte
            for offset in range(8)
            if byte & (0x80 >> offset)
        ]

    def to_bytes(self) -> bytes:
        """The uncompressed bitstring."""
        return bytes(self._bits)

    def copy(self) -> Bitstring:
        """An independent copy."""
        return Bitstring.from_bytes(bytes(self._bits))

    def encode(self) -> str:
        """The §5.1 ``encodedList``: ``u`` + base64url (no padding) of a GZIP with mtime 0."""
        data = bytes(self._bits)
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(data) + compressor.flush()
        trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
        member = _GZIP_HEADER + deflated + trailer
        return _MULTIBASE_BASE64URL + base64.urlsafe_b64encode(member).decode("ascii").rstrip("=")

    def _check_index(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"a status list index is an int, not {type(index).__name__}")
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is outside the list of {len(self)} bits")


def decompress_list(text: str) -> bytes:
    """Multibase-decode and gunzip an ``encodedList`` without checking its length.

    Tolerant of a missing ``u`` prefix, of padding and of the standard base64 alphabet;
    refuses text that is not base64, data that is not one GZIP member, and lists that would
    inflate beyond :data:`MAXIMUM_BITS`.
    """
    if not text:
        raise CredentialError("status", "encodedList is not a non-empty string")
    body = text[1:] if text.startswith(_MULTIBASE_BASE64URL) else text
    body = body.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        member = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialError("status", "encodedList is not base64url") from exc
    if not member.startswith(b"\x1f\x8b"):
        raise CredentialError("status", "encodedList is not GZIP compressed")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(member, MAXIMUM_BITS // 8 + 1)
    except zlib.error as exc:
        raise CredentialError("status", "encodedList is not valid GZIP") from exc
    if len(data) > MAXIMUM_BITS // 8:
        raise CredentialError("status", f"encodedList inflates beyond {MAXIMUM_BITS} bits")
    if not inflater.eof or inflater.unused_data:
        raise CredentialError("status", "encodedList is not exactly one complete GZIP member")
    return data


def decode(text: str) -> Bitstring:
    """The :class:`Bitstring` of an ``encodedList``; refuses lists under 16 KB (§3.2 step 5)."""
    data = decompress_list(text)
    if len(data) * 8 < MINIMUM_BITS:
        raise CredentialError(
            "status",
            f"status list has {len(data) * 8} entries, fewer than the minimum {MINIMUM_BITS}",
        )
    return Bitstring.from_bytes(data)


def _check_length(length: int) -> None:
    if length < MINIMUM_BITS:
        raise ValueError(f"a status list holds at least {MINIMUM_BITS} bits, not {length}")
    if length > MAXIMUM_BITS or length % 8:
        raise ValueError(f"a status list length is a multiple of 8 up to {MAXIMUM_BITS} bits")
