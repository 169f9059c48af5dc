"""What a ``POST`` to a directory does, by its ``t=``, and the arguments they share.

Rules (Tahoe-LAFS 1.20's web API):

- ``t=mkdir`` / ``mkdir-with-children`` / ``mkdir-immutable`` with
  ``name=`` make a directory (children from the JSON body; ``format=SDMF``
  or ``MDMF`` for a mutable one) and link it; without ``name=`` they answer
  the directory's own cap. ``t=upload`` stores the multipart ``file`` under
  ``name=`` (else the file's own name); ``t=uri`` links ``uri=`` under
  ``name=``; ``t=set_children`` (or ``set-children``) links a JSON body of
  children (``overwrite=false`` refuses taken names); ``t=unlink`` (or
  ``delete``) unlinks ``name=``; ``t=rename`` moves ``from_name`` to
  ``to_name``; ``t=relink`` moves ``from_name`` into ``to_dir`` (a cap
  with an optional path after it, or a path below this directory) as
  ``to_name`` (default: the same name). Linking honours ``replace=``
  (``true``, ``false``, ``only-files``).
- Each answers the cap it made, linked or unlinked as text (an empty body
  for set_children, rename and relink), or, with ``when_done=``, redirects
  there. ``when_done`` must be a URL on this gateway (no scheme or host).
- A missing or bad argument is a :class:`BadRequestError` naming it.
"""

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from twisted.web.server import Request

from client.directory import DirectoryNode, Replace, open_directory_at_path, split_path
from client.node_maker import NodeMaker
from client.web.common import BadRequestError, argument, boolean_argument, finish_text
from client.web.dir_json import children_from_json
from client.web.filenode import request_body
from client.web.form_body import uploaded_file
from client.web.new_files import store_new_file
from grid.caps import DirectoryCap, MutableFormat, parse_cap, parse_child_cap
from grid.errors import CapError

MKDIR_KINDS = ("mkdir", "mkdir-with-children", "mkdir-immutable")

Action = Callable[[Request, NodeMaker, DirectoryNode], Awaitable[str]]


def required_argument(request: Request, name: str) -> str:
    """Argument ``name``, which must be present and non-empty."""
    value = argument(request, name)
    if not value:
        raise BadRequestError(f"t={argument(request, 't', '')} needs {name}=")
    return value


def replace_argument(request: Request, name: str = "replace") -> Replace:
    """``replace=`` (``true`` by default, ``false``, or ``only-files``)."""
    if (argument(request, name) or "").lower() in {"only-files", "only_files"}:
        return Replace.ONLY_FILES
    return Replace.ALWAYS if boolean_argument(request, name, True) else Replace.NEVER


def directory_format(request: Request) -> MutableFormat | None:
    """The mutable format ``format=`` asks for a new directory (None: the node's default)."""
    name = (argument(request, "format", "") or "").upper()
    if name == "":
        return None
    if name in {"SDMF", "MDMF"}:
        return MutableFormat[name]
    raise BadRequestError(f"a directory's format is SDMF or MDMF, not {name!r}")


async def make_new_directory(request: Request, maker: NodeMaker, what: str) -> DirectoryNode:
    """A new unlinked directory of the kind ``t=`` names, children from the body if any."""
    fmt = directory_format(request)
    if what == "mkdir":
        return await maker.create_directory(fmt=fmt)
    body = request_body(request)
    if not body.strip():
        raise BadRequestError(f"t={what} needs the children as a JSON body")
    children = children_from_json(body)
    if what == "mkdir-with-children":
        return await maker.create_directory(children, fmt=fmt)
    return await maker.create_immutable_directory(children)


def finish_post(request: Request, text: str) -> None:
    """Answer a POST with ``text``, or redirect to ``when_done=`` if given."""
    when_done = argument(request, "when_done")
    if not when_done:
        finish_text(request, text)
        return
    parts = urlsplit(when_done)
    if parts.scheme or parts.netloc or when_done.startswith("//"):
        raise BadRequestError("when_done must be a URL on this gateway, without a scheme or host")
    request.redirect(quote(when_done, safe="/?&=%:.;,+~-_").encode("ascii"))
    request.finish()


async def _mkdir(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    name = argument(request, "name")
    if not name:
        return directory.cap.to_string()
    directory.require_writable()
    replace = replace_argument(request)
    created = await make_new_directory(request, maker, argument(request, "t", "") or "mkdir")
    await directory.set_child(name, created.cap, replace=replace)
    return created.cap.to_string()


async def _upload(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    upload = uploaded_file(request)
    name = argument(request, "name") or upload.filename
    if not name:
        raise BadRequestError("t=upload needs name= (or a file name in the form)")
    directory.require_writable()
    replace = replace_argument(request)
    node = await store_new_file(maker, request, upload.source)
    await directory.set_child(name, node.cap, replace=replace)
    return node.cap.to_string()


async def _link_uri(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    name = required_argument(request, "name")
    text = required_argument(request, "uri").strip()
    await directory.set_child(name, parse_child_cap(text), replace=replace_argument(request))
    return text


async def _set_children(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    links = children_from_json(request_body(request))
    overwrite = boolean_argument(request, "overwrite", True)
    await directory.set_children(links, replace=overwrite)
    return ""


async def _unlink(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    removed = await directory.delete_child(required_argument(request, "name"))
    cap = None if removed is None else removed.cap
    return "" if cap is None else cap.to_string()


async def _rename(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    from_name = required_argument(request, "from_name")
    to_name = required_argument(request, "to_name")
    await directory.rename_child(from_name, to_name, replace=replace_argument(request))
    return ""


async def _relink_target(maker: NodeMaker, directory: DirectoryNode, to_dir: str) -> DirectoryNode:
    """The directory ``to_dir`` names: a cap with an optional path, or a path below here."""
    if not to_dir.startswith("URI:"):
        return await open_directory_at_path(directory, split_path(to_dir), maker.directory_for_cap)
    cap_text, _, rest = to_dir.partition("/")
    try:
        cap = parse_cap(cap_text)
    except CapError as error:
        raise BadRequestError(f"to_dir is not a directory cap: {error}") from None
    start = maker.directory_for_cap(cap) if isinstance(cap, DirectoryCap) else None
    if start is None:
        raise BadRequestError("to_dir does not name a directory this gateway can open")
    names = [name for name in rest.split("/") if name] if rest else []
    return await open_directory_at_path(start, names, maker.directory_for_cap)


async def _relink(request: Request, maker: NodeMaker, directory: DirectoryNode) -> str:
    from_name = required_argument(request, "from_name")
    to_dir = argument(request, "to_dir")
    to_name = argument(request, "to_name") or from_name
    target = directory if not to_dir else await _relink_target(maker, directory, to_dir)
    await directory.move_child_to(from_name, target, to_name, replace=replace_argument(request))
    return ""


ACTIONS: dict[str, Action] = {
    "mkdir": _mkdir,
    "mkdir-with-children": _mkdir,
    "mkdir-immutable": _mkdir,
    "upload": _upload,
    "uri": _link_uri,
    "set_children": _set_children,
    "set-children": _set_children,
    "unlink": _unlink,
    "delete": _unlink,
    "rename": _rename,
    "relink": _relink,
}
"""The POST actions on a directory, by ``t=``."""
