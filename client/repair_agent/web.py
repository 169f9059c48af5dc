"""The agent's small web port: ``/durability`` and ``/statistics``.

Rules: ``/durability?t=json`` (also without ``t``) is
:func:`~client.repair_agent.report.durability_json` of the state on disk;
``/statistics?t=openmetrics`` is the agent's counters and the broker's
gauges followed by the per-file durability gauges; ``/statistics?t=json``
(also without ``t``) is Tahoe's ``{"counters", "stats"}`` shape with the
durability totals added under ``stats`` as ``repair_agent.files…``. Any
other ``t``, or an unreadable state file, is a plain-text error (400, 500).
"""

import json
from collections.abc import Sequence

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.repair_agent.errors import StateFileError
from client.repair_agent.report import durability_json, durability_totals, render_agent_openmetrics
from client.repair_agent.store import StateStore
from grid.metrics import (
    JSON_CONTENT_TYPE,
    OPENMETRICS_CONTENT_TYPE,
    MetricsRegistry,
    statistics_json,
)

_TEXT = b"text/plain; charset=utf-8"


def _output(request: Request) -> str:
    values: list[bytes] = request.args.get(b"t") or [b""]
    return values[0].decode("utf-8", "replace")


def _error(request: Request, code: int, message: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", _TEXT)  # type: ignore[no-untyped-call]
    return f"{message}\n".encode()


class DurabilityPage(Resource):
    """``/durability``: what the agent knows of each file."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, store: StateStore) -> None:
        """Report the state in ``store``."""
        super().__init__()  # type: ignore[no-untyped-call]
        self._store = store

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  twisted.web's name
        """The durability report as JSON."""
        if _output(request) not in {"", "json"}:
            return _error(request, 400, "use t=json")
        try:
            state = self._store.load()
        except StateFileError as error:
            return _error(request, 500, str(error))
        request.setHeader(b"content-type", JSON_CONTENT_TYPE.encode("ascii"))  # type: ignore[no-untyped-call]
        return json.dumps(durability_json(state), indent=1).encode("utf-8")


class AgentStatisticsPage(Resource):
    """``/statistics``: counters, and durability gauges per file and in total."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, store: StateStore, registries: Sequence[MetricsRegistry]) -> None:
        """Report ``registries`` and the state in ``store``."""
        super().__init__()  # type: ignore[no-untyped-call]
        self._store = store
        self._registries = tuple(registries)

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  twisted.web's name
        """The statistics as Tahoe's JSON or as OpenMetrics text."""
        output = _output(request)
        if output not in {"", "json", "openmetrics"}:
            return _error(request, 400, f"unknown statistics output t={output!r}")
        try:
            state = self._store.load()
        except StateFileError as error:
            return _error(request, 500, str(error))
        if output == "openmetrics":
            request.setHeader(b"content-type", OPENMETRICS_CONTENT_TYPE.encode("ascii"))  # type: ignore[no-untyped-call]
            return render_agent_openmetrics(state, self._registries)
        data = statistics_json(self._registries)
        for name, count in durability_totals(state).items():
            data["stats"][f"repair_agent.files.{name}"] = count
        request.setHeader(b"content-type", JSON_CONTENT_TYPE.encode("ascii"))  # type: ignore[no-untyped-call]
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")


def agent_site_root(store: StateStore, registries: Sequence[MetricsRegistry]) -> Resource:
    """The web root: ``durability`` and ``statistics``."""
    root = Resource()  # type: ignore[no-untyped-call]
    root.putChild(b"durability", DurabilityPage(store))
    root.putChild(b"statistics", AgentStatisticsPage(store, registries))
    return root
