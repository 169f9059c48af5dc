"""A reader that stops early (``grid ... | head``) ends the command quietly."""

import subprocess
import sys
from pathlib import Path

GRID = Path(sys.executable).with_name("grid")


def test_closed_stdout_gives_no_traceback(tmp_path: Path) -> None:
    """Writing to a pipe whose reader is gone exits non-zero, saying nothing."""
    share = Path(__file__).parents[1] / "vectors" / "tahoe-shares" / "chk" / "share-0.bin"
    reader = subprocess.Popen(  # noqa: S603  our own console script
        [str(GRID), "debug", "dump-share", str(share)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert reader.stdout is not None
    reader.stdout.close()
    _, errors = reader.communicate(timeout=60)
    assert errors == b""
    assert reader.returncode == 1
