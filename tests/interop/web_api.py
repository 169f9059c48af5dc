"""Reading a node's web API on loopback: pages, JSON, and what a client says of its servers.

Rules: every request goes to an ``http://127.0.0.1:PORT/`` URL the harness
built, with a timeout; nothing here retries (callers poll with
:func:`~tests.interop.tahoe_nodes.wait_for`). Both Tahoe's client and ours
answer ``GET /?t=json`` with one entry per known server carrying ``nodeid``,
``connection_status`` and ``version``; Tahoe writes "Connected to ..." and
we write "connected", so a status counts as connected when it starts with
that word in either case.
"""

import json
import urllib.request
from typing import Any

WEB_TIMEOUT = 10.0


def fetch_text(url: str) -> str:
    """``GET url`` on loopback, as text."""
    with urllib.request.urlopen(url, timeout=WEB_TIMEOUT) as response:  # noqa: S310  loopback URL
        text: str = response.read().decode("utf-8")
    return text


def fetch_json(url: str) -> Any:
    """``GET url?t=json`` on loopback, parsed."""
    return json.loads(fetch_text(f"{url}?t=json"))


def web_answers(url: str) -> bool:
    """Whether a web server answers ``GET url``."""
    try:
        fetch_text(url)
    except OSError:
        return False
    return True


def is_connected(status: str) -> bool:
    """Whether a welcome page's ``connection_status`` means a live connection."""
    return status.lower().startswith("connected")


def server_statuses(web_url: str) -> dict[str, str]:
    """Each server a client knows, by server id, mapped to its connection status."""
    document: dict[str, Any] = fetch_json(web_url)
    return {server["nodeid"]: server["connection_status"] for server in document["servers"]}


def server_versions(web_url: str) -> dict[str, str | None]:
    """Each server a client knows, by server id, mapped to the version it last announced."""
    document: dict[str, Any] = fetch_json(web_url)
    return {server["nodeid"]: server["version"] for server in document["servers"]}
