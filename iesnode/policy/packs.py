"""Policy packs: load, verify, sign, build and test a versioned Rego pack (issue 5, "Policy packs").

A pack is a directory or a ``.tar.gz`` holding ``manifest.json``, ``intent.md``,
``policy/*.rego``, ``data/*.json``, ``tests/*_test.rego`` and an optional
``signature.json`` (layout: the shared contract of issue 5; OPA bundle conventions per
``trust-layer.md`` section 4.3). Loading reads every file into memory (archives are
never extracted to disk), verifies the intent checksum, then the signature: Ed25519
over the *pack digest*, the SHA-256 of the listing ``"<sha256 hex>  <path>\\n"`` of
every file but ``signature.json``, sorted by path. Compilation happens once per pack.

This module holds :class:`PolicyPack` (and its test report) and :func:`build`; reading the
files and the digest are in :mod:`iesnode.policy.pack_files`, the manifest in
:mod:`iesnode.policy.pack_manifest`, signing and verification in
:mod:`iesnode.policy.pack_signing`. The names of those modules that this one has always
offered are re-exported here.
"""

from __future__ import annotations

import gzip
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

from iesnode.policy.engine import CompiledPolicy, compile_policy
from iesnode.policy.errors import PolicyError
from iesnode.policy.pack_files import SIGNATURE_FILE, invalid, pack_digest, read_pack
from iesnode.policy.pack_manifest import IntentRef, PackManifest, check_manifest
from iesnode.policy.pack_signing import sign, verify_signature
from iesnode.policy.syntax import RuleAnnotation, rule_annotations

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

_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_WHOLE_INPUT_WITH = re.compile(r"\bwith\s+input\s+as\b")


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
        files = read_pack(Path(path))
        manifest = check_manifest(files, Path(path))
        signed_by = verify_signature(files, trusted_keys, require_signature)
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
                    raise invalid(f"{name} is not valid JSON: {exc}") from exc
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
