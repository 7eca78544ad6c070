"""The ``manifest.json`` of a policy pack and its check against the intent document (issue 5).

The manifest follows the shared contract of issue 5: pack id, semantic version, a revision
that grows with every change, jurisdiction, effective window, approver, the intent
document (path, URL and SHA-256) and the named entrypoints (slash-separated rule paths).
A pack loads only when its intent document is present and matches ``intent.sha256``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from iesnode.policy.errors import PolicyError
from iesnode.policy.pack_files import invalid

__all__ = ["IntentRef", "PackManifest", "check_manifest"]

_SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"
_ID = r"[a-z0-9][a-z0-9._-]{0,99}"


class IntentRef(BaseModel):
    """``manifest.intent``: where the human-readable intent is and its SHA-256."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(default="intent.md", pattern=r"^[\w.-]+(/[\w.-]+)*$")
    url: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PackManifest(BaseModel):
    """``manifest.json`` of a pack (the shared contract of issue 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=f"^{_ID}$")
    version: str = Field(pattern=f"^{_SEMVER}$")
    revision: int = Field(ge=0)
    jurisdiction: str = Field(min_length=1)
    effective_from: AwareDatetime
    effective_until: AwareDatetime | None = None
    supersedes: str | None = Field(default=None, pattern=f"^{_ID}@{_SEMVER}$")
    approved_by: str = Field(min_length=1)
    description: str | None = None
    intent: IntentRef
    entrypoints: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> PackManifest:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        for name, path in self.entrypoints.items():
            if not re.fullmatch(r"[A-Za-z_]\w*(/[A-Za-z_]\w*)+", path):
                raise ValueError(
                    f"entrypoint {name!r}: {path!r} is not a slash-separated rule path"
                )
        return self


def check_manifest(files: Mapping[str, bytes], where: Path) -> PackManifest:
    """Validate ``manifest.json`` and the intent document's checksum."""
    if "manifest.json" not in files:
        raise invalid(f"{where} has no manifest.json")
    try:
        manifest = PackManifest.model_validate_json(files["manifest.json"])
    except ValidationError as exc:
        raise invalid(f"manifest.json is invalid: {exc}") from exc
    intent = files.get(manifest.intent.path)
    if intent is None or hashlib.sha256(intent).hexdigest() != manifest.intent.sha256:
        raise PolicyError(
            "POL_PACK_CHECKSUM",
            f"{manifest.intent.path} is missing or does not match manifest intent.sha256",
            path=manifest.intent.path,
        )
    return manifest
