"""``/statistics`` of any node's web port: its registries as JSON or OpenMetrics.

Rules: ``?t=json`` (also the answer without ``t``) is Tahoe's shape,
``{"counters": {...}, "stats": {...}}``; ``?t=openmetrics`` is the
OpenMetrics 1.0 text with its own content type; any other ``t`` is a 400
with one line of text. The registries are rendered in the order given.
"""

from collections.abc import Sequence

from twisted.web.resource import Resource
from twisted.web.server import Request

from grid.metrics import MetricsError, MetricsRegistry, render_statistics


class StatisticsPage(Resource):
    """``/statistics`` of a node's web port."""

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
