import subprocess
import sys
from pathlib import Path

import pytest

from grid import __version__
from grid.base32 import b2a
from tests.chk_samples import chk_vectors, vector_inputs

GRID = Path(sys.executable).with_name("grid")


def run_grid(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the installed grid console script as a user would."""
    return subprocess.run(  # noqa: S603  the project's own console script, fixed arguments
        [str(GRID), *argv], input=stdin, capture_output=True, timeout=120, check=False
    )


def test_console_script_is_installed() -> None:
    """The grid command exists next to the interpreter running the tests."""
    assert GRID.exists()


def test_version() -> None:
    """The grid --version command prints the version and exits 0."""
    result = run_grid("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"grid {__version__}"


def test_encode_chk_from_stdin_matches_tahoe() -> None:
    """Piping a multi-segment vector file into encode-chk prints Tahoe's cap."""
    entry = next(
        item
        for item in chk_vectors()
        if item["sample"]["length"] == 2097153 and item["zfec"]["required"] == 3
    )
    plaintext, secret, plan = vector_inputs(entry)
    result = run_grid(
        "debug",
        "encode-chk",
        "--convergence-secret",
        b2a(secret),
        f"--needed={plan.needed}",
        f"--total={plan.total}",
        "--max-segment-size=131072",
        "-",
        stdin=plaintext,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == entry["expected"]


@pytest.mark.parametrize(
    "argv",
    [("debug", "encode-chk", "--key", "!!", "-"), ("debug", "dump-cap", "URI:SSK:x:y"), ("nope",)],
)
def test_usage_errors_are_one_line_without_traceback(argv: tuple[str, ...]) -> None:
    """A bad command line exits 2 with one line on stderr and no traceback."""
    result = run_grid(*argv)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr


def test_dump_share_of_a_missing_file(tmp_path: Path) -> None:
    """A missing share file exits 1 with one line on stderr."""
    result = run_grid("debug", "dump-share", str(tmp_path / "absent"))
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["--version"], ["put", "--help"], ["get", "--help"]])
def test_light_commands_do_not_load_twisted(argv: list[str]) -> None:
    """Version and file commands start without importing Twisted or Foolscap."""
    probe = (
        "import sys\n"
        "from grid.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'foolscap')))\n"
    )
    result = subprocess.run(  # noqa: S603  the test's own interpreter
        [sys.executable, "-c", probe], capture_output=True, timeout=60, check=True
    )
    assert result.stdout.decode().strip().splitlines()[-1] == "[]"
