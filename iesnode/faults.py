"""Fault injection for crash tests: **test-only**, a no-op unless ``IES_FAULT`` is set.

Crash tests need a process to die at one exact step (e.g. after the seller DISCOM's
ledger acknowledged a trade, before the buyer hears ``on_confirm``), the way a power cut
or an OOM kill would end it: no ``finally`` blocks, no flushed buffers, no goodbye to
Redis. Code marks such steps with :func:`crash_point`; a test starts the process with ::

    IES_FAULT=p2p.after_ledger_write@/tmp/run-42/crashed

and the process calls ``os._exit(FAULT_EXIT)`` the first time it reaches the point named
before the ``@``. The file after the ``@`` is the once-only marker: the crash creates it
(atomically, ``O_EXCL``), and a point whose marker already exists does nothing, so the
restarted process (same environment, same configuration) runs through. Without a marker
the process crashes every time it reaches the point (a crash loop).

An operator never sets this by accident: nothing reads the variable except
:func:`crash_point`, the value must name an exact point, and every crash is logged first.
Points in the code base: ``p2p.before_ledger_write`` and ``p2p.after_ledger_write``
(:mod:`iesnode.usecases.p2p.platform`).
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

__all__ = ["ENV", "FAULT_EXIT", "crash_point"]

log = structlog.get_logger(__name__)

ENV = "IES_FAULT"
"""The environment variable naming the point to crash at: ``<point>[@<marker file>]``."""
FAULT_EXIT = 86
"""The exit status of an injected crash (distinct from signals and ordinary errors)."""


def crash_point(name: str) -> None:
    """End the process at once if ``IES_FAULT`` names this point (once per marker file)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, marker = spec.partition("@")
    if point != name:
        return
    if marker:
        try:
            fd = os.open(Path(marker), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return  # crashed here before: run through this time
        os.close(fd)
    log.warning("injected_crash", point=name)
    os._exit(FAULT_EXIT)
