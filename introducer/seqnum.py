"""The announcement sequence number a node keeps in ``NODEDIR/announcement-seqnum``.

Rules: each announcement a node publishes carries a seqnum higher than any
it published before, even across restarts, so introducers and clients
replace the old one. The file holds one decimal number; a missing or
unreadable file counts as 0. Updates are atomic (temp file, then rename).
"""

from pathlib import Path

SEQNUM_FILE = "announcement-seqnum"


def next_seqnum(node_dir: Path) -> int:
    """Return the next seqnum for this node and remember it."""
    path = node_dir / SEQNUM_FILE
    try:
        current = int(path.read_text().strip())
    except (OSError, ValueError):
        current = 0
    following = max(current, 0) + 1
    temporary = path.with_name(SEQNUM_FILE + ".tmp")
    temporary.write_text(f"{following}\n")
    temporary.replace(path)
    return following
