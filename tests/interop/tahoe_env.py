"""Find or create the virtual environment that holds the real Tahoe-LAFS 1.20.

Rules: Tahoe is never installed into the project's own environment. It lives
in a cache directory (``$GRID_INTEROP_CACHE``, else ``~/.cache/grid-interop``),
in a venv named for the Tahoe version and the Python major.minor, built with
the interpreter running the tests and the pinned constraints file beside this
module. A stamp file written last marks a finished install, so a half-finished
one is wiped and redone; the stamp records a hash of the constraints, so a
changed pin list reinstalls. An exclusive ``flock`` on a lock file beside the
venv keeps parallel pytest-xdist workers from installing twice. Any failure is
raised as :class:`TahoeInstallError` with the tool's output, never swallowed.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

TAHOE_VERSION = "1.20.0"
CONSTRAINTS = Path(__file__).with_name("tahoe-1.20-constraints.txt")
STAMP_NAME = ".grid-interop-installed"
INSTALL_TIMEOUT = 1800.0
VERSION_TIMEOUT = 60.0
OPT_OUT_HINT = "to skip the Tahoe interop tests on purpose, run pytest -m 'not interop'"


class TahoeInstallError(RuntimeError):
    """The Tahoe-LAFS environment could not be created or does not work."""


@attrs.frozen
class TahoeEnv:
    """A finished Tahoe-LAFS virtual environment."""

    venv_dir: Path
    version: str

    @property
    def tahoe(self) -> Path:
        """The ``tahoe`` console script of this environment."""
        return self.venv_dir / "bin" / "tahoe"

    @property
    def python(self) -> Path:
        """The interpreter of this environment."""
        return self.venv_dir / "bin" / "python"


def cache_root(environ: Mapping[str, str]) -> Path:
    """The directory holding interop environments: ``$GRID_INTEROP_CACHE`` or the user cache."""
    configured = environ.get("GRID_INTEROP_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "grid-interop"


def venv_name(version: str, python_version: tuple[int, int]) -> str:
    """The venv directory name for one Tahoe version under one Python major.minor."""
    major, minor = python_version
    return f"tahoe-lafs-{version}-py{major}.{minor}"


def constraints_digest(constraints: Path) -> str:
    """The stamp's content: a hash of the pins the environment was built with."""
    return hashlib.sha256(constraints.read_bytes()).hexdigest()


def ensure_tahoe_env(
    root: Path, *, version: str = TAHOE_VERSION, constraints: Path = CONSTRAINTS
) -> TahoeEnv:
    """Return a working Tahoe environment under ``root``, installing it first if needed.

    Safe to call from several processes at once: the first to take the lock
    installs, the others wait and then find the stamp.
    """
    root.mkdir(parents=True, exist_ok=True)
    env = TahoeEnv(root / venv_name(version, sys.version_info[:2]), version)
    digest = constraints_digest(constraints)
    with (root / f"{env.venv_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            stamp = env.venv_dir / STAMP_NAME
            if not stamp.exists() or stamp.read_text() != digest:
                _install(env, constraints)
                stamp.write_text(digest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    check_tahoe_version(env)
    return env


def check_tahoe_version(env: TahoeEnv) -> None:
    """Raise unless ``tahoe --version`` runs and names the expected version."""
    result = _run([str(env.tahoe), "--version"], VERSION_TIMEOUT, "tahoe --version")
    if f"tahoe-lafs/{env.version}" not in result.stdout:
        raise TahoeInstallError(
            f"{env.tahoe} --version printed {result.stdout.strip()!r}, "
            f"not tahoe-lafs/{env.version}; delete {env.venv_dir} to reinstall"
        )


def _install(env: TahoeEnv, constraints: Path) -> None:
    if env.venv_dir.exists():
        shutil.rmtree(env.venv_dir)
    _run([sys.executable, "-m", "venv", str(env.venv_dir)], INSTALL_TIMEOUT, "python -m venv")
    _run(
        [
            str(env.python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(constraints),
            f"tahoe-lafs=={env.version}",
        ],
        INSTALL_TIMEOUT,
        f"pip install tahoe-lafs=={env.version}",
    )


def clean_environment() -> dict[str, str]:
    """This process's environment without what would leak the project's venv into a child."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }


def _run(argv: list[str], timeout: float, what: str) -> "subprocess.CompletedProcess[str]":
    try:
        result = subprocess.run(  # noqa: S603  fixed argv built from our own paths
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=clean_environment(),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TahoeInstallError(f"{what} could not run: {error}; {OPT_OUT_HINT}") from error
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise TahoeInstallError(
            f"{what} failed with exit status {result.returncode}:\n{output}\n{OPT_OUT_HINT}"
        )
    return result
