"""Policy decisions per second on the compiled path.

``python -m bench.policy [--seconds 3]``: one process pinned to CPU 0. Rows:

* the P2P trading network pack on a realistic P2P ``init`` (the node's decision input,
  built by ``tests.unit.test_pack_p2p_trading.valid_init_input``): ``evaluate`` +
  ``violations`` on the pack compiled once (``PolicyPack.compiled``);
* the same plus the decision record (input digest, ``Decision.new``, in-memory log), which
  is what the node does per message;
* the DISCOM contract pack's ``violations`` and ``revenue_flows`` on the settled contract of
  ``tests.unit.test_reference_packs``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iesnode.log import configure_logging
from iesnode.policy.decisions import Decision, DecisionLog
from iesnode.policy.engine import violations
from iesnode.policy.packs import PolicyPack
from tests.unit.test_pack_p2p_trading import valid_init_input
from tests.unit.test_reference_packs import contract_message, decision_input

PACKS = Path(__file__).resolve().parents[1] / "iesnode" / "policy" / "packs"


def _rate(work: Callable[[], Any], seconds: float) -> tuple[float, float, float]:
    """(median per-second rate over 5 rounds, median µs per call, fastest single call in µs).

    The fastest call is the steadiest figure on a shared machine: other processes only
    ever make a call slower.
    """
    work()
    rates, fastest = [], float("inf")
    for _ in range(5):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            begun = time.perf_counter()
            work()
            fastest = min(fastest, time.perf_counter() - begun)
            count += 1
        rates.append(count / (time.perf_counter() - started))
    rate = statistics.median(rates)
    return rate, 1e6 / rate, fastest * 1e6


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    p2p = PolicyPack.load(PACKS / "p2p-trading-network")
    discom = PolicyPack.load(PACKS / "discom-contract")
    p2p_input = valid_init_input(time.time_ns())
    contract_input = decision_input("confirm", contract_message())
    log = DecisionLog()

    def p2p_decide() -> None:
        assert violations(p2p.evaluate("network", p2p_input)) == []

    def p2p_recorded() -> None:
        found = violations(p2p.evaluate("network", p2p_input))
        decision = Decision.new(
            pack_id=p2p.id, revision=p2p.revision, entrypoint="network",
            input=p2p_input, violations=found, at=time.time(),
        )  # fmt: skip
        asyncio.run(log.record(decision))

    def discom_violations() -> None:
        violations(discom.evaluate("violations", contract_input))

    def discom_flows() -> None:
        flows = discom.evaluate("revenue_flows", contract_input)
        assert sum(f["amount_paise"] for f in flows) == 0

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(
        f"CPU {cpu} ({os.cpu_count()} cores), Python {platform.python_version()}, pinned to CPU 0"
    )
    print(f"{'decision':58} {'per second':>12} {'ms each':>9} {'fastest ms':>11}")
    for name, work in (
        ("P2P network pack, realistic init (compiled)", p2p_decide),
        ("  + decision record (digest, log)", p2p_recorded),
        ("DISCOM contract pack, violations", discom_violations),
        ("DISCOM contract pack, revenue_flows (sum checked)", discom_flows),
    ):
        rate, micros, fastest = _rate(work, args.seconds)
        print(f"{name:58} {rate:>12,.1f} {micros / 1000:>9.2f} {fastest / 1000:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
