"""W3C Verifiable Credentials Data Model 2.0: the shape checks a verifier runs first.

Follows VCDM 2.0 (W3C Recommendation, 15 May 2025) section 4: 4.3 Contexts (first
item the v2 base context, every other one on :data:`ALLOWED_CONTEXTS`), 4.5 Types
(``VerifiableCredential`` present), 4.7 Issuer (a URL, or an object whose ``id`` is a
URL), 4.8 Credential Subject (an object or a non-empty set of objects), 4.9 Validity
Period (``validFrom``/``validUntil`` are XML Schema ``dateTimeStamp`` values, so a
timezone is mandatory, and ``validFrom <= validUntil``) and 4.10 Status (each entry has
a ``type``; a ``BitstringStatusListEntry`` also follows Bitstring Status List 1.0
section 2.1).

House rule on numbers: quantities and money inside ``credentialSubject`` are integers
or decimal strings, never JSON floats (a float's decimal value is not what the issuer
meant to sign). GeoJSON ``coordinates`` (RFC 7946 section 3.1.1) are the one exception:
they are geometry, and RFC 7946 defines them as JSON numbers.

A credential is valid at instant ``t`` when ``validFrom <= t <= validUntil`` (both
ends inclusive; an absent end is open).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from iesnode.credentials.contexts import ALLOWED_CONTEXTS, CREDENTIALS_V2
from iesnode.credentials.errors import CredentialError

__all__ = [
    "BITSTRING_STATUS_LIST_ENTRY",
    "VERIFIABLE_CREDENTIAL",
    "check_validity",
    "issuer_id",
    "parse_credential",
    "parse_date_time_stamp",
    "validate_credential",
    "validity_window",
]

VERIFIABLE_CREDENTIAL = "VerifiableCredential"
BITSTRING_STATUS_LIST_ENTRY = "BitstringStatusListEntry"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_DATE_TIME_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_GEOMETRIES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)


def parse_date_time_stamp(value: str) -> datetime:
    """An XML Schema ``dateTimeStamp`` (timezone required) as an aware ``datetime``.

    Fractions beyond microseconds are truncated; ``ValueError`` says what is wrong.
    """
    match = _DATE_TIME_STAMP.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a dateTime with a timezone (YYYY-MM-DDThh:mm:ssZ)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone == "Z":
        tz = UTC
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        offset = timedelta(hours=hours, minutes=minutes)
        if minutes > 59 or offset > timedelta(hours=14):
            raise ValueError(f"{value!r} has a timezone offset outside -14:00..+14:00")
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real instant: {exc}") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse_credential(text: str | bytes) -> dict[str, Any]:
    """Parse credential JSON (duplicate members refused); ``CredentialError`` step parse."""
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CredentialError("parse", f"not JSON: {exc}", path="$") from None
    if not isinstance(value, dict):
        raise CredentialError("parse", "a credential is a JSON object", path="$")
    return value


def _is_url(value: object) -> bool:
    return isinstance(value, str) and _URL.fullmatch(value) is not None


def _as_object(doc: object) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise CredentialError("parse", "a credential is a JSON object", path="$")
    return doc


def _check_contexts(doc: dict[str, Any], allowed: frozenset[str]) -> None:
    contexts = doc.get("@context")
    if not isinstance(contexts, list) or not contexts:
        raise CredentialError("context", "@context must be a non-empty list", path="@context")
    if contexts[0] != CREDENTIALS_V2:
        raise CredentialError(
            "context", f"the first @context must be {CREDENTIALS_V2}", path="@context[0]"
        )
    for index, context in enumerate(contexts[1:], start=1):
        where = f"@context[{index}]"
        if not isinstance(context, str):
            raise CredentialError("context", "inline contexts are not accepted", path=where)
        if context not in allowed:
            raise CredentialError("context", f"unknown context {context!r}", path=where)


def _check_type(doc: dict[str, Any]) -> None:
    types = doc.get("type")
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or not all(isinstance(t, str) for t in names):
        raise CredentialError("schema", "type must be a string or list of strings", path="type")
    if VERIFIABLE_CREDENTIAL not in names:
        raise CredentialError("schema", f"type must include {VERIFIABLE_CREDENTIAL}", path="type")


def _objects(value: object, name: str) -> list[tuple[str, dict[str, Any]]]:
    """An object or a non-empty list of objects, each with its path."""
    if isinstance(value, dict):
        return [(name, value)]
    if isinstance(value, list) and value:
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise CredentialError("schema", "must be an object", path=f"{name}[{index}]")
        return [(f"{name}[{index}]", item) for index, item in enumerate(value)]
    raise CredentialError("schema", "must be an object or a non-empty list of objects", path=name)


def _check_subject(doc: dict[str, Any]) -> None:
    if "credentialSubject" not in doc:
        raise CredentialError("schema", "credentialSubject is required", path="credentialSubject")
    for path, subject in _objects(doc["credentialSubject"], "credentialSubject"):
        if "id" in subject and not _is_url(subject["id"]):
            raise CredentialError("schema", "id must be a URL", path=f"{path}.id")
        _refuse_floats(subject, path)


def _refuse_floats(value: object, path: str) -> None:
    if isinstance(value, float):
        raise CredentialError(
            "schema",
            f"number {value!r} is a float; use an integer or a decimal string",
            path=path,
        )
    if isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        geometry = value.get("type") in _GEOMETRIES
        for key, item in value.items():
            if not (geometry and key == "coordinates"):
                _refuse_floats(item, f"{path}.{key}")


def _check_status_entry(entry: dict[str, Any], path: str) -> None:
    if not isinstance(entry.get("type"), str) or not entry["type"]:
        raise CredentialError("schema", "a status entry needs a type", path=f"{path}.type")
    if "id" in entry and not _is_url(entry["id"]):
        raise CredentialError("schema", "id must be a URL", path=f"{path}.id")
    if entry["type"] != BITSTRING_STATUS_LIST_ENTRY:
        return
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise CredentialError(
            "schema", "statusPurpose must be a non-empty string", path=f"{path}.statusPurpose"
        )
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not index.isascii() or not index.isdigit():
        raise CredentialError(
            "schema",
            "statusListIndex must be a string of decimal digits",
            path=f"{path}.statusListIndex",
        )
    if not _is_url(entry.get("statusListCredential")):
        raise CredentialError(
            "schema", "statusListCredential must be a URL", path=f"{path}.statusListCredential"
        )
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise CredentialError(
            "schema", "statusSize must be a positive integer", path=f"{path}.statusSize"
        )


def issuer_id(doc: object) -> str:
    """The issuer's URL or DID: ``issuer`` itself, or ``issuer.id``."""
    issuer = _as_object(doc).get("issuer")
    if isinstance(issuer, dict):
        if not _is_url(issuer.get("id")):
            raise CredentialError("schema", "issuer.id must be a URL or DID", path="issuer.id")
        return str(issuer["id"])
    if not _is_url(issuer):
        raise CredentialError(
            "schema", "issuer must be a URL, a DID or an object with an id", path="issuer"
        )
    return str(issuer)


def _instant(doc: dict[str, Any], name: str) -> datetime | None:
    if name not in doc:
        return None
    value = doc[name]
    if not isinstance(value, str):
        raise CredentialError("schema", "must be a dateTime string", path=name)
    try:
        return parse_date_time_stamp(value)
    except ValueError as exc:
        raise CredentialError("schema", str(exc), path=name) from None


def validity_window(doc: object) -> tuple[datetime | None, datetime | None]:
    """``(validFrom, validUntil)`` as aware datetimes; ``None`` where absent."""
    body = _as_object(doc)
    return _instant(body, "validFrom"), _instant(body, "validUntil")


def validate_credential(
    doc: object, *, allowed_contexts: frozenset[str] = ALLOWED_CONTEXTS
) -> None:
    """Check a parsed credential against VCDM 2.0; ``CredentialError`` names step and path."""
    body = _as_object(doc)
    _check_contexts(body, allowed_contexts)
    _check_type(body)
    if "id" in body and not _is_url(body["id"]):
        raise CredentialError("schema", "id must be a URL", path="id")
    issuer_id(body)
    _check_subject(body)
    if "credentialStatus" in body:
        for path, entry in _objects(body["credentialStatus"], "credentialStatus"):
            _check_status_entry(entry, path)
    valid_from, valid_until = validity_window(body)
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise CredentialError(
            "validity",
            f"validFrom {body['validFrom']} is after validUntil {body['validUntil']}",
            path="validUntil",
        )


def check_validity(doc: object, at: datetime) -> None:
    """Refuse (step ``validity``) a credential that is not yet valid or expired at ``at``."""
    if at.tzinfo is None:
        raise ValueError("check_validity needs a timezone-aware instant")
    valid_from, valid_until = validity_window(doc)
    when = at.isoformat()
    if valid_from is not None and at < valid_from:
        raise CredentialError(
            "validity",
            f"not yet valid: validFrom {valid_from.isoformat()}, checked at {when}",
            path="validFrom",
        )
    if valid_until is not None and at > valid_until:
        raise CredentialError(
            "validity",
            f"expired: validUntil {valid_until.isoformat()}, checked at {when}",
            path="validUntil",
        )
