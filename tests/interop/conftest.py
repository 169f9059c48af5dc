"""Fixtures for the Tahoe-LAFS interop tests: the Tahoe environment and a node supervisor.

Rules: the Tahoe environment is made once per session (shared across xdist
workers through a file lock); if it cannot be made, every interop test fails
with the reason, never skips: ``pytest -m 'not interop'`` is the explicit
opt-out. Grids are built per module from :mod:`tests.interop.tahoe_nodes`
helpers on the module-scoped :func:`supervisor`, which stops every process it
started at the end of the module; the one grid several modules share (Tahoe's
introducer and storage nodes, :func:`tahoe_grid`) runs under the
session-scoped :func:`session_supervisor`. When a test fails, the log tails
of the nodes it used are attached to its report.
"""

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.interop.grids import StorageGrid, start_storage_grid
from tests.interop.tahoe_env import TahoeEnv, TahoeInstallError, cache_root, ensure_tahoe_env
from tests.interop.tahoe_nodes import NodeSupervisor

TAHOE_GRID_SERVERS = 4


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log tails of the test's running nodes to a failing test's report."""
    report: pytest.TestReport = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, NodeSupervisor) and value.nodes:
                report.sections.append(("interop node logs", value.log_tails()))
    return report


@pytest.fixture(scope="session")
def tahoe_env() -> TahoeEnv:
    """The real Tahoe-LAFS 1.20 environment, installed into the cache on first use."""
    failure = None
    try:
        return ensure_tahoe_env(cache_root(os.environ))
    except TahoeInstallError as error:
        failure = str(error)
    pytest.fail(f"the Tahoe-LAFS 1.20 interop environment is unavailable: {failure}", pytrace=False)


@pytest.fixture(scope="session")
def grid_program() -> Path:
    """Our ``grid`` console script, installed next to the interpreter running the tests."""
    program = Path(sys.executable).with_name("grid")
    if not program.exists():
        pytest.fail(f"{program} does not exist: install the project (make install)", pytrace=False)
    return program


@pytest.fixture(scope="module")
def supervisor() -> Iterator[NodeSupervisor]:
    """Starts node processes for one test module and stops them all afterwards."""
    nodes = NodeSupervisor()
    yield nodes
    nodes.stop_all()


@pytest.fixture(scope="session")
def session_supervisor() -> Iterator[NodeSupervisor]:
    """Starts node processes shared by several modules and stops them all at the end."""
    nodes = NodeSupervisor()
    yield nodes
    nodes.stop_all()


@pytest.fixture(scope="session")
def tahoe_grid(
    tahoe_env: TahoeEnv,
    session_supervisor: NodeSupervisor,
    tmp_path_factory: pytest.TempPathFactory,
) -> StorageGrid:
    """A Tahoe 1.20 introducer and four Tahoe 1.20 storage nodes that joined it."""
    nicknames = [f"tahoe-storage-{index}" for index in range(TAHOE_GRID_SERVERS)]
    return start_storage_grid(
        session_supervisor,
        tmp_path_factory.mktemp("tahoe-grid"),
        tahoe_env.tahoe,
        [(tahoe_env.tahoe, nickname) for nickname in nicknames],
        introducer_web=False,
    )
