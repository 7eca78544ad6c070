"""ies-gridlog-adapter: an iesnode adapter shipped as a package of its own (the example plugin).

iesnode finds it through the entry point this package declares in its ``pyproject.toml``::

    [project.entry-points."iesnode.adapters"]
    gridlog = "ies_gridlog_adapter:ADAPTER"

``ADAPTER`` is the pair iesnode's adapter registry (``iesnode.adapters.registry``) expects:
the pydantic model that validates the ``[adapters.gridlog]`` table of node.toml, and a
factory turning the validated config into the adapter. It is typed as a ``MeterData``
factory, so mypy proves the adapter fits the seam.
"""

from __future__ import annotations

from collections.abc import Callable

from iesnode.adapters import MeterData

from .adapter import GridLogAdapter
from .config import GridLogConfig

__all__ = ["ADAPTER", "GridLogAdapter", "GridLogConfig"]

ADAPTER: tuple[type[GridLogConfig], Callable[[GridLogConfig], MeterData]] = (
    GridLogConfig,
    GridLogAdapter,
)
