"""Finding other participants' keys: a fixed list, registry clients, and the layered cache."""

from __future__ import annotations

from iesnode.registry.client import RegistryApi, RegistryClient
from iesnode.registry.layered import DirectoryStats, LayeredDirectory
from iesnode.registry.static import StaticDirectory

__all__ = [
    "DirectoryStats",
    "LayeredDirectory",
    "RegistryApi",
    "RegistryClient",
    "StaticDirectory",
]
