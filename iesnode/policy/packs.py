"""Policy packs: load, verify, sign, build and test a versioned Rego pack (issue 5, "Policy packs").

A pack is a directory or a ``.tar.gz`` holding ``manifest.json``, ``intent.md``,
``policy/*.rego``, ``data/*.json``, ``tests/*_test.rego`` and an optional
``signature.json`` (layout: the shared contract of issue 5; OPA bundle conventions per
``trust-layer.md`` section 4.3). Loading reads every file into memory (archives are
never extracted to disk), verifies the intent checksum, then the signature: Ed25519
over the *pack digest*, the SHA-256 of the listing ``"<sha256 hex>  <path>\\n"`` of
every file but ``signature.json``, sorted by path. Compilation happens once per pack.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from nacl.exceptions import BadSignatureError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from iesnode.policy.engine import CompiledPolicy, compile_policy
from iesnode.policy.errors import PolicyError
from iesnode.policy.syntax import RuleAnnotation, rule_annotations
from iesnode.protocol.signing import load_signing_key, load_verify_key

__all__ = [
    "SIGNATURE_FILE",
    "IntentRef",
    "PackManifest",
    "PolicyPack",
    "TestReport",
    "TestResult",
    "build",
    "pack_digest",
    "sign",
]

SIGNATURE_FILE = "signature.json"
MAX_FILES = 512
MAX_BYTES = 16 * 1024 * 1024
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_WHOLE_INPUT_WITH = re.compile(r"\bwith\s+input\s+as\b")


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


def _invalid(reason: str) -> PolicyError:
    return PolicyError("POL_PACK_INVALID", reason)


def _safe_name(name: str) -> str:
    """Return the normalised relative path, or raise for absolute, ``..`` or odd names."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise _invalid(f"unsafe path in pack: {name!r}")
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if not parts or ".." in parts:
        raise _invalid(f"unsafe path in pack: {name!r}")
    return "/".join(parts)


def _add(files: dict[str, bytes], name: str, data: bytes) -> None:
    name = _safe_name(name)
    if name in files:
        raise _invalid(f"{name} appears twice in the pack")
    files[name] = data
    if len(files) > MAX_FILES or sum(map(len, files.values())) > MAX_BYTES:
        raise _invalid(f"pack exceeds {MAX_FILES} files or {MAX_BYTES} bytes")


def _read_dir(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise _invalid(f"links are not allowed in a pack: {path.relative_to(root)}")
        if path.is_file():
            _add(files, path.relative_to(root).as_posix(), path.read_bytes())
    return files


def _read_tar(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                name = _safe_name(member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise _invalid(f"only regular files are allowed in a pack: {name}")
                if member.size > MAX_BYTES:
                    raise _invalid(f"{name} is larger than {MAX_BYTES} bytes")
                extracted = archive.extractfile(member)
                assert extracted is not None  # a regular file always has content
                _add(files, name, extracted.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _invalid(f"cannot read pack archive {path.name}: {exc}") from exc
    tops = {name.split("/", 1)[0] for name in files}
    if (
        "manifest.json" not in files
        and len(tops) == 1
        and f"{next(iter(tops))}/manifest.json" in files
    ):
        top = next(iter(tops))
        files = {name[len(top) + 1 :]: data for name, data in files.items()}
    return files


def _read(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return _read_dir(path)
    if path.is_file():
        return _read_tar(path)
    raise _invalid(f"no policy pack at {path}")


def pack_digest(files: Mapping[str, bytes]) -> str:
    """Return the hex SHA-256 of the sorted ``"<sha256>  <path>"`` listing (no signature file)."""
    listing = "".join(
        f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n"
        for name in sorted(files)
        if name != SIGNATURE_FILE
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _check_manifest(files: Mapping[str, bytes], where: Path) -> PackManifest:
    """Validate ``manifest.json`` and the intent document's checksum."""
    if "manifest.json" not in files:
        raise _invalid(f"{where} has no manifest.json")
    try:
        manifest = PackManifest.model_validate_json(files["manifest.json"])
    except ValidationError as exc:
        raise _invalid(f"manifest.json is invalid: {exc}") from exc
    intent = files.get(manifest.intent.path)
    if intent is None or hashlib.sha256(intent).hexdigest() != manifest.intent.sha256:
        raise PolicyError(
            "POL_PACK_CHECKSUM",
            f"{manifest.intent.path} is missing or does not match manifest intent.sha256",
            path=manifest.intent.path,
        )
    return manifest


def _verify_signature(
    files: Mapping[str, bytes], trusted_keys: Mapping[str, str] | None, required: bool
) -> str | None:
    """Check ``signature.json``; return the signing key id when the signature was verified."""
    raw = files.get(SIGNATURE_FILE)
    if raw is None:
        if required:
            raise PolicyError("POL_PACK_SIGNATURE", "pack is unsigned but a signature is required")
        return None
    try:
        sig = json.loads(raw)
        key_id, algorithm, digest, value = (
            sig["key_id"],
            sig["algorithm"],
            sig["digest"],
            sig["signature"],
        )
        signature = base64.b64decode(value, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PolicyError("POL_PACK_SIGNATURE", f"{SIGNATURE_FILE} is malformed: {exc}") from exc
    if algorithm != "ed25519":
        raise PolicyError("POL_PACK_SIGNATURE", f"unsupported signature algorithm {algorithm!r}")
    actual = pack_digest(files)
    if digest != actual:
        raise PolicyError(
            "POL_PACK_SIGNATURE",
            f"pack content changed since it was signed: digest {actual} != signed {digest}",
        )
    if trusted_keys is None and not required:
        return None  # integrity checked; trust needs configured keys
    public = (trusted_keys or {}).get(key_id)
    if public is None:
        raise PolicyError("POL_PACK_SIGNATURE", f"pack signed by unknown key {key_id!r}")
    try:
        load_verify_key(public).verify(bytes.fromhex(actual), signature)
    except (BadSignatureError, ValueError) as exc:
        raise PolicyError("POL_PACK_SIGNATURE", f"signature by {key_id!r} does not verify") from exc
    return str(key_id)


@dataclass(frozen=True, slots=True)
class TestResult:
    """One Rego ``test_*`` rule and whether it evaluated to true."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TestReport:
    """The outcome of a pack's Rego tests; ``passed`` needs at least one test."""

    __test__ = False  # not a pytest test class

    pack_id: str
    revision: int
    results: tuple[TestResult, ...]

    @property
    def passed(self) -> bool:
        """True when there are tests and every one passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[TestResult, ...]:
        """The tests that did not pass."""
        return tuple(r for r in self.results if not r.passed)


class PolicyPack:
    """A verified pack held in memory; compiled lazily, once."""

    def __init__(
        self, files: Mapping[str, bytes], manifest: PackManifest, *, signed_by: str | None
    ) -> None:
        self.files = dict(files)
        self.manifest = manifest
        self.signed_by = signed_by
        self.digest = pack_digest(files)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        trusted_keys: Mapping[str, str] | None = None,
        require_signature: bool = False,
    ) -> PolicyPack:
        """Read and verify a pack directory or ``.tar.gz``: manifest, intent checksum, signature."""
        files = _read(Path(path))
        manifest = _check_manifest(files, Path(path))
        signed_by = _verify_signature(files, trusted_keys, require_signature)
        return cls(files, manifest, signed_by=signed_by)

    @property
    def id(self) -> str:
        """The pack id of the manifest."""
        return self.manifest.id

    @property
    def revision(self) -> int:
        """The manifest revision (grows with every change)."""
        return self.manifest.revision

    def _texts(self, folder: str) -> dict[str, str]:
        return {
            name: self.files[name].decode("utf-8")
            for name in sorted(self.files)
            if name.startswith(folder + "/") and name.endswith(".rego")
        }

    @cached_property
    def modules(self) -> dict[str, str]:
        """The policy modules (``policy/**.rego``) by file name."""
        return self._texts("policy")

    @cached_property
    def test_modules(self) -> dict[str, str]:
        """The test modules (``tests/**.rego``) by file name."""
        return self._texts("tests")

    @cached_property
    def data(self) -> dict[str, Any]:
        """``data/<stem>.json`` merged under ``data.<stem>``."""
        data: dict[str, Any] = {}
        for name in sorted(self.files):
            if name.startswith("data/") and name.endswith(".json") and name.count("/") == 1:
                try:
                    data[PurePosixPath(name).stem] = json.loads(self.files[name])
                except ValueError as exc:
                    raise _invalid(f"{name} is not valid JSON: {exc}") from exc
        return data

    @cached_property
    def annotations(self) -> dict[str, tuple[RuleAnnotation, ...]]:
        """The ``# METADATA`` annotations of each policy module's rules, by module name."""
        return {name: tuple(rule_annotations(src)) for name, src in self.modules.items()}

    @cached_property
    def compiled(self) -> CompiledPolicy:
        """The pack compiled once for its manifest entrypoints."""
        return compile_policy(self.modules, self.data, list(self.manifest.entrypoints.values()))

    def evaluate(self, name: str, input: Mapping[str, Any]) -> Any:
        """Evaluate the manifest entrypoint ``name`` on ``input``."""
        path = self.manifest.entrypoints.get(name)
        if path is None:
            raise PolicyError("POL_RUNTIME", f"pack {self.id} has no entrypoint {name!r}")
        return self.compiled.evaluate(path, input)

    def is_effective(self, at: datetime) -> bool:
        """True when ``at`` lies in the manifest's effective window."""
        until = self.manifest.effective_until
        return self.manifest.effective_from <= at and (until is None or at < until)

    def run_tests(self) -> TestReport:
        """Evaluate every ``test_*`` rule of the test modules with the pack's modules and data."""
        paths: dict[str, str] = {}
        for name, src in self.test_modules.items():
            if _WHOLE_INPUT_WITH.search(src):  # aborts regopy 1.5.2: use `with input.x as`
                raise PolicyError("POL_COMPILE", f"{name}: `with input as` is not supported")
            package = _PACKAGE.search(src)
            if package is None:
                raise PolicyError("POL_SYNTAX", f"{name} has no package")
            for rule in dict.fromkeys(_TEST_RULE.findall(src)):
                paths[f"{package.group(1)}.{rule}"] = f"{package.group(1).replace('.', '/')}/{rule}"
        compiled = compile_policy(
            {**self.modules, **self.test_modules}, self.data, list(paths.values())
        )
        results = []
        for test, path in paths.items():
            try:
                value = compiled.evaluate(path, {})
            except PolicyError as exc:
                results.append(TestResult(test, False, f"{exc.code}: {exc.reason}"))
                continue
            detail = "" if value is True else f"evaluated to {json.dumps(value)}"
            results.append(TestResult(test, value is True, detail))
        return TestReport(self.id, self.revision, tuple(results))


def build(path: Path, out: Path) -> Path:
    """Verify the pack at ``path``; write it to ``out`` as a deterministic tar.gz."""
    pack = PolicyPack.load(path)
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in sorted(pack.files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(pack.files[name]), 0o644, 0
            archive.addfile(info, io.BytesIO(pack.files[name]))
    out.write_bytes(raw.getvalue())
    return out


def sign(path: Path, private_key_b64: str, key_id: str) -> dict[str, str]:
    """Sign the pack directory ``path`` and write its ``signature.json``; return that document."""
    if not Path(path).is_dir():
        raise _invalid(f"only a pack directory can be signed: {path}")
    files = _read_dir(Path(path))
    files.pop(SIGNATURE_FILE, None)
    _check_manifest(files, Path(path))  # never sign a pack that would not load
    digest = pack_digest(files)
    signature = load_signing_key(private_key_b64).sign(bytes.fromhex(digest)).signature
    doc = {
        "key_id": key_id,
        "algorithm": "ed25519",
        "digest": digest,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    (Path(path) / SIGNATURE_FILE).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    return doc
