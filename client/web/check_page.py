"""The HTML page that answers ``t=check`` for people: the verdict, the counts, where the shares are.

Rules (what Tahoe-LAFS 1.20's check pages show, in our page layout):

- The page is built from the check's JSON alone (the shape of
  :mod:`client.check.results_json`, what ``output=JSON`` answers), so it
  says exactly what a program would be told; it reads nothing and touches
  nothing.
- A check shows its verdict (``Healthy``, ``Not Healthy!`` or ``Not
  Recoverable!``) with the one-line summary, then the counts (shares good
  of k-of-N, happiness, hosts, wrong shares, recoverable and unrecoverable
  versions, servers that answered), the corrupt shares if any, and the
  share map (each share, or mutable ``version-shnum``, and the servers
  holding a good copy).
- A check-and-repair shows the verdict after repair, whether a repair was
  needed and whether it worked, the post-repair results, and, when a
  repair was attempted, the pre-repair results too.
- A literal file's check says it is healthy because its data is in its cap.
- ``return_to`` adds a link back, but only to a path on this gateway
  (starting with one ``/``), never to another site.
- Every value is escaped; no cap is shown (the JSON holds none).
"""

from collections.abc import Mapping
from typing import Any

from client.web.ui_page import escape, render_page

_NO_VALUE = "\u2014"


def _verdict(results: Mapping[str, Any]) -> str:
    """Tahoe's headline for one check's results."""
    if results.get("healthy"):
        return "Healthy"
    if results.get("recoverable"):
        return "Not Healthy!"
    return "Not Recoverable!"


def _value(results: Mapping[str, Any], key: str) -> str:
    value = results.get(key)
    return _NO_VALUE if value is None else str(value)


def _facts(check: Mapping[str, Any]) -> str:
    """The counts of one check, as a table."""
    results = check.get("results", {})
    shares = (
        f"{_value(results, 'count-shares-good')} good (need "
        f"{_value(results, 'count-shares-needed')} of {_value(results, 'count-shares-expected')})"
    )
    rows = [
        ("summary", str(check.get("summary", ""))),
        ("storage index", str(check.get("storage-index", "")) or _NO_VALUE),
        ("healthy", "yes" if results.get("healthy") else "no"),
        ("recoverable", "yes" if results.get("recoverable") else "no"),
        ("shares", shares),
        ("happiness", _value(results, "count-happiness")),
        ("hosts with good shares", _value(results, "count-good-share-hosts")),
        ("wrong shares", _value(results, "count-wrong-shares")),
        ("corrupt shares", _value(results, "count-corrupt-shares")),
        ("recoverable versions", _value(results, "count-recoverable-versions")),
        ("unrecoverable versions", _value(results, "count-unrecoverable-versions")),
        ("servers responding", str(len(results.get("servers-responding", [])))),
    ]
    cells = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows
    )
    return f'<table class="facts">{cells}</table>'


def _corrupt_table(results: Mapping[str, Any]) -> str:
    """The corrupt shares, one row each; nothing when there are none."""
    corrupt = results.get("list-corrupt-shares", [])
    if not corrupt:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(str(server))}</code></td><td><code>{escape(str(index))}</code>"
        f'</td><td class="number">{escape(str(shnum))}</td></tr>'
        for server, index, shnum in corrupt
    )
    return (
        "<h3>Corrupt shares</h3><table><tr><th>server</th><th>storage index</th>"
        f"<th>share</th></tr>{rows}</table>"
    )


def _share_map(results: Mapping[str, Any]) -> str:
    """Each good share and the servers holding it."""
    sharemap = results.get("sharemap", {})
    if not sharemap:
        return '<p class="muted">No server holds a good share.</p>'
    rows = "".join(
        f"<tr><td>{escape(str(share))}</td><td>"
        + "<br>".join(f"<code>{escape(str(server))}</code>" for server in servers)
        + "</td></tr>"
        for share, servers in sharemap.items()
    )
    return f"<h3>Good shares</h3><table><tr><th>share</th><th>servers</th></tr>{rows}</table>"


def _results_section(title: str, check: Mapping[str, Any]) -> str:
    """One check's results: verdict, counts, corrupt shares, share map."""
    results = check.get("results", {})
    return (
        f'<section class="box"><h2>{escape(title)}: {escape(_verdict(results))}</h2>'
        + _facts(check)
        + _corrupt_table(results)
        + _share_map(results)
        + "</section>"
    )


def _repair_outcome(answer: Mapping[str, Any]) -> str:
    if not answer.get("repair-attempted"):
        return "No repair necessary"
    if answer.get("repair-successful"):
        return "Repair successful"
    return "Repair unsuccessful"


def _back_link(return_to: str | None) -> str:
    """A link back to a page of this gateway; nothing for any other target."""
    if not return_to or not return_to.startswith("/") or return_to.startswith("//"):
        return ""
    return f'<p><a href="{escape(return_to)}">back</a></p>'


def check_page(answer: Mapping[str, Any], *, return_to: str | None = None) -> bytes:
    """The page for a check's (or check-and-repair's) JSON ``answer``.

    Serve it with :func:`client.web.ui_headers.set_page_headers`.
    """
    back = _back_link(return_to)
    storage_index = str(answer.get("storage-index", ""))
    if not storage_index:
        body = (
            back + "<h1>Check results: Healthy</h1>"
            "<p>This is a literal file: its data is held in its cap itself, so no server "
            "holds shares of it and there is nothing to check or repair.</p>"
        )
        return render_page("check: literal file", body)
    heading = f'<h1>Check results</h1><p class="muted">storage index {escape(storage_index)}</p>'
    if "pre-repair-results" not in answer:
        body = back + heading + _results_section("Check", answer)
        return render_page(f"check: {storage_index}", body)
    after = answer["post-repair-results"]
    body = (
        back
        + heading
        + f"<p><strong>{escape(_verdict(after.get('results', {})))}</strong> after repair: "
        + f"{escape(_repair_outcome(answer))}.</p>"
        + _results_section("After repair", after)
    )
    if answer.get("repair-attempted"):
        body += _results_section("Before repair", answer["pre-repair-results"])
    return render_page(f"check and repair: {storage_index}", body)
