"""Every check of a BAP target, in the order they run.

Towards a BAP the suite plays the BPP (and the gateway, for discovery): it asks the
target's trigger for each claimed action and answers it (:mod:`.bap_flow`). The
requests are judged first (:mod:`.checks_bap_request`), then the callbacks the target
had to accept or refuse (:mod:`.checks_bap_callback`; the late callback waits out a
ttl), and last the retry checks (:mod:`.checks_bap_retry`), whose fixed waiting window
is the longest part of a run against a healthy target.
"""

from __future__ import annotations

from iesnode.conformance.checks_bap_callback import callback_checks
from iesnode.conformance.checks_bap_request import request_checks
from iesnode.conformance.checks_bap_retry import retry_checks
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import SuiteCheck

__all__ = ["bap_checks"]


def bap_checks(options: RunOptions) -> list[SuiteCheck]:
    """The checks of a BAP target asked for ``options.actions``."""
    return [*request_checks(options), *callback_checks(options), *retry_checks(options)]
