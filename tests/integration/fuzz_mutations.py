"""The garbage ``test_inbound_fuzz`` sends: mutations of valid Beckn bodies, and the rest.

:func:`paths` lists every JSON path of a body; :func:`mutate` applies one :data:`Mutation`
there and returns the bytes to sign; :func:`mutations` lists the mutations for a path: the
generic ones (drop; other JSON types; raw ``1e400``, ``NaN``, overlong integers; empty, huge
and odd unicode strings) plus those its field name calls for (timestamps, ttls, actions,
versions, URLs, ids, digests). :func:`garbage_bodies` spoils a whole body,
:func:`signature_headers` an ``Authorization`` value; :data:`ACTION_NAMES`,
:data:`PURPOSES` and :data:`SUBSCRIBE_BODIES` are garbage for the other endpoints.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iesnode.model.envelope import utc_timestamp
from tests.integration.helpers import encode

__all__ = [
    "ACTION_NAMES",
    "DROP",
    "PURPOSES",
    "RAW",
    "SUBSCRIBE_BODIES",
    "Mutation",
    "Path",
    "garbage_bodies",
    "mutate",
    "mutations",
    "paths",
    "signature_headers",
]

Path = tuple[str | int, ...]


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


@dataclass(frozen=True, slots=True)
class RAW:
    """A value written into the body as raw JSON text (``1e400``, which no dict can hold)."""

    text: str


DROP: Any = _Drop()
Mutation = Any
"""A JSON value to put at the path, :data:`DROP` to delete it, or a :class:`RAW` text."""
_PLACEHOLDER = "\u2063raw\u2063"


def paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path in ``doc`` (objects and arrays alike), parents before children."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list) and value:
            yield from paths(value, (*prefix, key))


def mutate(doc: dict[str, Any], path: Path, change: Mutation) -> bytes:
    """The body of ``doc`` with ``change`` applied at ``path``."""
    doc = copy.deepcopy(doc)
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    if change is DROP:
        del parent[path[-1]]
        return encode(doc)
    parent[path[-1]] = _PLACEHOLDER if isinstance(change, RAW) else change
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if isinstance(change, RAW):
        body = body.replace(
            json.dumps(_PLACEHOLDER, ensure_ascii=False).encode(), change.text.encode()
        )
    return body


def _moment(offset: float = 0.0, tail: str = "Z") -> str:
    """Now (+ ``offset`` s) as ``YYYY-MM-DDTHH:MM:SS`` followed by ``tail``."""
    return utc_timestamp(time.time() + offset)[:19] + tail


def _timestamps() -> list[Mutation]:
    return [
        "not a date", "2025-13-01T00:00:00Z", "2025-02-29T10:00:00Z", _moment(tail=""),
        _moment().replace("T", " "), "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", _moment(tail="+23:59"),
        _moment(tail="-23:59"), _moment(tail="+99:00"), _moment()[:17] + "60Z",
        _moment()[:11] + "23:59:60Z", _moment(tail=".Z"), _moment(tail=".12x4Z"),
        _moment(tail="." + "9" * 1000 + "Z"), _moment(tail=".\u0661\u0662Z"),
        "\u0662\u0660\u0662\u0665" + _moment()[4:], RAW(str(int(time.time()))), _moment(-3600),
    ]  # fmt: skip


TTLS: list[Mutation] = [
    "30", "PT", "P", "PT-5S", "-PT30S", "P0D", "PT0S", "P99999999Y", "P" + "9" * 400 + "Y",
    "PT" + "9" * 5000 + "S", "PT1e5S", "PT30.S", "pt30s", "PT\u0661\u0662S", "P1Y2M3W4DT5H6M7.5S",
    "PT0.000001S", "P1W", "PT30S ", RAW("30"), RAW("1e400"),
]  # fmt: skip
ACTIONS: list[Mutation] = ["SELECT", "on_select", "init", "search", "select\u0000", " select"]
VERSIONS: list[Mutation] = ["2", "2.0.0-rc1", "1.1.0", "3.0.0", "0.9.4", "2.\u0660", "v2", "2."]
URIS: list[Mutation] = [
    "ftp://127.0.0.1:9/x", "http://127.0.0.1:99999/", "http://[::1/", "http://%zz/",
    "javascript://alert(1)", "http://127.0.0.1:9/a\u00a0b", "http://u:p@127.0.0.1:9/",
    "HTTP://127.0.0.1:9", "http://127.0.0.1:9/" + "p" * 5000, "http://127.0.0.1:0/",
    "http://127.0.0.1:9/?#", "a://b", "http://127.0.0.1:9/\u0000",
]  # fmt: skip
IDS: list[Mutation] = [" ", "../..", "a|b|ed25519", "*", "%00", "\t", "x" * 300]
AREAS: list[Mutation] = [{"code": ""}, {"code": {"x": 1}}, "std:080", {"name": "Bengaluru"}]
DIGESTS: list[Mutation] = [{"digest": "BLAKE-512=" + "A" * 86 + "=="}, {"digest": "md5=x"}]
GENERIC: list[Mutation] = [
    DROP, None, True, -1, 0, 2.5, RAW("1e400"), RAW("-1e400"), RAW("1" * 400),
    RAW("-" + "9" * 5000), RAW("NaN"), RAW("-Infinity"), "", [], {},
    "x" * 70_000, "\u2600\ufe0f\U0001f31e\U0001f469\u200d\U0001f469\u200d\U0001f467 sun",
    "\u202eevil\u202c \u0645\u0631\u062d\u0628\u0627", "a\u0000b", [[["deep"]]],
]  # fmt: skip
_BY_NAME: dict[str, list[Mutation]] = {
    "action": ACTIONS, "version": VERSIONS, "ttl": TTLS, "requestDigest": DIGESTS,
    "city": AREAS, "country": AREAS, "digest": ["BLAKE-512=", "BLAKE-512=!!", "BLAKE-512=AA="],
}  # fmt: skip
_BY_NAME |= dict.fromkeys(["bapUri", "bppUri", "bap_uri", "bpp_uri"], URIS)
_BY_NAME |= dict.fromkeys(["bapId", "bppId", "transactionId", "messageId", "networkId"], IDS)
_BY_NAME |= dict.fromkeys(["bap_id", "bpp_id", "transaction_id", "message_id", "domain"], IDS)


def mutations(path: Path) -> list[Mutation]:
    """The generic mutations, then those for the field's name (timestamps made now)."""
    name = path[-1]
    special = _timestamps() if name == "timestamp" else _BY_NAME.get(str(name), [])
    return GENERIC + special


def garbage_bodies(valid: bytes) -> dict[str, bytes]:
    """Whole bodies that are no envelope, by name; ``valid`` is a valid body to spoil."""
    text = valid.decode("utf-8")
    return {
        "utf-16-le": text.encode("utf-16-le"), "utf-16 with BOM": text.encode("utf-16"),
        "utf-32-be": text.encode("utf-32-be"), "utf-8 BOM": b"\xef\xbb\xbf" + valid,
        "latin-1": valid.replace(b'"context"', b'"\xe7ontext"', 1), "cut": valid[: len(valid) // 2],
        "trailing": valid + b"]", "twice": valid + valid, "empty": b"", "blank": b" \n",
        "null": b"null", "array": b"[]", "string": b'"x"', "NaN": b"NaN", "1e400": b"1e400",
        "deep": b"[" * 50_000, "deep object": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        "long int": b"9" * 5000, "NUL": b"\x00", "lone surrogate key": b'{"\\udc00": 1}',
        "context array": b'{"context": [], "message": {}}', "single quotes": b"{'a': 1}",
    }  # fmt: skip


def signature_headers(header: str) -> list[str]:
    """Spoilt versions of a valid ``Authorization`` value (over the same body)."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
    out = ["Bearer x", "Signature", "Signature ,,,", " ", header + ",extra=1", header * 3]
    out += [header.replace('",', '" ,  ', 3), f'"{header}"', "Signature " + "a=," * 1500]
    changes = {
        "created": ["0", "-1", "1_7", "\u0661", "9" * 16, "9" * 40, "", "x", "1.5"],
        "expires": ["0", "9" * 15, "9" * 16, "9" * 40, fields["created"], "1e3"],
        "keyId": ["a|b", "a|b|c|d", "||ed25519", fields["keyId"].replace("ed25519", "rsa")],
        "algorithm": ["rsa", "", "ED25519"], "headers": ["(created)", "digest", ""],
        "signature": ["!!", "", "A" * 6000, "AAAA", fields["signature"][::-1]],
    }  # fmt: skip
    for name, values in changes.items():
        out += [header.replace(f'{name}="{fields[name]}"', f'{name}="{v}"') for v in values]
    return out


ACTION_NAMES = [
    "s%C3%A9lect", "%E2%98%80", "a" * 3000, "a" * 8000, "..", "%2e%2e", "%2E%2E%2F%2E%2E",
    "select%00", "%ZZ", "select%2Fx", "SELECT", "select%20", "select;x", "%F0%9F%8C%9E",
    "on_on_select", "%D8%A7", "select%3Fx=1", "select%23x", "~", "%", "%25", "con", "select..",
]  # fmt: skip
PURPOSES = [
    "x", "REVOCATION", "revocation%00", "%2e%2e", "..", "%E2%98%80", "a" * 3000,
    "revocation;x", "%ZZ", "revocation%2F..", "", "%00", "suspension%20", "revocation.json",
]  # fmt: skip
SUBSCRIBE_BODIES = [
    b"", b"null", b"[]", b"{}", b'{"challenge": 1}', b'{"challenge": null}', b'{"challenge": "!!"}',
    b'{"challenge": "AAAA"}', b'{"challenge": "' + b"A" * 22 + b'=="}', b'{"challenge": "\\ud800"}',
    b'{"subscriber_id": [], "challenge": "x"}', b'{"subscriber_id": "x", "challenge": "x"}',
    b'{"challenge": "a\\u0000"}', b"NaN", b"9" * 5000, b"[" * 50_000, b"\xff\xfe",
    b"\xef\xbb\xbf{}",
    b'{"challenge": "' + b"A" * 200_000 + b'"}', b'{"challenge": "' + b"A" * 64 + b'"}',
]  # fmt: skip
