"""Find every identifier in an IES JSON document and check it with the identity toolkit.

What counts as an identifier (IES MeterData v0.6 ``Identifier`` and the IES identifier
patterns, ``research/energy-domain.md`` section 3):

* an object with string ``scheme`` and ``value`` (an ``Identifier``; its ``namespace``
  too), wherever it sits;
* any string starting with ``did:`` (a DID or DID URL such as ``did:web:x#key-1``);
  did:web DIDs are also matched against the IES patterns, and those that do not follow
  them are listed as deviations (the examples use e.g. ``:meter:`` and ``:customer:``);
* any string starting with ``tel:`` (a holder's RFC 3966 number);
* the legacy-number fields of credentials and profiles (``customerNumber``,
  ``consumerNumber``, ``meterNumber``, ``meterSerial``, ``meterBadge`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from iesnode.identity.did import Did, DidUrl
from iesnode.identity.errors import IdentifierError
from iesnode.identity.identifiers import Identifier, IdentifierScheme
from iesnode.identity.ids import IesDid
from iesnode.identity.tel import TelUri

__all__ = ["LEGACY_FIELDS", "Extraction", "Found", "Problem", "extract_identifiers"]

LEGACY_FIELDS: Mapping[str, IdentifierScheme] = {
    "customerNumber": IdentifierScheme.CONSUMER_NUMBER,
    "consumerNumber": IdentifierScheme.CONSUMER_NUMBER,
    "meterNumber": IdentifierScheme.METER_SERIAL,
    "meterSerial": IdentifierScheme.METER_SERIAL,
    "meterSerialNumber": IdentifierScheme.METER_SERIAL,
    "meterBadge": IdentifierScheme.METER_BADGE,
    "meterBadgeNumber": IdentifierScheme.METER_BADGE,
    "mRID": IdentifierScheme.MRID,
    "obisCode": IdentifierScheme.OBIS,
}
"""Plain string fields that hold a legacy identifier, and the scheme of their values."""

_NAME = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$]*")


@dataclass(frozen=True, slots=True)
class Found:
    """One identifier at JSON path ``path``; ``ies_did`` when it is an IES-pattern DID."""

    path: str
    parsed: Identifier | DidUrl | TelUri
    ies_did: IesDid | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """A value at ``path`` that looks like an identifier but does not parse (or deviates)."""

    path: str
    value: str
    reason: str


@dataclass(slots=True)
class Extraction:
    """Everything :func:`extract_identifiers` saw in one document."""

    found: list[Found] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    deviations: list[Problem] = field(default_factory=list)
    """did:web DIDs that parse as DIDs but follow none of the IES patterns."""


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[{key!r}]"


class _Walker:
    def __init__(self) -> None:
        self.out = Extraction()

    def _ies(self, path: str, did: str) -> IesDid | None:
        """The IES reading of a did:web; a bad domain or path raises, other forms deviate."""
        if not did.startswith("did:web:"):
            return None
        parsed = Did.parse(did)
        _ = parsed.web_host, parsed.web_path
        try:
            return IesDid.parse(did)
        except IdentifierError as exc:
            self.out.deviations.append(Problem(path, did, f"{exc.path}: {exc.reason}"))
            return None

    def identifier(self, path: str, node: Mapping[str, object]) -> None:
        fields = {k: node[k] for k in ("scheme", "value", "namespace") if k in node}
        try:
            ident = Identifier.model_validate(fields)
        except ValidationError as exc:
            reason = "; ".join(str(e["msg"]) for e in exc.errors())
            self.out.problems.append(Problem(path, str(node.get("value")), reason))
            return
        did = ident.value if ident.scheme is IdentifierScheme.DID else ""
        try:
            ies = self._ies(path, did) if did else None
        except IdentifierError as exc:
            self.out.problems.append(Problem(path, did, f"{exc.path}: {exc.reason}"))
            return
        self.out.found.append(Found(path, ident, ies))

    def string(self, path: str, value: str) -> None:
        try:
            if value.startswith("did:"):
                url = DidUrl.parse(value)
                self.out.found.append(Found(path, url, self._ies(path, str(url.did))))
            elif value.startswith("tel:"):
                self.out.found.append(Found(path, TelUri.parse(value)))
        except IdentifierError as exc:
            self.out.problems.append(Problem(path, value, f"{exc.path}: {exc.reason}"))

    def legacy(self, path: str, scheme: IdentifierScheme, value: str) -> None:
        try:
            self.out.found.append(Found(path, Identifier(scheme=scheme, value=value)))
        except ValidationError as exc:
            reason = "; ".join(str(e["msg"]) for e in exc.errors())
            self.out.problems.append(Problem(path, value, reason))

    def walk(self, path: str, node: object) -> None:
        if isinstance(node, Mapping):
            is_identifier = isinstance(node.get("scheme"), str) and isinstance(
                node.get("value"), str
            )
            if is_identifier:
                self.identifier(path, node)
            for key, child in node.items():
                sub = _child(path, str(key))
                if is_identifier and key in ("scheme", "value", "namespace"):
                    continue
                if isinstance(child, str) and key in LEGACY_FIELDS:
                    self.legacy(sub, LEGACY_FIELDS[key], child)
                else:
                    self.walk(sub, child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                self.walk(_child(path, index), child)
        elif isinstance(node, str):
            self.string(path, node)


def extract_identifiers(document: object) -> Extraction:
    """Walk a parsed JSON document and return every identifier found, with problems."""
    walker = _Walker()
    walker.walk("$", document)
    return walker.out
