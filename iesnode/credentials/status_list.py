"""W3C Bitstring Status List v1.0: the bitstring, its encoding, list credentials and checks.

Follows ``w3c/vc-bitstring-status-list`` (Recommendation):

- §2.1 ``BitstringStatusListEntry`` (:func:`status_entry`): the ``credentialStatus`` item of a
  credential; ``statusListIndex`` is a base-10 string.
- §2.2 ``BitstringStatusListCredential`` (:func:`status_list_credential`): an unsigned VC 2.0
  whose subject is a ``BitstringStatusList`` with ``statusPurpose`` and ``encodedList``.
- §3.2 validation (:func:`check_status`): purpose match, minimum length, index range. Proofs of
  the list credential are verified by the caller before this check (step 2 of §3.2).
- §5.1 bitstring encoding (:class:`Bitstring`): index 0 is the most significant bit of byte 0;
  ``encodedList`` is multibase base64url without padding (prefix ``u``) of the GZIP (RFC 1952)
  of the bitstring, which holds at least 131,072 bits (16 KB).

Writers always emit the ``u`` prefix and a deterministic GZIP member (mtime 0). Readers also
take lists without the prefix, padded or not, in base64 or base64url, as seen in the wild.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from iesnode.credentials.errors import CredentialError

__all__ = [
    "MAXIMUM_BITS",
    "MINIMUM_BITS",
    "Bitstring",
    "StatusPurpose",
    "check_status",
    "decode",
    "decompress_list",
    "status_entry",
    "status_list_credential",
]

StatusPurpose = Literal["revocation", "suspension"]

MINIMUM_BITS = 131_072
"""§3.2 ``minimumNumberOfEntries``: 16 KB of uncompressed bitstring."""
MAXIMUM_BITS = 1 << 27
"""Our ceiling (16 MiB uncompressed) so that a hostile list cannot inflate without bound."""

_VC_V2 = "https://www.w3.org/ns/credentials/v2"
_PURPOSES: tuple[str, ...] = get_args(StatusPurpose)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"  # deflate, no flags, mtime 0, Unix
_MULTIBASE_BASE64URL = "u"
_INDEX = re.compile(r"[0-9]{1,19}")


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


def status_list_credential(
    *,
    list_id: str,
    issuer: str,
    purpose: StatusPurpose,
    bitstring: Bitstring,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned VC 2.0 ``BitstringStatusListCredential`` (§2.2) published at ``list_id``."""
    _check_purpose(purpose)
    credential: dict[str, Any] = {
        "@context": [_VC_V2],
        "id": list_id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _date_time_stamp(valid_from),
    }
    if valid_until is not None:
        if valid_until < valid_from:
            raise ValueError("validUntil of a status list precedes its validFrom")
        credential["validUntil"] = _date_time_stamp(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": bitstring.encode(),
    }
    return credential


def status_entry(list_url: str, index: int, purpose: StatusPurpose) -> dict[str, Any]:
    """The §2.1 ``BitstringStatusListEntry`` for bit ``index`` of the list at ``list_url``."""
    _check_purpose(purpose)
    if isinstance(index, bool) or index < 0:
        raise ValueError(f"a status list index is a non-negative int, not {index!r}")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def check_status(entry: object, list_credential: object) -> bool:
    """Whether the entry's bit is set in the (already proof-verified) list credential (§3.2).

    Both arguments are parsed JSON objects (untrusted shapes are refused, not assumed).
    ``True`` means revoked or suspended, as the entry's ``statusPurpose`` says. Raises
    :class:`CredentialError` (step ``status``) naming the mismatch when the pair is unusable.
    """
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        raise CredentialError("status", "credentialStatus is not a BitstringStatusListEntry")
    index = _entry_index(entry)
    if entry.get("statusSize", 1) != 1:
        raise CredentialError(
            "status", "statusSize other than 1 is not supported", path="credentialStatus.statusSize"
        )
    if not isinstance(list_credential, dict):
        raise CredentialError("status", "status list credential is not a JSON object")
    subject = _list_subject(list_credential)
    list_url = entry.get("statusListCredential")
    if "id" in list_credential and list_credential["id"] != list_url:
        raise CredentialError(
            "status",
            "status list credential id differs from the entry's statusListCredential",
            path="credentialStatus.statusListCredential",
        )
    purpose = entry.get("statusPurpose")
    listed = subject.get("statusPurpose")
    purposes = listed if isinstance(listed, list) else [listed]
    if purpose not in purposes:
        raise CredentialError(
            "status",
            f"entry statusPurpose {purpose!r} is not a purpose of the list ({listed!r})",
            path="credentialStatus.statusPurpose",
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise CredentialError(
            "status", "encodedList is not a string", path="credentialSubject.encodedList"
        )
    bitstring = decode(encoded)
    if index >= len(bitstring):
        raise CredentialError(
            "status",
            f"statusListIndex {index} is outside the list of {len(bitstring)} entries",
            path="credentialStatus.statusListIndex",
        )
    return bitstring.get(index)


def _entry_index(entry: dict[str, Any]) -> int:
    raw = entry.get("statusListIndex")
    if not isinstance(raw, str) or not _INDEX.fullmatch(raw):
        raise CredentialError(
            "status",
            "statusListIndex is not a base-10 string of a non-negative integer",
            path="credentialStatus.statusListIndex",
        )
    return int(raw)


def _list_subject(list_credential: dict[str, Any]) -> dict[str, Any]:
    types = list_credential.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        raise CredentialError(
            "status", "status list is not a BitstringStatusListCredential", path="type"
        )
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise CredentialError(
            "status",
            "status list credentialSubject is not a BitstringStatusList",
            path="credentialSubject.type",
        )
    return subject


def _check_length(length: int) -> None:
    if length < MINIMUM_BITS:
        raise ValueError(f"a status list holds at least {MINIMUM_BITS} bits, not {length}")
    if length > MAXIMUM_BITS or length % 8:
        raise ValueError(f"a status list length is a multiple of 8 up to {MAXIMUM_BITS} bits")


def _check_purpose(purpose: str) -> None:
    if purpose not in _PURPOSES:
        raise ValueError(f"status purpose must be one of {_PURPOSES}, not {purpose!r}")


def _date_time_stamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a credential date-time must carry a timezone")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
