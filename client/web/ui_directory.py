"""The HTML page of one directory, for people: where it is, what it holds, and forms to change it.

Rules:

- The page is built from plain data (:func:`directory_page`): the cap in
  the URL, the path of names walked from it, the children, and whether
  this directory may be changed. Nothing here touches the grid.
- Caps appear only inside links, never as text; a child's "info" page
  (:mod:`client.web.ui_file`) shows them when asked.
- A file's links use its read-only cap (``/uri/$READCAP?filename=``, and
  ``&save=true`` to download), so a link never carries a mutable file's
  write cap; a directory's link is its path under this page, so it keeps
  the authority this page was reached with. A child whose cap this
  gateway cannot use has no open or download link.
- Only a writable directory shows forms. They POST to this page's own URL
  with ``t=upload`` (multipart ``file`` and ``name``), ``t=mkdir``
  (``name``), ``t=rename`` (``from_name``, ``to_name``) or ``t=unlink``
  (``name``), each with ``when_done`` naming this page, and need no
  JavaScript.
- Every name is escaped; URLs are percent-encoded per segment, then
  escaped.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from client.web.ui_page import (
    breadcrumbs,
    escape,
    format_size,
    format_time,
    hidden_fields,
    query,
    quote_segment,
    render_page,
)
from grid.caps import ChildCap, DirectoryCap, UnknownCap
from grid.formats.dirnode import DirectoryEntry

ROOT_LABEL = "root"
"""How the breadcrumbs name the directory the cap in the URL points at."""


def directory_url(dir_cap: DirectoryCap, path: Sequence[str]) -> str:
    """The gateway path of the directory reached from ``dir_cap`` through ``path``."""
    return (
        "/uri/"
        + quote_segment(dir_cap.to_string())
        + "".join("/" + quote_segment(name) for name in path)
    )


def file_url(cap: ChildCap, name: str, *, save: bool = False) -> str:
    """The gateway path that opens (or, with ``save``, downloads) a file by its own cap."""
    arguments = {"save": "true", "filename": name} if save else {"filename": name}
    return "/uri/" + quote_segment(cap.to_string()) + query(**arguments)


def child_type(cap: ChildCap | None) -> str:
    """What a child is: ``dir``, ``file``, ``mutable`` (a mutable file) or ``unknown``."""
    if cap is None or isinstance(cap, UnknownCap):
        return "unknown"
    if isinstance(cap, DirectoryCap):
        return "dir"
    return "mutable" if cap.is_mutable else "file"


def child_size(cap: ChildCap | None) -> int | None:
    """A file's size when its cap tells it (CHK and LIT); None otherwise."""
    size = getattr(cap, "size", None)
    return size if isinstance(size, int) else None


def link_time(metadata: Mapping[str, Any]) -> float | None:
    """When the child was last linked here (``tahoe.linkmotime``), if recorded."""
    tahoe = metadata.get("tahoe")
    value = tahoe.get("linkmotime") if isinstance(tahoe, Mapping) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _readable_file_cap(entry: DirectoryEntry) -> ChildCap | None:
    """The read-only cap a file child is opened with, if this gateway knows its kind."""
    cap = entry.read_cap
    if cap is None or isinstance(cap, UnknownCap | DirectoryCap):
        return None
    return cap


def _child_row(entry: DirectoryEntry, here: str, writable: bool) -> str:
    """One row of the children table."""
    kind = child_type(entry.cap)
    name = escape(entry.name)
    path_url = here + "/" + quote_segment(entry.name)
    read_cap = _readable_file_cap(entry)
    if kind == "dir":
        name_cell = f'<a href="{escape(path_url)}">{name}/</a>'
    elif read_cap is not None:
        name_cell = f'<a href="{escape(file_url(read_cap, entry.name))}">{name}</a>'
    else:
        name_cell = name
    actions = [f'<a href="{escape(path_url + query(t="info"))}">info</a>']
    if read_cap is not None:
        download = file_url(read_cap, entry.name, save=True)
        actions.insert(0, f'<a href="{escape(download)}">download</a>')
    if writable:
        actions.append(
            f'<form method="post" action="{escape(here)}">'
            + hidden_fields(t="unlink", name=entry.name, when_done=here)
            + "<button>delete</button></form>"
        )
    return (
        f'<tr><td class="name">{name_cell}</td><td>{kind}</td>'
        f'<td class="number">{format_size(child_size(entry.cap))}</td>'
        f'<td class="time">{format_time(link_time(entry.metadata))}</td>'
        f'<td class="actions">{" ".join(actions)}</td></tr>'
    )


def _children_table(entries: Sequence[DirectoryEntry], here: str, writable: bool) -> str:
    """The table of children, or a line saying there are none."""
    if not entries:
        return '<p class="muted">This directory is empty.</p>'
    rows = "".join(_child_row(entry, here, writable) for entry in entries)
    return (
        '<table class="children"><thead><tr><th>name</th><th>type</th><th>size</th>'
        "<th>linked</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _forms(entries: Sequence[DirectoryEntry], here: str) -> str:
    """The forms that change a writable directory."""
    action = escape(here)
    upload = (
        '<section class="box"><h2>Upload a file</h2>'
        f'<form method="post" action="{action}" enctype="multipart/form-data" class="upload">'
        + hidden_fields(t="upload", when_done=here)
        + '<input type="file" name="file" required> '
        '<label>as <input type="text" name="name" required placeholder="name"></label> '
        "<button>Upload</button></form></section>"
    )
    mkdir = (
        '<section class="box"><h2>Create a directory</h2>'
        f'<form method="post" action="{action}" class="mkdir">'
        + hidden_fields(t="mkdir", when_done=here)
        + '<label>name <input type="text" name="name" required></label> '
        "<button>Create</button></form></section>"
    )
    if not entries:
        return upload + mkdir
    options = "".join(
        f'<option value="{escape(entry.name)}">{escape(entry.name)}</option>' for entry in entries
    )
    rename = (
        '<section class="box"><h2>Rename</h2>'
        f'<form method="post" action="{action}" class="rename">'
        + hidden_fields(t="rename", when_done=here)
        + f'<select name="from_name">{options}</select> '
        '<label>to <input type="text" name="to_name" required></label> '
        "<button>Rename</button></form></section>"
    )
    return upload + mkdir + rename


def directory_page(
    dir_cap: DirectoryCap,
    path: Sequence[str],
    children: Iterable[DirectoryEntry],
    *,
    writable: bool,
) -> bytes:
    """The HTML page of a directory.

    ``dir_cap`` is the cap in the request's URL (``/uri/$DIRCAP/...``) and
    ``path`` the child names walked from it to this directory (empty for
    the cap's own directory); links and form actions are built from both.
    ``children`` are its entries (any order: shown by name), ``writable``
    whether this gateway may change it (the forms are shown only then).
    Serve the bytes with :func:`client.web.ui_headers.set_page_headers`.
    """
    here = directory_url(dir_cap, path)
    entries = sorted(children, key=lambda entry: entry.name)
    crumbs: list[tuple[str, str | None]] = [
        (ROOT_LABEL, directory_url(dir_cap, ())),
        *((name, directory_url(dir_cap, path[: depth + 1])) for depth, name in enumerate(path)),
    ]
    crumbs[-1] = (crumbs[-1][0], None)
    title = path[-1] if path else ROOT_LABEL
    status = "" if writable else ' <span class="badge">read-only</span>'
    links = (
        f'<p class="muted"><a href="{escape(here + query(t="info"))}">info</a> \u00b7 '
        f'<a href="{escape(here + query(t="json"))}">JSON</a></p>'
    )
    body = (
        breadcrumbs(crumbs)
        + f"<h1>{escape(title)}{status}</h1>"
        + links
        + _children_table(entries, here, writable)
        + (_forms(entries, here) if writable else "")
    )
    return render_page(title, body)
