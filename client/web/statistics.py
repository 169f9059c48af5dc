"""``/statistics`` of the web gateway: the node's counters and gauges, as JSON or OpenMetrics.

Rules: ``?t=json`` (also the answer without ``t``) is Tahoe's shape,
``{"counters": {...}, "stats": {...}}``; ``?t=openmetrics`` is the
OpenMetrics 1.0 text with its own content type; any other ``t`` is a 400.
The page renders the registries it is given, in order (a node that also
stores shares passes the storage server's registry too), plus the
broker's gauges: servers known and servers connected now.
"""

from collections.abc import Sequence

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.storage_broker import StorageBroker
from grid.metrics import MetricsError, MetricsRegistry, render_statistics


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


class StatisticsPage(Resource):
    """``/statistics`` of the web gateway."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, registries: Sequence[MetricsRegistry]) -> None:
        """Serve the statistics of ``registries`` (their names must not overlap)."""
        super().__init__()
        self._registries = tuple(registries)

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  twisted.web's name
        """Render the statistics in the requested form."""
        output = (request.args.get(b"t") or [b""])[0].decode("utf-8", "replace")
        try:
            rendered = render_statistics(self._registries, output)
        except MetricsError as error:
            request.setResponseCode(400)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return f"{error}\n".encode()
        request.setHeader(b"content-type", rendered.content_type.encode("ascii"))
        return rendered.body


def client_statistics(
    files: MetricsRegistry, broker: StorageBroker, *others: MetricsRegistry
) -> StatisticsPage:
    """The gateway's statistics page: file transfers, the broker, then ``others``."""
    return StatisticsPage([files, broker_metrics(broker), *others])
