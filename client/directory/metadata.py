"""The metadata a directory keeps for each link, and how a change updates it.

Rules (as Tahoe-LAFS 1.20 keeps them):

- ``metadata["tahoe"]`` belongs to the node: callers' values for it are
  dropped. It holds ``linkcrtime`` (when the name was first linked) and
  ``linkmotime`` (when the link last changed), float Unix seconds.
- New metadata, when given, replaces every other key; when not given, the
  old keys stay.
- ``linkcrtime`` survives a replace; a link that has none takes the legacy
  ``ctime`` of the old metadata if there is one, else now.
- ``linkmotime`` is now on every change.
- A true ``no-write`` asks that only the read-only cap be linked.
"""

from collections.abc import Mapping
from typing import Any

NODE_METADATA_KEY = "tahoe"
LINK_CREATED_KEY = "linkcrtime"
LINK_MODIFIED_KEY = "linkmotime"
LEGACY_CREATED_KEY = "ctime"
NO_WRITE_KEY = "no-write"


def update_link_metadata(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, now: float
) -> dict[str, Any]:
    """The metadata of a link after a change at ``now``, from its old and new metadata."""
    old = {} if old is None else old
    if new is None:
        updated = dict(old)
    else:
        updated = {key: value for key, value in new.items() if key != NODE_METADATA_KEY}
    old_node_metadata = old.get(NODE_METADATA_KEY)
    node_metadata = dict(old_node_metadata) if isinstance(old_node_metadata, Mapping) else {}
    if LINK_CREATED_KEY not in node_metadata:
        node_metadata[LINK_CREATED_KEY] = old.get(LEGACY_CREATED_KEY, now)
    node_metadata[LINK_MODIFIED_KEY] = now
    updated[NODE_METADATA_KEY] = node_metadata
    return updated


def asks_no_write(metadata: Mapping[str, Any]) -> bool:
    """Whether the metadata asks for the child to be linked read-only."""
    return bool(metadata.get(NO_WRITE_KEY, False))
