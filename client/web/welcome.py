"""The welcome page ``/``: which introducers and storage servers this node knows.

Rules: ``?t=json`` answers in Tahoe 1.20's shape (``introducers.statuses``
and one entry per server with ``nodeid``, ``connection_status``,
``available_space``, ``nickname``, ``version``, ``last_received_data``);
otherwise a small HTML page. Every value shown to people is escaped.
"""

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker
from introducer.client import IntroducerClient

STORAGE_V1 = b"http://allmydata.org/tahoe/protocols/storage/v1"


def welcome_json(
    introducers: Sequence[IntroducerClient], servers: Sequence[StorageServerConnection]
) -> dict[str, Any]:
    """The welcome page's facts, in Tahoe's ``/?t=json`` shape."""
    return {
        "introducers": {"statuses": [client.status().summary for client in introducers]},
        "servers": [_server_json(server) for server in servers],
    }


def _server_json(server: StorageServerConnection) -> dict[str, Any]:
    status = server.status()
    version = server.version.get(b"application-version") if server.version else None
    return {
        "nodeid": server.description.server_id,
        "connection_status": status.summary,
        "available_space": server.available_space if status.connected else None,
        "nickname": server.description.nickname,
        "version": version.decode("utf-8", "replace") if isinstance(version, bytes) else None,
        "last_received_data": status.last_response_at,
    }


class WelcomePage(Resource):
    """``/`` of the web gateway."""

    def __init__(
        self, introducers: Callable[[], Sequence[IntroducerClient]], broker: StorageBroker
    ) -> None:
        """Describe the node's introducers and the servers its broker knows."""
        super().__init__()
        self._introducers = introducers
        self._broker = broker

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        """Answer with HTML, or JSON for ``?t=json``."""
        facts = welcome_json(self._introducers(), self._broker.servers())
        if request.args.get(b"t") == [b"json"]:
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return (json.dumps(facts, indent=1) + "\n").encode("utf-8")
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return _welcome_html(facts).encode("utf-8")


def _welcome_html(facts: dict[str, Any]) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(server[key]))}</td>"
            for key in ("nickname", "nodeid", "connection_status", "available_space", "version")
        )
        + "</tr>"
        for server in facts["servers"]
    )
    introducers = "".join(
        f"<li>{html.escape(status)}</li>" for status in facts["introducers"]["statuses"]
    )
    connected = sum(1 for server in facts["servers"] if server["available_space"] is not None)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>grid</title></head><body>"
        f"<h1>grid client</h1><h2>Introducers</h2><ul>{introducers or '<li>none</li>'}</ul>"
        f"<h2>Storage servers ({connected} of {len(facts['servers'])} connected)</h2>"
        "<table><tr><th>nickname</th><th>node id</th><th>connection</th>"
        "<th>available space</th><th>version</th></tr>"
        f"{rows}</table></body></html>\n"
    )
