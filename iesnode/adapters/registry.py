"""Adapters by name: the built-in ones and third-party ones found through entry points.

A name maps to ``(ConfigModel, factory)``: the pydantic model that validates the adapter's
table from the settings file and a callable turning the validated config into the adapter.
A package ships an adapter by declaring, in its ``pyproject.toml``::

    [project.entry-points."iesnode.adapters"]
    sap_cis = "my_pkg.adapter:ADAPTER"       # a (ConfigModel, factory) pair,
    # or a zero-argument callable returning that pair

Built-in names win over entry points; an entry point is loaded only when its name is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from iesnode.adapters.csv_config import CsvConfig
from iesnode.adapters.csv_files import CsvAdapter
from iesnode.adapters.http_api import HttpApiAdapter, HttpApiConfig
from iesnode.adapters.sql import SqlAdapter, SqlConfig
from iesnode.errors import ConfigError

__all__ = [
    "ADAPTERS",
    "ENTRY_POINT_GROUP",
    "AdapterConfigError",
    "AdapterFactory",
    "AdapterSpec",
    "available",
    "load_adapter",
    "load_configured",
    "register",
]

log = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "iesnode.adapters"

AdapterFactory = Callable[[Any], object]
AdapterSpec = tuple[type[BaseModel], AdapterFactory]

ADAPTERS: dict[str, AdapterSpec] = {}


class AdapterConfigError(ConfigError):
    """An adapter name or its configuration is invalid; ``path`` names the field."""

    def __init__(self, reason: str, *, path: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason
        self.path = path


def register(name: str, config_model: type[BaseModel], factory: AdapterFactory) -> None:
    """Make ``name`` available; registering a different pair under a taken name is refused."""
    known = ADAPTERS.get(name)
    if known is not None and known != (config_model, factory):
        raise AdapterConfigError(f"adapter {name!r} is already registered", path=name)
    ADAPTERS[name] = (config_model, factory)


def _entry_point(name: str) -> EntryPoint | None:
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name == name:
            return point
    return None


def _as_spec(name: str, loaded: object) -> AdapterSpec:
    spec = loaded() if callable(loaded) and not isinstance(loaded, tuple) else loaded
    if (
        isinstance(spec, tuple)
        and len(spec) == 2
        and isinstance(spec[0], type)
        and issubclass(spec[0], BaseModel)
        and callable(spec[1])
    ):
        return spec[0], spec[1]
    raise AdapterConfigError(
        "entry point must give a (pydantic ConfigModel, factory) pair", path=name
    )


def _discover(name: str) -> AdapterSpec | None:
    point = _entry_point(name)
    if point is None:
        return None
    try:
        loaded = point.load()
    except Exception as exc:  # any import failure of a plugin is a start-up config error
        raise AdapterConfigError(f"cannot load {point.value!r}: {exc}", path=name) from exc
    spec = _as_spec(name, loaded)
    log.info("adapter.discovered", adapter=name, entry_point=point.value)
    ADAPTERS[name] = spec
    return spec


def available() -> list[str]:
    """Every adapter name: registered ones and those offered by installed entry points."""
    names = set(ADAPTERS) | {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def load_adapter(name: str, config: Mapping[str, Any]) -> object:
    """Validate ``config`` with the adapter's model and build the adapter.

    Raises :class:`AdapterConfigError` (a :class:`ConfigError`) for an unknown name or a
    bad field, with ``path`` like ``csv.readings.value_unit``. Errors the factory raises
    (e.g. an ``AdapterError`` for an unreadable file) pass through unchanged.
    """
    spec = ADAPTERS.get(name) or _discover(name)
    if spec is None:
        raise AdapterConfigError(f"no adapter named {name!r} (known: {available()})", path=name)
    model, factory = spec
    try:
        validated = model.model_validate(dict(config))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise AdapterConfigError(str(first["msg"]), path=f"{name}{where}") from exc
    adapter = factory(validated)
    log.info("adapter.loaded", adapter=name, kind=type(adapter).__name__)
    return adapter


def load_configured(table: str, config: Mapping[str, Any]) -> object:
    """The adapter of one ``[adapters.TABLE]`` settings table.

    The table's ``type`` key names the adapter (so one node can have two CSV sources,
    ``[adapters.cis] type = "csv"`` and ``[adapters.mdm] type = "csv"``); without it the
    table's own name does. Error paths name the table.
    """
    options = dict(config)
    kind = options.pop("type", table)
    if not isinstance(kind, str):
        raise AdapterConfigError("type must be an adapter name", path=f"{table}.type")
    try:
        return load_adapter(kind, options)
    except AdapterConfigError as exc:
        if kind == table:
            raise
        where = exc.path[len(kind) :] if exc.path.startswith(kind) else f".{exc.path}"
        raise AdapterConfigError(exc.reason, path=f"{table}{where}") from exc


register("csv", CsvConfig, CsvAdapter)
register("sql", SqlConfig, SqlAdapter)
register("http", HttpApiConfig, HttpApiAdapter)
