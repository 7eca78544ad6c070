"""A third-party adapter package found through the ``iesnode.adapters`` entry-point group.

The example package ``examples/adapter_plugin`` is really built and installed (pip, with the
``hatchling`` backend of the dev environment, no network) into a temporary directory, never
into the shared environment; each check runs in a fresh interpreter with that directory on
``PYTHONPATH``, so discovery goes through the installed distribution's metadata.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from iesnode.testing import generate_signing_key

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "adapter_plugin"
SAMPLE = PLUGIN / "sample" / "gridlog-export.jsonl"

IMPORTS = """
import asyncio, json, sys
from datetime import datetime
from pathlib import Path
from iesnode.adapters import AdapterConfigError, MeterData, available, load_adapter
from iesnode.errors import BusinessError, ConfigError
HOUR = (
    datetime.fromisoformat("2025-06-01T10:00:00+05:30"),
    datetime.fromisoformat("2025-06-01T11:00:00+05:30"),
)
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the example plugin as pip installs it (code + dist-info)."""
    site = tmp_path_factory.mktemp("plugin-site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(PLUGIN),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"pip could not install the example plugin:\n{done.stderr}"
    return site


def run_with_plugin(site: Path, script: str, *args: str, **env: str) -> Any:
    """Run ``script`` in a new interpreter that sees the installed plugin; its last line as JSON."""
    environ = {**os.environ, **env, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS + textwrap.dedent(script), *args],
        cwd=site.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_installed_plugin_is_found_by_name_and_reads_through_the_seam(plugin_site: Path) -> None:
    """available() lists the entry point; load_adapter builds it; readings come back as Wh."""
    out = run_with_plugin(
        plugin_site,
        """
        names = available()
        adapter = load_adapter("gridlog", {"export": sys.argv[1]})
        series = {
            way: [
                [r.start.isoformat(), r.end.isoformat(), r.wh, r.quality]
                for r in asyncio.run(adapter.readings("GL-100234", *HOUR, direction=way))
            ]
            for way in ("import", "export")
        }
        print(json.dumps({
            "available": names,
            "module": sys.modules[type(adapter).__module__].__file__,
            "meter_data": isinstance(adapter, MeterData),
            "series": series,
        }))
        """,
        str(SAMPLE),
    )
    assert "gridlog" in out["available"]
    assert Path(out["module"]).is_relative_to(plugin_site)
    assert out["meter_data"] is True
    t = [f"2025-06-01T{hm}:00+05:30" for hm in ("10:00", "10:15", "10:30", "10:45", "11:00")]
    assert out["series"]["import"] == [
        [t[0], t[1], 250, "actual"],
        [t[1], t[2], 310, "estimated"],
        [t[2], t[3], None, "missing"],
        [t[3], t[4], None, "missing"],
    ]
    assert out["series"]["export"] == [
        [t[0], t[1], 1125, "actual"],
        [t[1], t[2], 1200, "actual"],
        [t[2], t[3], None, "missing"],
        [t[3], t[4], None, "missing"],
    ]


def test_node_settings_table_selects_the_plugin(plugin_site: Path, tmp_path: Path) -> None:
    """An [adapters.gridlog] table in node.toml (path from IES_*) builds the plugin's adapter."""
    key, _ = generate_signing_key()
    config = tmp_path / "node.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [node]
            subscriber_id = "bpp.gridlog.example"
            key_id = "k1"
            signing_private_key = "{key}"
            roles = ["bpp"]

            [adapters.gridlog]
            energy_unit = "kWh"
            interval_minutes = 15
            """
        )
    )
    out = run_with_plugin(
        plugin_site,
        """
        from iesnode.node import build
        from iesnode.settings import load_settings
        node = build(load_settings(Path(sys.argv[1])))
        adapter = node.adapters["gridlog"]
        names = sorted(node.adapters)
        print(json.dumps([names, type(adapter).__name__, str(adapter.config.export)]))
        """,
        str(config),
        IES_ADAPTERS__GRIDLOG__EXPORT=str(SAMPLE),
    )
    assert out == [["gridlog"], "GridLogAdapter", str(SAMPLE)]


def test_bad_plugin_config_is_a_config_error_naming_the_field(
    plugin_site: Path, tmp_path: Path
) -> None:
    """The plugin's own model validates its table; the error path is gridlog.<field>."""
    sample = str(SAMPLE)
    configs = [
        {"export": sample, "energy_unit": "MWh"},
        {"export": str(tmp_path / "absent.jsonl")},
        {"export": sample, "interval_minutes": 0},
        {"export": sample, "channels": {"I": "sideways"}},
        {"export": sample, "colour": "red"},
        {},
    ]
    out = run_with_plugin(
        plugin_site,
        """
        found = []
        for config in json.loads(sys.argv[1]):
            try:
                load_adapter("gridlog", config)
            except AdapterConfigError as exc:
                found.append([exc.path, isinstance(exc, ConfigError)])
            else:
                found.append(None)
        print(json.dumps(found))
        """,
        json.dumps(configs),
    )
    assert out == [
        ["gridlog.energy_unit", True],
        ["gridlog.export", True],
        ["gridlog.interval_minutes", True],
        ["gridlog.channels.I", True],
        ["gridlog.colour", True],
        ["gridlog.export", True],
    ]


def test_plugin_failures_are_specific_adapter_errors(plugin_site: Path, tmp_path: Path) -> None:
    """Unknown meter, a malformed line and a vanished export each give their AdapterError."""
    line = {"meter": "GL-1", "start": "2025-06-01T10:00:00", "channel": "I", "status": "OK"}
    good = json.dumps({**line, "kwh": "0.1"})
    bad = json.dumps({**line, "start": "2025-06-01T10:15:00", "kwh": "0.0005"})
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text(f"{good}\n{bad}\n")
    vanishing = tmp_path / "vanishing.jsonl"
    vanishing.write_text(f"{good}\n")
    out = run_with_plugin(
        plugin_site,
        """
        sample, corrupt, vanishing = sys.argv[1:]
        def attempt(export, meter, before=lambda: None):
            adapter = load_adapter("gridlog", {"export": export})
            before()
            try:
                asyncio.run(adapter.readings(meter, *HOUR))
            except BusinessError as exc:
                return [exc.code, exc.path, exc.legacy_code]
            return None
        print(json.dumps([
            attempt(sample, "GL-999999"),
            attempt(corrupt, "GL-1"),
            attempt(vanishing, "GL-1", before=Path(vanishing).unlink),
        ]))
        """,
        str(SAMPLE),
        str(corrupt),
        str(vanishing),
    )
    assert out == [
        ["ADP_UNKNOWN_METER", "meter", "30004"],
        ["ADP_BAD_DATA", "corrupt.jsonl:2:kwh", "31001"],
        ["ADP_UNAVAILABLE", "export", "31002"],
    ]
