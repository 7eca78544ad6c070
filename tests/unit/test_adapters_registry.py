"""The adapter registry: built-ins, config validation and entry-point discovery."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from iesnode.adapters import ADAPTERS, AdapterConfigError, CsvAdapter, available, load_adapter
from iesnode.adapters import register as register_adapter
from iesnode.adapters.registry import load_configured
from iesnode.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Restore the registry after each test."""
    saved = dict(ADAPTERS)
    yield
    ADAPTERS.clear()
    ADAPTERS.update(saved)


class EchoConfig(BaseModel):
    """A tiny config model."""

    word: str


class Echo:
    """A tiny adapter keeping its config."""

    def __init__(self, config: EchoConfig) -> None:
        self.config = config


def test_csv_is_built_in(tmp_path: Path) -> None:
    """load_adapter("csv", ...) validates the table and builds a CsvAdapter."""
    cis = tmp_path / "cis.csv"
    cis.write_text("consumer_id,connection_id,sanctioned_load,tariff_category,meters\n")
    adapter = load_adapter("csv", {"consumers": {"path": str(cis)}})
    assert isinstance(adapter, CsvAdapter)
    assert "csv" in available()


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    """A bad field is a ConfigError whose path names the adapter and the field."""
    config = {"readings": {"path": "x.csv", "interval_minutes": 15, "value_unit": "MWh"}}
    with pytest.raises(AdapterConfigError) as err:
        load_adapter("csv", config)
    assert isinstance(err.value, ConfigError)
    assert err.value.path == "csv.readings.value_unit"
    with pytest.raises(AdapterConfigError) as err:
        load_adapter("csv", {"consumers": {"path": "c.csv"}, "colour": "red"})
    assert err.value.path == "csv.colour"


def test_two_tables_of_one_adapter(tmp_path: Path) -> None:
    """A table's ``type`` names the adapter, so two CSV sources can sit side by side."""
    cis = tmp_path / "cis.csv"
    cis.write_text("consumer_id,connection_id,sanctioned_load,tariff_category,meters\n")
    first = load_configured("seller_cis", {"type": "csv", "consumers": {"path": str(cis)}})
    second = load_configured("buyer_cis", {"type": "csv", "consumers": {"path": str(cis)}})
    assert isinstance(first, CsvAdapter)
    assert isinstance(second, CsvAdapter)
    assert first is not second


def test_typed_table_errors_name_the_table() -> None:
    """A bad field in ``[adapters.mdm] type = "csv"`` is reported under ``mdm``."""
    config = {"type": "csv", "readings": {"path": "x.csv", "value_unit": "MWh"}}
    with pytest.raises(AdapterConfigError) as err:
        load_configured("mdm", config)
    assert err.value.path == "mdm.readings.value_unit"
    with pytest.raises(AdapterConfigError) as err:
        load_configured("mdm", {"type": 3})
    assert err.value.path == "mdm.type"


def test_unknown_name() -> None:
    """An adapter nobody provides is a config error naming it."""
    with pytest.raises(AdapterConfigError, match="no adapter named 'sap'") as err:
        load_adapter("sap", {})
    assert err.value.path == "sap"


def test_register_in_process() -> None:
    """register() adds a name; the same pair again is fine, a different one is refused."""
    register_adapter("echo", EchoConfig, Echo)
    register_adapter("echo", EchoConfig, Echo)
    adapter = load_adapter("echo", {"word": "hi"})
    assert isinstance(adapter, Echo)
    assert adapter.config.word == "hi"
    with pytest.raises(AdapterConfigError, match="already registered"):
        register_adapter("echo", EchoConfig, lambda c: c)


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed-looking distribution in tmp_path offering four iesnode.adapters entry points."""
    module = f"ies_plugin_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel

            class Config(BaseModel):
                greeting: str

            class Hello:
                def __init__(self, config):
                    self.config = config

            ADAPTER = (Config, Hello)

            def make():
                return ADAPTER

            NOT_A_PAIR = 42
            """
        )
    )
    dist = tmp_path / "ies_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ies-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[iesnode.adapters]\n"
        f"hello = {module}:ADAPTER\n"
        f"hello_fn = {module}:make\n"
        f"broken = {module}:NOT_A_PAIR\n"
        "gone = ies_no_such_module_here:thing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return module


@pytest.mark.parametrize("name", ["hello", "hello_fn"])
def test_entry_point_discovery(plugin_dist: str, name: str) -> None:
    """A pair or a callable returning one is found through the iesnode.adapters group."""
    assert {"hello", "hello_fn", "broken", "gone"} <= set(available())
    adapter = load_adapter(name, {"greeting": "namaste"})
    assert type(adapter).__module__ == plugin_dist
    assert adapter.config.greeting == "namaste"  # type: ignore[attr-defined]
    assert name in ADAPTERS
    with pytest.raises(AdapterConfigError) as err:
        load_adapter(name, {})
    assert err.value.path == f"{name}.greeting"


def test_broken_entry_points(plugin_dist: str) -> None:
    """An entry point that is not a pair, or does not import, is a config error."""
    with pytest.raises(AdapterConfigError, match="pair") as err:
        load_adapter("broken", {})
    assert err.value.path == "broken"
    with pytest.raises(AdapterConfigError, match="cannot load"):
        load_adapter("gone", {})


def test_built_in_wins_over_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party entry point named like a built-in does not replace it."""
    dist = tmp_path / "shadow-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[iesnode.adapters]\ncsv = ies_no_such_module:x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AdapterConfigError) as err:
        load_adapter("csv", {"bogus": 1})
    assert err.value.path == "csv.bogus"
