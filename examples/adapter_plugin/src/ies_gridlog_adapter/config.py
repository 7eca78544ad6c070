"""The ``[adapters.gridlog]`` table: where the GridLog export is and how it spells things.

iesnode validates this model when the node starts (``iesnode.adapters.load_adapter``), so a
wrong field is a start-up ``AdapterConfigError`` whose path names it (``gridlog.energy_unit``),
never a failure in the middle of a callback. Defaults follow the GridLog export format
described in this package's README.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, FilePath

from iesnode.adapters import Direction, Quality

__all__ = ["CHANNELS", "STATUSES", "GridLogConfig"]

CHANNELS: dict[str, Direction] = {"I": "import", "E": "export"}
STATUSES: dict[str, Quality] = {"OK": "actual", "EST": "estimated", "NR": "missing"}


class GridLogConfig(BaseModel):
    """Configuration of :class:`~ies_gridlog_adapter.adapter.GridLogAdapter`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    export: FilePath
    """The JSON-lines file GridLog writes (one interval of one meter per line)."""
    energy_unit: Literal["kWh", "Wh"] = "kWh"
    """Unit of the ``kwh`` field; values become integer Wh (finer than 1 Wh is bad data)."""
    interval_minutes: int = Field(15, gt=0, le=1440)
    """Length of one interval; gaps in the export are reported in slices of this length."""
    utc_offset_minutes: int = Field(330, ge=-1440, le=1440)
    """Offset of timestamps written without one (IST by default)."""
    channels: dict[str, Direction] = Field(default_factory=lambda: dict(CHANNELS))
    """GridLog channel code -> seam direction."""
    statuses: dict[str, Quality] = Field(default_factory=lambda: dict(STATUSES))
    """GridLog status code -> seam quality (``NR``: not read, the value is ignored)."""
