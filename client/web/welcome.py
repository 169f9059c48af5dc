"""The welcome page ``/``: the servers and introducers this node knows, and where to start.

Rules: ``?t=json`` answers in Tahoe 1.20's shape (``introducers.statuses``
and one entry per server with ``nodeid``, ``connection_status``,
``available_space``, ``nickname``, ``version``, ``last_received_data``);
otherwise an HTML page (:func:`welcome_page`) built from those same facts:
the grid's status, a GET form that opens a cap (``/uri?uri=``) and a button
that creates a directory (``POST /uri?t=mkdir&redirect_to_result=true``).
The page needs no JavaScript and loads nothing; every value shown is
escaped.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.server_connection import StorageServerConnection
from client.storage_broker import StorageBroker
from client.web.ui_headers import set_page_headers
from client.web.ui_page import escape, format_size, render_page
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
        set_page_headers(request)
        return welcome_page(facts)


def _server_row(server: dict[str, Any]) -> str:
    """One storage server as a table row."""
    state = str(server["connection_status"])
    state_class = "state-connected" if server["available_space"] is not None else "state-other"
    space = server["available_space"]
    return (
        f"<tr><td>{escape(str(server['nickname'] or ''))}</td>"
        f"<td><code>{escape(str(server['nodeid']))}</code></td>"
        f'<td class="{state_class}">{escape(state)}</td>'
        f'<td class="number">{format_size(space if isinstance(space, int) else None)}</td>'
        f"<td>{escape(str(server['version'] or ''))}</td></tr>"
    )


def welcome_page(facts: dict[str, Any]) -> bytes:
    """The welcome page's HTML from :func:`welcome_json`'s facts."""
    servers = facts["servers"]
    connected = sum(1 for server in servers if server["available_space"] is not None)
    rows = "".join(_server_row(server) for server in servers)
    table = (
        '<table class="servers"><thead><tr><th>nickname</th><th>node id</th>'
        "<th>connection</th><th>available space</th><th>version</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if servers
        else '<p class="muted">No storage server is known yet.</p>'
    )
    statuses = facts["introducers"]["statuses"]
    introducers = "".join(f"<li>{escape(str(status))}</li>" for status in statuses)
    start = (
        '<section class="box"><h2>Open a file or directory</h2>'
        '<form method="get" action="/uri" class="open-cap">'
        '<label>cap <input type="text" name="uri" required autocomplete="off" '
        'placeholder="URI:DIR2:..."></label> <button>Open</button></form></section>'
        '<section class="box"><h2>Start a new directory</h2>'
        '<form method="post" action="/uri?t=mkdir&amp;redirect_to_result=true" class="mkdir">'
        "<button>Create a directory</button></form>"
        '<p class="muted">Bookmark the new directory\'s page: its address is the only '
        "way back to it.</p></section>"
    )
    body = (
        "<h1>Welcome</h1>"
        + start
        + f"<h2>Storage servers ({connected} of {len(servers)} connected)</h2>"
        + table
        + f"<h2>Introducers</h2><ul>{introducers or '<li>none</li>'}</ul>"
    )
    return render_page("welcome", body)
