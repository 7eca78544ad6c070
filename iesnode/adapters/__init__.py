"""Legacy-system adapters: the CIS / MDM seam, the adapter registry and the CSV adapter."""

from iesnode.adapters.base import (
    ADP_BAD_DATA,
    ADP_UNAVAILABLE,
    ADP_UNKNOWN_CONSUMER,
    ADP_UNKNOWN_METER,
    AdapterError,
    Consumer,
    CustomerInformation,
    Direction,
    MeterData,
    Quality,
    Reading,
)
from iesnode.adapters.csv_files import CsvAdapter, CsvConfig
from iesnode.adapters.registry import (
    ADAPTERS,
    ENTRY_POINT_GROUP,
    AdapterConfigError,
    available,
    load_adapter,
    register,
)

__all__ = [
    "ADAPTERS",
    "ADP_BAD_DATA",
    "ADP_UNAVAILABLE",
    "ADP_UNKNOWN_CONSUMER",
    "ADP_UNKNOWN_METER",
    "ENTRY_POINT_GROUP",
    "AdapterConfigError",
    "AdapterError",
    "Consumer",
    "CsvAdapter",
    "CsvConfig",
    "CustomerInformation",
    "Direction",
    "MeterData",
    "Quality",
    "Reading",
    "available",
    "load_adapter",
    "register",
]
