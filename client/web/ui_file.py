"""The "info" page of a file or directory: what it is, and its caps, shown because someone asked.

Rules: this is the one page that prints caps as text, each labelled with
the authority it grants (write, read-only, verify), the strongest first,
under a warning that whoever holds one holds that authority. Nothing else
links a cap as text. Everything shown is escaped; the page is built from
plain data (:func:`info_page`) and touches nothing.
"""

from collections.abc import Mapping
from typing import Any

from client.web.ui_directory import child_size, child_type, file_url, link_time
from client.web.ui_page import escape, format_size, format_time, quote_segment, render_page
from grid.base32 import b2a
from grid.caps import ChildCap, DirectoryCap, UnknownCap


def _cap_rows(cap: ChildCap) -> list[tuple[str, str]]:
    """(label, cap text) for every cap derivable from ``cap``, strongest first."""
    if isinstance(cap, UnknownCap):
        return [("cap of an unknown kind", cap.to_string())]
    rows = []
    if not cap.is_readonly:
        rows.append(("read-write cap", cap.to_string()))
    read_only = cap.read_only()
    verify = cap.verify_cap()
    if read_only is not None and read_only != verify:
        rows.append(("read-only cap", read_only.to_string()))
    if verify is not None:
        rows.append(("verify cap", verify.to_string()))
    return rows


def _open_link(cap: ChildCap, name: str) -> str:
    """A link that opens the thing, or nothing when this gateway cannot open it."""
    if isinstance(cap, UnknownCap):
        return ""
    if isinstance(cap, DirectoryCap):
        url = "/uri/" + quote_segment(cap.to_string())
        return f'<p><a href="{escape(url)}">open this directory by its cap</a></p>'
    read_only = cap.read_only()
    if read_only is None or read_only == cap.verify_cap():
        return ""
    return (
        f'<p><a href="{escape(file_url(read_only, name))}">open</a> \u00b7 '
        f'<a href="{escape(file_url(read_only, name, save=True))}">download</a></p>'
    )


def info_page(
    cap: ChildCap,
    *,
    name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    back_url: str | None = None,
) -> bytes:
    """The info page of the file or directory ``cap`` names.

    ``name`` is the name it has in the directory it was reached through
    (None when reached by cap alone), ``metadata`` that directory entry's
    metadata, and ``back_url`` the page to go back to (the directory's).
    Serve it for ``?t=info`` with
    :func:`client.web.ui_headers.set_page_headers`.
    """
    shown_name = name if name is not None else "(reached by cap)"
    storage_index = cap.storage_index
    facts = [
        ("type", child_type(cap)),
        ("kind", cap.kind),
        ("size", format_size(child_size(cap))),
        ("storage index", b2a(storage_index) if storage_index is not None else "\u2014"),
    ]
    if metadata is not None:
        facts.append(("linked", format_time(link_time(metadata))))
    if isinstance(cap, UnknownCap) and cap.error is not None:
        facts.append(("problem", cap.error))
    fact_rows = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in facts
    )
    cap_rows = "".join(
        f'<tr><th>{escape(label)}</th><td><code class="cap">{escape(text)}</code></td></tr>'
        for label, text in _cap_rows(cap)
    )
    back = f'<p><a href="{escape(back_url)}">back</a></p>' if back_url is not None else ""
    body = (
        back
        + f"<h1>{escape(shown_name)}</h1>"
        + _open_link(cap, name or "")
        + f'<table class="facts">{fact_rows}</table>'
        + '<h2>Caps</h2><p class="muted">Whoever holds a cap holds what it grants: '
        "share the weakest one that is enough, and only with people you trust.</p>"
        + f'<table class="caps">{cap_rows}</table>'
    )
    return render_page(f"info: {shown_name}", body)
