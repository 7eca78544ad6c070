"""structlog set-up: JSON lines in production, readable lines on a terminal.

Request context (transaction/message/subscriber ids, action) is bound per request by
the HTTP middleware through ``structlog.contextvars``. Nothing here ever logs keys.
"""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at the time of the call (it may be swapped)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger(*_: object) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(*, json: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog once for the process; ``json`` defaults to "not a terminal"."""
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
