"""The web UI in a real headless Chromium against a real grid: the flows a person goes through."""

import json
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.browser.conftest import STORAGE_NODES
from tests.system.grid_processes import LocalGrid

pytest.importorskip("selenium", reason="selenium is not installed: run install_browser.sh")

from selenium.common.exceptions import (
    NoAlertPresentException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[str], Path]
PATIENCE = 120
"""Seconds to wait for a page that a grid operation produces (uploads go to real servers)."""

HOSTILE_NAME = "<img src=x onerror=alert(1)> & \"quotes\" 'too' <script>alert(2)<script>"


def fetch(url: str) -> tuple[bytes, Any]:
    """GET ``url`` outside the browser: its body and headers."""
    with urllib.request.urlopen(url, timeout=PATIENCE) as response:  # noqa: S310  loopback
        return response.read(), response.headers


def gone(element: WebElement) -> Callable[[WebDriver], bool]:
    """A wait condition: ``element`` no longer belongs to the page.

    Chromium may report a node that is being detached as "does not belong to
    the document" (a plain WebDriverException) rather than as stale; both
    mean the old page is gone.
    """

    def check(_driver: WebDriver) -> bool:
        try:
            element.is_enabled()
        except (StaleElementReferenceException, WebDriverException):
            return True
        return False

    return check


def submit(browser: WebDriver, button: WebElement) -> None:
    """Click a form's button and wait until the page it leads to has replaced this one."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, PATIENCE).until(gone(old_page))
    WebDriverWait(browser, PATIENCE).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def follow(browser: WebDriver, link: WebElement) -> None:
    """Click a link and wait for the next page."""
    submit(browser, link)


def rows(browser: WebDriver) -> dict[str, list[WebElement]]:
    """The children table: each row's cells, by the text of its name cell."""
    found = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "table.children tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        found[cells[0].text] = cells
    return found


def heading(browser: WebDriver) -> str:
    """The page's first heading."""
    return browser.find_element(By.TAG_NAME, "h1").text


def new_directory(browser: WebDriver, grid: LocalGrid, screenshot: Screenshot) -> str:
    """Create a directory with the welcome page's button; return its page's URL."""
    browser.get(grid.url)
    button = browser.find_element(By.CSS_SELECTOR, "form.mkdir button")
    submit(browser, button)
    url = browser.current_url
    assert unquote(url).startswith(grid.url + "uri/URI:DIR2"), url
    assert heading(browser) == "root"
    screenshot("new-directory")
    return url


def upload(browser: WebDriver, path: Path, name: str) -> None:
    """Fill and send this directory page's upload form."""
    form = browser.find_element(By.CSS_SELECTOR, "form.upload")
    form.find_element(By.NAME, "file").send_keys(str(path))
    form.find_element(By.NAME, "name").send_keys(name)
    submit(browser, form.find_element(By.TAG_NAME, "button"))


def make_directory(browser: WebDriver, name: str) -> None:
    """Fill and send this directory page's mkdir form."""
    form = browser.find_element(By.CSS_SELECTOR, "form.mkdir")
    form.find_element(By.NAME, "name").send_keys(name)
    submit(browser, form.find_element(By.TAG_NAME, "button"))


def link_in(cells: list[WebElement], text: str) -> WebElement:
    """The link with ``text`` in a row."""
    return next(
        link for cell in cells for link in cell.find_elements(By.TAG_NAME, "a") if link.text == text
    )


def assert_no_cap_shown(browser: WebDriver) -> None:
    """No cap is printed on the page (caps only live inside links)."""
    assert "URI:" not in browser.find_element(By.TAG_NAME, "body").text


def test_welcome_page_shows_the_grid(
    browser: WebDriver, local_grid: LocalGrid, screenshot: Screenshot
) -> None:
    """The welcome page lists every storage server as connected, with its space."""
    browser.get(local_grid.url)
    screenshot("welcome")
    assert "welcome" in browser.title
    servers = browser.find_elements(By.CSS_SELECTOR, "table.servers tbody tr")
    assert len(servers) == STORAGE_NODES
    for server in servers:
        cells = [cell.text for cell in server.find_elements(By.TAG_NAME, "td")]
        assert cells[2] == "connected"
        assert cells[3].endswith("B")
    assert f"{STORAGE_NODES} of {STORAGE_NODES} connected" in browser.page_source
    assert browser.find_elements(By.CSS_SELECTOR, "form.open-cap input[name=uri]")
    body, headers = fetch(local_grid.url)
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<script" not in body


def test_upload_navigate_and_download(
    browser: WebDriver, local_grid: LocalGrid, screenshot: Screenshot, tmp_path: Path
) -> None:
    """Create a directory, upload into it and a subdirectory, and download the same bytes."""
    outer_bytes, inner_bytes = os.urandom(150_000), os.urandom(3_000)
    (tmp_path / "outer.bin").write_bytes(outer_bytes)
    (tmp_path / "inner.bin").write_bytes(inner_bytes)
    new_directory(browser, local_grid, screenshot)
    assert "This directory is empty." in browser.page_source

    upload(browser, tmp_path / "outer.bin", "photo.bin")
    screenshot("uploaded")
    listing = rows(browser)
    assert list(listing) == ["photo.bin"]
    assert [cell.text for cell in listing["photo.bin"][1:3]] == ["file", "150.0 kB"]
    assert listing["photo.bin"][3].text.endswith("UTC")

    make_directory(browser, "sub dir")
    screenshot("made-directory")
    assert sorted(rows(browser)) == ["photo.bin", "sub dir/"]
    assert rows(browser)["sub dir/"][1].text == "dir"
    assert_no_cap_shown(browser)

    follow(browser, rows(browser)["sub dir/"][0].find_element(By.TAG_NAME, "a"))
    assert heading(browser) == "sub dir"
    crumbs = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "nav.crumbs a")]
    assert crumbs == ["root"]
    upload(browser, tmp_path / "inner.bin", "inner.bin")
    screenshot("subdirectory")
    assert heading(browser) == "sub dir"
    inner_cells = rows(browser)["inner.bin"]
    body, headers = fetch(link_in(inner_cells, "download").get_attribute("href") or "")
    assert body == inner_bytes
    assert headers["Content-Disposition"].startswith("attachment")
    assert "inner.bin" in headers["Content-Disposition"]

    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav.crumbs a"))
    assert heading(browser) == "root"
    outer_cells = rows(browser)["photo.bin"]
    assert fetch(link_in(outer_cells, "download").get_attribute("href") or "")[0] == outer_bytes
    opened = link_in(outer_cells, "photo.bin").get_attribute("href") or ""
    assert fetch(opened)[0] == outer_bytes
    assert_no_cap_shown(browser)

    follow(browser, link_in(outer_cells, "info"))
    screenshot("info")
    assert heading(browser) == "photo.bin"
    caps = browser.find_elements(By.CSS_SELECTOR, "table.caps tr")
    shown = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in caps
    }
    assert shown["read-only cap"].startswith("URI:CHK:")
    assert shown["verify cap"].startswith("URI:CHK-Verifier:")


def test_rename_and_unlink(
    browser: WebDriver, local_grid: LocalGrid, screenshot: Screenshot, tmp_path: Path
) -> None:
    """Rename a child through the rename form, then delete it with its row's button."""
    source = tmp_path / "draft.txt"
    source.write_bytes(b"a draft that is long enough not to be a literal file\n" * 20)
    new_directory(browser, local_grid, screenshot)
    upload(browser, source, "draft.txt")
    make_directory(browser, "keep")
    assert sorted(rows(browser)) == ["draft.txt", "keep/"]

    form = browser.find_element(By.CSS_SELECTOR, "form.rename")
    Select(form.find_element(By.NAME, "from_name")).select_by_value("draft.txt")
    form.find_element(By.NAME, "to_name").send_keys("final.txt")
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    screenshot("renamed")
    assert sorted(rows(browser)) == ["final.txt", "keep/"]
    renamed = rows(browser)["final.txt"]
    assert fetch(link_in(renamed, "download").get_attribute("href") or "")[0] == source.read_bytes()

    submit(browser, renamed[4].find_element(By.TAG_NAME, "button"))
    screenshot("unlinked")
    assert list(rows(browser)) == ["keep/"]


def test_hostile_name_is_shown_as_text(
    browser: WebDriver, local_grid: LocalGrid, screenshot: Screenshot, tmp_path: Path
) -> None:
    """A name that looks like markup is listed literally and runs nothing."""
    source = tmp_path / "x.bin"
    source.write_bytes(os.urandom(1000))
    new_directory(browser, local_grid, screenshot)
    upload(browser, source, HOSTILE_NAME)
    screenshot("hostile-name")
    assert list(rows(browser)) == [HOSTILE_NAME]
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "script") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018  reading it is what raises when none is open
    cells = rows(browser)[HOSTILE_NAME]
    assert fetch(link_in(cells, "download").get_attribute("href") or "")[0] == source.read_bytes()


def test_operation_page_shows_a_manifest(
    browser: WebDriver, local_grid: LocalGrid, screenshot: Screenshot, tmp_path: Path
) -> None:
    """A manifest started under a handle is readable at /operations/H, with a link to its JSON."""
    source = tmp_path / "listed.txt"
    source.write_bytes(b"a file the manifest lists, long enough to be stored on servers\n" * 5)
    directory = new_directory(browser, local_grid, screenshot)
    upload(browser, source, "listed.txt")
    start = urllib.request.Request(  # noqa: S310  loopback
        directory.split("?")[0] + "?t=start-manifest&ophandle=browser-m1", method="POST"
    )
    with urllib.request.urlopen(start, timeout=PATIENCE):  # noqa: S310  loopback
        pass
    status_url = local_grid.url + "operations/browser-m1?output=JSON"
    WebDriverWait(browser, PATIENCE).until(lambda _: json.loads(fetch(status_url)[0])["finished"])
    browser.get(local_grid.url + "operations/browser-m1")
    screenshot("operation")
    assert browser.find_element(By.TAG_NAME, "p").text.startswith("finished")
    assert heading(browser) == "Operation browser-m1"
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.name")]
    assert "listed.txt" in names
    follow(browser, browser.find_element(By.LINK_TEXT, "the same status as JSON"))
    assert '"finished": true' in browser.find_element(By.TAG_NAME, "body").text
