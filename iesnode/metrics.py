"""Prometheus metrics of one node (``DESIGN.md`` section 5, observability).

Each node owns its own ``CollectorRegistry`` (no process-global state), so several
nodes in one process (the demo, the tests) keep separate numbers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["NodeMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _LookupStats(Collector):
    """Exposes the directory's cache counters (read at scrape time)."""

    def __init__(self, stats: object) -> None:
        self._stats = stats

    def collect(self):  # type: ignore[no-untyped-def]  # prometheus_client's untyped hook
        family = CounterMetricFamily(
            "iesnode_lookup", "Subscriber lookups by where they were answered", labels=["layer"]
        )
        for name in (
            "memory_hits",
            "shared_hits",
            "negative_hits",
            "upstream_lookups",
            "forced_refreshes",
        ):
            family.add_metric([name], float(getattr(self._stats, name, 0)))
        yield family


class NodeMetrics:
    """Counters and histograms for requests, signatures, lookups, callbacks and fan-out."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "iesnode_requests",
            "Inbound messages by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "iesnode_signature_failures",
            "Rejected signatures by reason code",
            ["reason"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "iesnode_ack_seconds",
            "Time from request received to ACK/NACK written",
            ["action"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.callbacks = Counter(
            "iesnode_callbacks",
            "Callback deliveries by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.callback_attempts = Counter(
            "iesnode_callback_attempts",
            "Delivery attempts, retries included",
            ["action"],
            registry=self.registry,
        )
        self.callback_latency = Histogram(
            "iesnode_callback_seconds",
            "Time from callback created to delivered",
            ["action"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fanout = Counter(
            "iesnode_fanout",
            "Gateway forwards by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def watch_lookups(self, stats: object) -> None:
        """Export a directory's ``stats`` counters."""
        self.registry.register(_LookupStats(stats))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
