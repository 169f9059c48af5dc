"""The frame every HTML page of the gateway shares: layout, inline CSS, escaping, formats.

Rules: a page is one self-contained document. It loads nothing from
anywhere (the only style is the inline ``<style>`` block, whose hash the
``Content-Security-Policy`` of :mod:`client.web.ui_headers` allows), needs
no JavaScript, and tells the browser never to send a ``Referer`` (a
``<meta name="referrer">`` here, the header there), because the URLs of
these pages hold caps. Every piece of text that comes from outside
(names, nicknames, statuses) goes through :func:`escape`; URLs are built
with :func:`quote_segment` for each path segment and :func:`query` for the
query string, then escaped as attribute values. Sizes and times are
written by :func:`format_size` and :func:`format_time`, which take their
values as arguments (no clock is read here).
"""

import base64
import hashlib
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

PAGE_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1d2630; background: #f6f7f9;
  margin: 0; }
header { background: #24425e; color: #fff; padding: 0.6em 1.2em; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 64em; margin: 1.2em auto; padding: 0 1.2em; }
h1 { font-size: 1.4em; margin: 0.2em 0 0.6em; overflow-wrap: anywhere; }
h2 { font-size: 1.1em; margin: 1.4em 0 0.5em; }
nav.crumbs { margin-bottom: 0.4em; overflow-wrap: anywhere; }
nav.crumbs span.sep { color: #8a96a3; margin: 0 0.3em; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 0.35em 0.6em; border-bottom: 1px solid #dde2e8;
  vertical-align: middle; }
th { background: #eef1f4; font-weight: 600; }
td.name { overflow-wrap: anywhere; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { white-space: nowrap; }
table.facts th { width: 10em; }
td.actions form { display: inline; margin: 0; }
section.box { background: #fff; border: 1px solid #dde2e8; border-radius: 4px;
  padding: 0.8em 1em; margin: 1em 0; }
section.box h2 { margin-top: 0; }
section.box form { margin: 0.3em 0; }
td code { font-size: 0.85em; overflow-wrap: anywhere; }
input[type=text] { min-width: 18em; }
button { cursor: pointer; }
code.cap { display: block; font-size: 0.9em; overflow-wrap: anywhere; background: #eef1f4;
  padding: 0.3em 0.5em; }
.muted { color: #66727f; }
.badge { font-size: 0.8em; background: #e3e8ee; border-radius: 3px; padding: 0.1em 0.4em; }
.state-connected { color: #17703a; }
.state-other { color: #9b2c1f; }
"""

PAGE_CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(PAGE_CSS.encode()).digest()).decode()
"""The CSP source that allows exactly the inline style block of every page."""

_SIZE_UNITS = ("kB", "MB", "GB", "TB", "PB")
_SIZE_STEP = 1000


def escape(text: str) -> str:
    """``text`` safe inside HTML content and inside a quoted attribute value."""
    return html.escape(text, quote=True)


def quote_segment(text: str) -> str:
    """``text`` as one URL path segment: every ``/``, ``?``, ``#`` and ``%`` percent-encoded."""
    return quote(text, safe="")


def query(**arguments: str) -> str:
    """A query string (with its ``?``) from keyword arguments, in the order given."""
    return "?" + urlencode(arguments, quote_via=quote)


def format_size(size: int | None) -> str:
    """A byte count for people: ``512 B``, ``1.5 MB``; an em dash when unknown."""
    if size is None:
        return "\u2014"
    if size < _SIZE_STEP:
        return f"{size} B"
    value = float(size)
    for unit in _SIZE_UNITS:  # noqa: B007  the unit the loop stops at is the answer's
        value /= _SIZE_STEP
        if value < _SIZE_STEP:
            break
    return f"{value:.1f} {unit}"


def format_time(seconds: float | None) -> str:
    """A POSIX timestamp as ``YYYY-MM-DD HH:MM:SS UTC``; an em dash when unknown or absurd."""
    if seconds is None:
        return "\u2014"
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "\u2014"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def hidden_fields(**fields: str) -> str:
    """Hidden ``<input>`` elements carrying ``fields`` in a form."""
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def breadcrumbs(crumbs: Sequence[tuple[str, str | None]]) -> str:
    """A trail of (label, URL) pairs; a pair without a URL is the current page."""
    parts = []
    for label, url in crumbs:
        if url is None:
            parts.append(f'<span aria-current="page">{escape(label)}</span>')
        else:
            parts.append(f'<a href="{escape(url)}">{escape(label)}</a>')
    separator = '<span class="sep">/</span>'
    return f'<nav class="crumbs" aria-label="breadcrumbs">{separator.join(parts)}</nav>'


def render_page(title: str, body: str, *, refresh_seconds: int | None = None) -> bytes:
    """The whole document: ``title`` (plain text, escaped here) around ``body`` (HTML).

    With ``refresh_seconds`` the browser reloads the page that often (a
    status page of something still running).
    """
    refresh = ""
    if refresh_seconds is not None:
        refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="referrer" content="no-referrer">{refresh}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} \u2014 grid</title><style>{PAGE_CSS}</style></head>"
        '<body><header><a href="/">grid</a></header>'
        f"<main>{body}</main></body></html>\n"
    ).encode()
