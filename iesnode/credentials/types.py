"""The IES credential types and their JSON Schemas: which type a credential is, and whether it fits.

The schemas live in ``protocol_specs/credentials/<Type>-v<version>.json`` (JSON Schema draft
2020-12, written by us from the published IES field lists; the folder's README names them):
ElectricityCredential v1.2 (bearer and holder-bound energy passport), MeterDataCredential v0.6,
MeterDataRequestCredential v0.1, and our ConsentCredential and ProgramEnrollmentCredential
v0.1. Each describes the whole W3C VC Data Model 2.0 credential (section 4, "Basic Concepts":
envelope plus the typed ``credentialSubject``).

A credential's type comes from its ``type`` list (VC 2.0 section 4.5, "Types"); its version from
the family context URL in ``@context`` (``.../ElectricityCredential/v1.2/context.jsonld``) or a
``credentialSchema`` id, else the newest version we have. A credential of a type or version we
have no schema for is not checked here unless the caller asks for ``strict``. The schema step of
the verifier chain reports the most relevant error as a :class:`CredentialError` with a dotted
path and a plain sentence, worded as the Beckn schema errors are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from iesnode.credentials.errors import CredentialError
from iesnode.errors import ConfigError
from iesnode.protocol.schema import _missing_property, _sentence, dotted_path

__all__ = ["CredentialTypes"]

log = structlog.get_logger(__name__)

_SCHEMA_FILE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)-v(?P<version>\d+(?:\.\d+)*)\.json$")
_BASE_TYPE = "VerifiableCredential"
_RULE_RANK = {"type": 0, "required": 1, "enum": 2, "const": 2}


def _default_root() -> Path:
    """``protocol_specs/credentials/`` of the source checkout the package runs from."""
    return Path(__file__).resolve().parents[2] / "protocol_specs" / "credentials"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _hint_pattern(name: str) -> re.Pattern[str]:
    """A URL segment naming the type and a version: ``/MeterDataCredential/v0.6/``.

    OpenCred's kebab-case schema ids (``ies/meter-data-credential/v0.6``) count too.
    """
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    names = f"{re.escape(name)}|{re.escape(kebab)}"
    return re.compile(rf"(?:^|[/:])(?:{names})/v?(\d+(?:\.\d+)*)(?=$|[/#?]|\.json)")


def _hints(credential: Mapping[str, Any]) -> list[str]:
    """The strings that may name a version: context URLs, then credentialSchema ids."""
    found: list[str] = []
    contexts = credential.get("@context")
    for item in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(item, str):
            found.append(item)
    schemas = credential.get("credentialSchema")
    for item in schemas if isinstance(schemas, list) else [schemas]:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            found.append(item["id"])
    return found


class CredentialTypes:
    """The compiled schema of every credential type and version we know."""

    def __init__(self, validators: Mapping[str, Draft202012Validator]) -> None:
        self._validators = dict(validators)
        versions: dict[str, list[str]] = {}
        for key in sorted(self._validators):
            name, _, version = key.rpartition("-v")
            versions.setdefault(name, []).append(version)
        self._versions = {
            name: sorted(found, key=_version_key, reverse=True) for name, found in versions.items()
        }
        self._patterns = {name: _hint_pattern(name) for name in self._versions}

    @classmethod
    def load(cls, root: Path | None = None) -> CredentialTypes:
        """Read and compile every ``<Type>-v<version>.json`` under ``root``."""
        root = (root or _default_root()).resolve()
        docs = {p: json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*.json"))}
        resources: list[tuple[str, Resource[Any]]] = [
            (path.as_uri(), DRAFT202012.create_resource(doc)) for path, doc in docs.items()
        ]
        registry: Registry[Any] = Registry().with_resources(resources)
        validators: dict[str, Draft202012Validator] = {}
        for path, doc in docs.items():
            try:
                Draft202012Validator.check_schema(doc)
                _resolve_refs(registry, path.as_uri(), doc)
            except (SchemaError, Unresolvable) as exc:
                raise ConfigError(f"cannot compile {path}: {exc}") from exc
            match = _SCHEMA_FILE.match(path.name)
            if match is not None:  # not a shared building block such as common.json
                key = f"{match['name']}-v{match['version']}"
                validators[key] = Draft202012Validator({"$ref": path.as_uri()}, registry=registry)
        if not validators:
            raise ConfigError(f"no credential schemas under {root}")
        return cls(validators)

    def names(self) -> frozenset[str]:
        """Every known ``<Type>-v<version>`` key, e.g. ``ElectricityCredential-v1.2``."""
        return frozenset(self._validators)

    def type_of(self, credential: object) -> str | None:
        """The ``<Type>-v<version>`` key of the schema this credential must fit, if we have one."""
        if not isinstance(credential, Mapping):
            return None
        declared = credential.get("type")
        types = [declared] if isinstance(declared, str) else declared
        if not isinstance(types, list):
            return None
        names = [t for t in types if isinstance(t, str) and t != _BASE_TYPE and t in self._versions]
        if not names:
            return None
        name = names[0]
        for hint in _hints(credential):
            match = self._patterns[name].search(hint)
            if match is not None:
                version = match.group(1)
                return f"{name}-v{version}" if version in self._versions[name] else None
        return f"{name}-v{self._versions[name][0]}"

    def validate(self, credential: object, *, strict: bool = False) -> None:
        """Check the credential against its type's schema; raise ``CredentialError`` if not.

        A credential of a type (or version) without a schema passes unless ``strict``.
        """
        key = self.type_of(credential)
        if key is None:
            if strict:
                raise CredentialError(
                    "schema",
                    "the credential is not of a type or version we have a schema for",
                    path="type",
                )
            return
        try:
            errors = list(self._validators[key].iter_errors(credential))
        except RecursionError:
            raise CredentialError(
                "schema", f"the credential is nested too deeply to check as {key}", path="$"
            ) from None
        if not errors:
            return
        path, reason = _best(errors)
        log.info("credential_schema_refused", credential_type=key, path=path)
        raise CredentialError("schema", reason, path=path)


def _resolve_refs(registry: Registry[Any], uri: str, doc: object) -> None:
    """Look up every ``$ref`` in one file, so a dangling one fails at load, not mid-verification."""
    resolver = registry.resolver(uri)
    pending: list[object] = [doc]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolver.lookup(node["$ref"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _best(errors: list[ValidationError]) -> tuple[str, str]:
    """The one error to report: the shallowest, then by rule, path and wording."""
    ranked: list[tuple[int, int, str, str]] = []
    for error in errors:
        parts: list[str | int] = list(error.absolute_path)
        if error.validator == "required":
            parts.append(_missing_property(error))
        path = dotted_path(parts)
        sentence = _sentence(path, error).replace("the body", "the credential", 1)
        ranked.append((len(parts), _RULE_RANK.get(str(error.validator), 3), path, sentence))
    _, _, path, sentence = min(ranked)
    return path, sentence
