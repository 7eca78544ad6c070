"""The files of a policy pack: reading a directory or ``.tar.gz`` safely, and the pack digest.

A pack is a directory or a ``.tar.gz`` holding ``manifest.json``, ``intent.md``,
``policy/*.rego``, ``data/*.json``, ``tests/*_test.rego`` and an optional
``signature.json`` (layout: the shared contract of issue 5; OPA bundle conventions per
``trust-layer.md`` section 4.3). Reading puts every file into memory (archives are never
extracted to disk) under a normalised relative name; absolute names, ``..``, links and
anything but regular files are refused, as are packs over :data:`MAX_FILES` files or
:data:`MAX_BYTES` bytes. The *pack digest* is the SHA-256 of the listing
``"<sha256 hex>  <path>\\n"`` of every file but ``signature.json``, sorted by path.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from iesnode.policy.errors import PolicyError

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "SIGNATURE_FILE",
    "invalid",
    "pack_digest",
    "read_pack",
    "read_pack_dir",
]

SIGNATURE_FILE = "signature.json"
MAX_FILES = 512
MAX_BYTES = 16 * 1024 * 1024


def invalid(reason: str) -> PolicyError:
    """A ``POL_PACK_INVALID`` error for ``reason``."""
    return PolicyError("POL_PACK_INVALID", reason)


def _safe_name(name: str) -> str:
    """Return the normalised relative path, or raise for absolute, ``..`` or odd names."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise invalid(f"unsafe path in pack: {name!r}")
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if not parts or ".." in parts:
        raise invalid(f"unsafe path in pack: {name!r}")
    return "/".join(parts)


def _add(files: dict[str, bytes], name: str, data: bytes) -> None:
    name = _safe_name(name)
    if name in files:
        raise invalid(f"{name} appears twice in the pack")
    files[name] = data
    if len(files) > MAX_FILES or sum(map(len, files.values())) > MAX_BYTES:
        raise invalid(f"pack exceeds {MAX_FILES} files or {MAX_BYTES} bytes")


def read_pack_dir(root: Path) -> dict[str, bytes]:
    """Every file under the pack directory ``root`` by relative name; links are refused."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise invalid(f"links are not allowed in a pack: {path.relative_to(root)}")
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
                    raise invalid(f"only regular files are allowed in a pack: {name}")
                if member.size > MAX_BYTES:
                    raise invalid(f"{name} is larger than {MAX_BYTES} bytes")
                extracted = archive.extractfile(member)
                assert extracted is not None  # a regular file always has content
                _add(files, name, extracted.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise invalid(f"cannot read pack archive {path.name}: {exc}") from exc
    tops = {name.split("/", 1)[0] for name in files}
    if (
        "manifest.json" not in files
        and len(tops) == 1
        and f"{next(iter(tops))}/manifest.json" in files
    ):
        top = next(iter(tops))
        files = {name[len(top) + 1 :]: data for name, data in files.items()}
    return files


def read_pack(path: Path) -> dict[str, bytes]:
    """Every file of the pack directory or ``.tar.gz`` at ``path``, held in memory."""
    if path.is_dir():
        return read_pack_dir(path)
    if path.is_file():
        return _read_tar(path)
    raise invalid(f"no policy pack at {path}")


def pack_digest(files: Mapping[str, bytes]) -> str:
    """Return the hex SHA-256 of the sorted ``"<sha256>  <path>"`` listing (no signature file)."""
    listing = "".join(
        f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n"
        for name in sorted(files)
        if name != SIGNATURE_FILE
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()
