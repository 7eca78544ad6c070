"""Every check of a BPP target, in the order they run.

Flows first (they also warm the target's key cache), then the requests the target
must refuse, then gateway forwarding, and last the retry checks, whose fixed waiting
window is the longest part of a run against a healthy target. The themes live in
:mod:`.checks_flow`, :mod:`.checks_signature`, :mod:`.checks_input`,
:mod:`.checks_gateway` and :mod:`.checks_retry`.
"""

from __future__ import annotations

from iesnode.conformance.checks_flow import flow_checks
from iesnode.conformance.checks_gateway import gateway_checks
from iesnode.conformance.checks_input import input_checks
from iesnode.conformance.checks_retry import retry_checks
from iesnode.conformance.checks_signature import signature_checks
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import SuiteCheck

__all__ = ["bpp_checks"]


def bpp_checks(options: RunOptions) -> list[SuiteCheck]:
    """The checks of a BPP target claiming ``options.actions``."""
    return [
        *flow_checks(options),
        *signature_checks(options),
        *input_checks(options),
        *gateway_checks(options),
        *retry_checks(options),
    ]
