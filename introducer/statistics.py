"""The introducer's statistics: what it knows now, for ``/statistics``.

Rules: gauges read the registry when the page is rendered:
``introducer.announcements`` (current announcements),
``introducer.announcing_hosts`` (distinct nodes announcing) and
``introducer.subscriptions`` (current subscriptions); nothing is counted on
the hot path.
"""

from grid.metrics import MetricsRegistry
from introducer.registry import IntroducerRegistry


def introducer_metrics(registry: IntroducerRegistry) -> MetricsRegistry:
    """The gauges of ``registry``'s current state."""
    metrics = MetricsRegistry()
    metrics.gauge(
        "introducer.announcements",
        "Announcements the introducer holds now.",
        lambda: len(registry.status().announcements),
    )
    metrics.gauge(
        "introducer.announcing_hosts",
        "Distinct nodes with a current announcement.",
        lambda: len({entry.server_id for entry in registry.status().announcements}),
    )
    metrics.gauge(
        "introducer.subscriptions",
        "Subscriptions the introducer serves now.",
        lambda: len(registry.status().subscriptions),
    )
    return metrics
