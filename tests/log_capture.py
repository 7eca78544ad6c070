"""Capturing structlog events in tests, at every level.

``structlog.testing.capture_logs`` swaps the processors but keeps the configured wrapper
class, and ``iesnode.log.configure_logging`` installs a level-filtering one: after a test
that ran a CLI command in process (``iesnode demo p2p`` filters at ERROR), warnings would
never reach the capture. :func:`all_logs` lifts the filter for its duration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from structlog.testing import capture_logs
from structlog.typing import EventDict

__all__ = ["all_logs"]


@contextmanager
def all_logs() -> Iterator[list[EventDict]]:
    """Every structlog event logged inside the block, whatever level was configured before."""
    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=wrapper)
