"""``/statistics`` of the web gateway: the node's counters and gauges, as JSON or OpenMetrics.

Rules: ``?t=json`` (also the answer without ``t``) is Tahoe's shape,
``{"counters": {...}, "stats": {...}}``; ``?t=openmetrics`` is the
OpenMetrics 1.0 text with its own content type; any other ``t`` is a 400.
The page renders the registries it is given, in order (a node that also
stores shares passes the storage server's registry too), plus the
broker's gauges: servers known and servers connected now.
"""

from client.storage_broker import StorageBroker
from grid.metrics import MetricsRegistry
from grid.metrics_web import StatisticsPage


def broker_metrics(broker: StorageBroker) -> MetricsRegistry:
    """The broker's gauges: ``storage_broker.known_servers`` and ``.connected_servers``."""
    registry = MetricsRegistry()
    registry.gauge(
        "storage_broker.known_servers",
        "Storage servers this client knows of.",
        lambda: len(broker.servers()),
    )
    registry.gauge(
        "storage_broker.connected_servers",
        "Storage servers this client is connected to now.",
        lambda: len(broker.connected_servers()),
    )
    return registry


def client_statistics(
    files: MetricsRegistry, broker: StorageBroker, *others: MetricsRegistry
) -> StatisticsPage:
    """The gateway's statistics page: file transfers, the broker, then ``others``."""
    return StatisticsPage([files, broker_metrics(broker), *others])
