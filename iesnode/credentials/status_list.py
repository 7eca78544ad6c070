"""W3C Bitstring Status List v1.0: status entries, list credentials and the status check.

Follows ``w3c/vc-bitstring-status-list`` (Recommendation):

- §2.1 ``BitstringStatusListEntry`` (:func:`status_entry`): the ``credentialStatus`` item of a
  credential; ``statusListIndex`` is a base-10 string.
- §2.2 ``BitstringStatusListCredential`` (:func:`status_list_credential`): an unsigned VC 2.0
  whose subject is a ``BitstringStatusList`` with ``statusPurpose`` and ``encodedList``.
- §3.2 validation (:func:`check_status`): purpose match, minimum length, index range. Proofs of
  the list credential are verified by the caller before this check (step 2 of §3.2).

The §5.1 bitstring and its ``encodedList`` encoding (GZIP + multibase base64url) are in
:mod:`iesnode.credentials.bitstring`; :class:`Bitstring`, :func:`decode`,
:func:`decompress_list`, :data:`MINIMUM_BITS` and :data:`MAXIMUM_BITS` are re-exported here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from iesnode.credentials.bitstring import (
    MAXIMUM_BITS,
    MINIMUM_BITS,
    Bitstring,
    decode,
    decompress_list,
)
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

_VC_V2 = "https://www.w3.org/ns/credentials/v2"
_PURPOSES: tuple[str, ...] = get_args(StatusPurpose)
_INDEX = re.compile(r"[0-9]{1,19}")


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


def _check_purpose(purpose: str) -> None:
    if purpose not in _PURPOSES:
        raise ValueError(f"status purpose must be one of {_PURPOSES}, not {purpose!r}")


def _date_time_stamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a credential date-time must carry a timezone")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
