"""Per-utility legacy-ID mapping: declarative rules between local identifiers and references.

IES keeps legacy numbers verbatim and gives each entity a common reference (usually an
IES did:web, ``research/energy-domain.md`` section 3: CIS consumer numbers, meter badge
numbers, feeder codes, DEG ``der://meter/<id>`` addresses, UMIDs). A utility states
once, in TOML or JSON, how its numbers map::

    utility = "discom.example"
    [vars]
    domain = "ies.discom.example"

    [[rules]]
    name = "cis-consumer"
    scheme = "CONSUMER_NUMBER"
    local = '0*(?P<no>[0-9]{6,12})'                     # full match, named groups
    reference = "did:web:{domain}:consumers:{no}"       # {group} or {var}
    local_template = "{no}"                             # the way back (optional)

    [[pairs]]                                           # one-off exceptions
    local = "OLD-77"
    reference = "did:web:ies.discom.example:consumers:77"

Group values are percent-encoded when the reference is a DID (and decoded on the way
back). When several rules or pairs give different answers the mapping is refused with
:class:`MappingConflict`; nothing is picked silently.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iesnode.identity.did import Did
from iesnode.identity.errors import IdentifierError, MappingConflict, MappingRuleError, NoMapping
from iesnode.identity.identifiers import IdentifierScheme
from iesnode.identity.percent import decode_part, encode_part

__all__ = ["LegacyIdMap", "MappingFile", "MappingRule", "PairSpec", "RuleSpec"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RuleSpec(BaseModel):
    """One rule as written in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    scheme: IdentifierScheme = IdentifierScheme.OTHER
    local: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    local_template: str | None = None


class PairSpec(BaseModel):
    """One explicit ``local`` <-> ``reference`` pair (for numbers no rule describes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    local: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    scheme: IdentifierScheme = IdentifierScheme.OTHER


class MappingFile(BaseModel):
    """A utility's mapping file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    utility: str = Field(min_length=1)
    vars: dict[str, str] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(default_factory=list)
    pairs: list[PairSpec] = Field(default_factory=list)


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True, slots=True)
class MappingRule:
    """A compiled rule: ``local`` regex -> ``reference`` template, and back when reversible."""

    name: str
    scheme: IdentifierScheme
    local: re.Pattern[str]
    reference: str
    reverse: re.Pattern[str]
    local_template: str | None
    encode: bool

    @classmethod
    def compile(cls, spec: RuleSpec, variables: Mapping[str, str], where: str) -> MappingRule:
        """Check ``spec`` against its variables and groups; build the reverse pattern."""
        try:
            local = re.compile(spec.local)
        except re.error as exc:
            raise MappingRuleError(f"bad regex: {exc}", path=f"{where}.local") from exc
        groups = set(local.groupindex)
        reference = cls._substitute(spec.reference, variables, groups, f"{where}.reference")
        used = set(_PLACEHOLDER.findall(reference))
        template = spec.local_template
        if template is not None:
            template = cls._substitute(template, variables, used, f"{where}.local_template")
        encode = reference.startswith("did:")
        pattern, seen = "", set[str]()
        for literal, name in cls._pieces(reference):
            pattern += re.escape(literal)
            if name is not None:
                part = "[^:]+" if encode else ".+?"
                pattern += f"(?P={name})" if name in seen else f"(?P<{name}>{part})"
                seen.add(name)
        return cls(spec.name, spec.scheme, local, reference, re.compile(pattern), template, encode)

    @staticmethod
    def _substitute(
        template: str, variables: Mapping[str, str], groups: set[str], where: str
    ) -> str:
        for name in _PLACEHOLDER.findall(template):
            if name not in variables and name not in groups:
                raise MappingRuleError(f"{{{name}}} is neither a group nor a var", path=where)
        rest = _PLACEHOLDER.sub("", template)
        if "{" in rest or "}" in rest:
            raise MappingRuleError("stray brace", path=where)
        return _PLACEHOLDER.sub(
            lambda m: variables[m.group(1)] if m.group(1) in variables else m.group(0), template
        )

    @staticmethod
    def _pieces(template: str) -> Iterator[tuple[str, str | None]]:
        start = 0
        for match in _PLACEHOLDER.finditer(template):
            yield template[start : match.start()], match.group(1)
            start = match.end()
        yield template[start:], None

    def forward(self, local: str) -> str | None:
        """The reference for ``local``, or None when the rule does not match it."""
        match = self.local.fullmatch(local)
        if match is None:
            return None
        values = {k: v or "" for k, v in match.groupdict().items()}
        if self.encode:
            values = {k: encode_part(v) for k, v in values.items()}
        reference = _fill(self.reference, values)
        if self.encode:
            Did.parse(reference)  # an empty group gives an IdentifierError
        return reference

    def back(self, reference: str) -> str | None:
        """The local identifier for ``reference``, or None when the rule cannot give it."""
        match = self.reverse.fullmatch(reference)
        if match is None or self.local_template is None:
            return None
        values = match.groupdict()
        if self.encode:
            try:
                values = {k: decode_part(v, whole=reference, path=k) for k, v in values.items()}
            except IdentifierError:
                return None
        local = _fill(self.local_template, values)
        try:
            round_trip = self.forward(local)
        except IdentifierError:
            return None
        return local if round_trip == reference else None


class LegacyIdMap:
    """A utility's rules and pairs; answers ``map_forward`` / ``map_back`` or says why not."""

    def __init__(self, spec: MappingFile) -> None:
        self.utility = spec.utility
        self.rules = [
            MappingRule.compile(rule, spec.vars, f"rules[{i}]") for i, rule in enumerate(spec.rules)
        ]
        names = [rule.name for rule in self.rules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise MappingRuleError(f"duplicate rule name {name!r}", path=f"rules[{i}].name")
        self.pairs = list(spec.pairs)
        self._check_pairs()

    def _check_pairs(self) -> None:
        by_local: dict[tuple[IdentifierScheme, str], int] = {}
        by_reference: dict[tuple[IdentifierScheme, str], int] = {}
        for i, pair in enumerate(self.pairs):
            for index, key, what in (
                (by_local, (pair.scheme, pair.local), "local"),
                (by_reference, (pair.scheme, pair.reference), "reference"),
            ):
                if key in index:
                    raise MappingRuleError(
                        f"same {what} as pairs[{index[key]}]: {key[1]!r}", path=f"pairs[{i}]"
                    )
                index[key] = i

    @classmethod
    def load(cls, path: Path) -> LegacyIdMap:
        """Load a ``.toml`` or ``.json`` mapping file."""
        text = path.read_text(encoding="utf-8")
        try:
            data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise MappingRuleError(f"cannot read: {exc}", path=str(path)) from exc
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> LegacyIdMap:
        """Build from an already-parsed mapping document."""
        try:
            return cls(MappingFile.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
            raise MappingRuleError(str(first["msg"]), path=where.lstrip(".")) from exc

    def forward_candidates(
        self, local: str, scheme: IdentifierScheme | None = None
    ) -> list[tuple[str, str]]:
        """Every ``(rule or pair, reference)`` that ``local`` maps to."""
        return self._forward(local, scheme)[0]

    def _forward(
        self, local: str, scheme: IdentifierScheme | None
    ) -> tuple[list[tuple[str, str]], list[str]]:
        found: list[tuple[str, str]] = []
        failures: list[str] = []
        for rule in self.rules:
            if scheme is None or rule.scheme is scheme:
                try:
                    reference = rule.forward(local)
                except IdentifierError as exc:
                    failures.append(f"rule {rule.name} matched but gave a bad DID ({exc.reason})")
                    continue
                if reference is not None:
                    found.append((rule.name, reference))
        for i, pair in enumerate(self.pairs):
            if pair.local == local and (scheme is None or pair.scheme is scheme):
                found.append((f"pairs[{i}]", pair.reference))
        return found, failures

    def back_candidates(
        self, reference: str, scheme: IdentifierScheme | None = None
    ) -> list[tuple[str, str]]:
        """Every ``(rule or pair, local)`` that maps to ``reference``."""
        found: list[tuple[str, str]] = []
        for rule in self.rules:
            if scheme is None or rule.scheme is scheme:
                local = rule.back(reference)
                if local is not None:
                    found.append((rule.name, local))
        for i, pair in enumerate(self.pairs):
            if pair.reference == reference and (scheme is None or pair.scheme is scheme):
                found.append((f"pairs[{i}]", pair.local))
        return found

    def map_forward(self, local: str, *, scheme: IdentifierScheme | None = None) -> str:
        """The one reference of ``local``; :class:`NoMapping` or :class:`MappingConflict`."""
        found, failures = self._forward(local, scheme)
        return _one(local, found, "; ".join(failures) or "no rule or pair matches")

    def map_back(self, reference: str, *, scheme: IdentifierScheme | None = None) -> str:
        """The one local identifier of ``reference`` (narrow by ``scheme`` when several apply)."""
        candidates = self.back_candidates(reference, scheme)
        return _one(reference, candidates, "no reversible rule or pair gives it")


def _one(value: str, candidates: list[tuple[str, str]], why_none: str) -> str:
    distinct = {target for _, target in candidates}
    if not distinct:
        raise NoMapping(value, why_none)
    if len(distinct) > 1:
        raise MappingConflict(value, candidates)
    return distinct.pop()
