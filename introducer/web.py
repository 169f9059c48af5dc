"""The introducer's status page: HTML for people, ``?t=json`` in Tahoe's shape.

Rules: read-only; only GET and HEAD are answered; JSON is
``json.dumps(indent=1)`` plus a newline as ``text/plain``, as Tahoe serves it.
"""

import json
from collections.abc import Callable

from twisted.web.resource import Resource
from twisted.web.server import Request

from introducer.registry import IntroducerRegistry
from introducer.status import status_html, status_json


class IntroducerStatusPage(Resource):
    """``/`` of an introducer's web port."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(
        self, registry: IntroducerRegistry, clock: Callable[[], float], node_id: str
    ) -> None:
        """Describe ``registry``'s state at request time."""
        super().__init__()
        self._registry = registry
        self._clock = clock
        self._node_id = node_id

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        """Answer with the status as HTML, or as JSON for ``?t=json``."""
        status = self._registry.status()
        now = self._clock()
        if request.args.get(b"t") == [b"json"]:
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return (json.dumps(status_json(status, now), indent=1) + "\n").encode("utf-8")
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return status_html(status, now, self._node_id).encode("utf-8")
