"""Fixtures of the browser tests: a real grid of ``grid`` processes and a headless Chromium.

Rules: the browser is Debian's ``chromium`` driven through Debian's
``chromedriver`` (never a driver selenium would download); when either is
not installed the tests are skipped, saying how to install them
(``tests/browser/install_browser.sh``). Chromium runs headless with a
throw-away profile and its background network traffic turned off; the grid
listens on 127.0.0.1 only. Screenshots go to ``tests/browser/artifacts/``
(ignored by git), one per step, named after the test.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.tahoe_nodes import NodeSupervisor
from tests.system.grid_processes import LocalGrid, start_grid

ARTIFACTS = Path(__file__).parent / "artifacts"
INSTALL_HINT = "run tests/browser/install_browser.sh (as root) to install them"
STORAGE_NODES = 3

_CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--window-size=1200,900",
)


def browser_programs() -> tuple[str, str] | None:
    """The paths of ``chromium`` and ``chromedriver``, or None if either is missing."""
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium under selenium, shared by the session's browser tests."""
    programs = browser_programs()
    if programs is None:
        pytest.skip(f"chromium and chromedriver are not installed: {INSTALL_HINT}")
    from selenium import webdriver  # noqa: PLC0415  only once chromium is known to be there
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    chromium, driver_path = programs
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in _CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def local_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """An introducer, three storage nodes and a client (k=3, happy=3, N=10) as processes."""
    if browser_programs() is None:
        pytest.skip(f"chromium and chromedriver are not installed: {INSTALL_HINT}")
    supervisor = NodeSupervisor()
    try:
        yield start_grid(
            supervisor, tmp_path_factory.mktemp("grid"), storage_nodes=STORAGE_NODES, happy=3
        )
    finally:
        supervisor.stop_all()


@pytest.fixture
def screenshot(browser: Any, request: pytest.FixtureRequest) -> Any:
    """``screenshot(step)`` saves the browser's view as ``artifacts/<test>-<n>-<step>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    counter = iter(range(1, 100))

    def save(step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        browser.save_screenshot(str(path))
        return path

    return save
