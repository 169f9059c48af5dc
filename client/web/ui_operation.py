"""The HTML page of a long operation (``GET /operations/H`` without ``output=JSON``).

Rules: the page shows what the JSON answer holds, for people. Its scalar
fields (counts, sizes, the origin) form one table; each nested record (the
``stats`` of a manifest or a deep check) another; each list (manifest
entries, verify caps, unhealthy files) a table of its first
:data:`LIST_ROWS_SHOWN` items with the full count, one row per item and one
cell per part of an item that is itself a list; a part that is a list of
names (a path) is shown joined by ``/``. While the operation runs the page refreshes itself
every :data:`REFRESH_SECONDS`; a link gives the same status as JSON. Every
value is escaped; the page loads nothing from elsewhere.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from client.web.ui_page import escape, query, render_page

LIST_ROWS_SHOWN = 1000
REFRESH_SECONDS = 5


def operation_page(handle: str, status: Mapping[str, Any], *, cancelled: bool) -> bytes:
    """The page for operation ``handle`` whose JSON status is ``status``."""
    finished = bool(status.get("finished"))
    if finished:
        state = "finished"
    elif cancelled:
        state = "cancelled, stopping"
    else:
        state = f"still running (this page reloads every {REFRESH_SECONDS} seconds)"
    scalars = {key: value for key, value in status.items() if _is_scalar(value)}
    sections = [
        f"<h1>Operation {escape(handle)}</h1>",
        (
            f"<p>{escape(state)} \u2014 "
            f'<a href="{escape(query(output="JSON"))}">the same status as JSON</a></p>'
        ),
        _facts(scalars),
    ]
    for key, value in status.items():
        if isinstance(value, Mapping):
            sections.append(f"<h2>{escape(key)}</h2>{_facts(value)}")
        elif isinstance(value, list | tuple):
            sections.append(_list_section(key, value))
    return render_page(
        f"Operation {handle}",
        "".join(sections),
        refresh_seconds=None if finished else REFRESH_SECONDS,
    )


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return "/".join(value)
    return json.dumps(value)


def _facts(record: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(_text(value))}</td></tr>"
        for key, value in record.items()
    )
    return f'<table class="facts">{rows}</table>'


def _list_section(key: str, items: Sequence[Any]) -> str:
    shown = items[:LIST_ROWS_SHOWN]
    count = (
        f"{len(items)} items"
        if len(items) <= LIST_ROWS_SHOWN
        else f"the first {LIST_ROWS_SHOWN} of {len(items)} items"
    )
    rows = "".join(f"<tr>{_cells(item)}</tr>" for item in shown)
    table = f"<table>{rows}</table>" if shown else ""
    return f'<h2>{escape(key)}</h2><p class="muted">{escape(count)}</p>{table}'


def _cells(item: object) -> str:
    if isinstance(item, list | tuple):
        return "".join(f'<td class="name">{escape(_text(part))}</td>' for part in item)
    return f'<td class="name">{escape(_text(item))}</td>'
