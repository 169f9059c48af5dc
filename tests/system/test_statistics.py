"""``/statistics`` of real ``grid`` processes: a client's transfers, storage nodes' shares."""

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from grid.metrics import OPENMETRICS_CONTENT_TYPE
from tests.interop.tahoe_nodes import LOOPBACK, NodeSupervisor, free_port, port_answers, wait_for
from tests.openmetrics import parse_openmetrics
from tests.system.grid_processes import GRID, grid, listen_args, welcome

pytestmark = pytest.mark.slow

STORAGE_NODES = 2
TOTAL_SHARES = 10


@attrs.frozen
class StatisticsGrid:
    """A client and storage nodes whose web ports serve ``/statistics``."""

    client_url: str
    storage_urls: tuple[str, ...]
    introducer_url: str


def fetch(url: str) -> tuple[str, bytes]:
    """GET ``url``; return its content type and body."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  a loopback URL
        return response.headers["content-type"], response.read()


def statistics(base_url: str) -> dict[str, Any]:
    """A node's ``/statistics?t=json``."""
    _content_type, body = fetch(base_url + "statistics?t=json")
    result: dict[str, Any] = json.loads(body)
    return result


def immutable_shares(grid_nodes: StatisticsGrid) -> int:
    """Immutable shares held by every storage node, from their statistics."""
    return sum(
        statistics(url)["stats"]["storage_server.shares.immutable.shares"]
        for url in grid_nodes.storage_urls
    )


def _create_and_run(
    supervisor: NodeSupervisor, kind: str, node_dir: Path, *flags: str
) -> tuple[int, Any]:
    web_port = free_port()
    flags = (*flags, "--webport", f"tcp:{web_port}:interface={LOOPBACK}")
    grid(kind, *flags, str(node_dir)).check_returncode()
    process = supervisor.start(node_dir.name, [str(GRID), "run", str(node_dir)], node_dir)
    wait_for(lambda: port_answers(web_port), what=f"{node_dir.name}'s web port", node=process)
    return web_port, process


@pytest.fixture(scope="module")
def statistics_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatisticsGrid]:
    """An introducer, two storage nodes and a client, each a process with a web port."""
    base = tmp_path_factory.mktemp("grid")
    supervisor = NodeSupervisor()
    try:
        intro_port = free_port()
        intro_dir = base / "intro"
        intro_web, intro = _create_and_run(
            supervisor, "create-introducer", intro_dir, *listen_args(intro_port)
        )
        furl_file = intro_dir / "private" / "introducer.furl"
        wait_for(
            lambda: furl_file.exists() and port_answers(intro_port), what="introducer", node=intro
        )
        furl = furl_file.read_text().strip()
        storage_urls = []
        for number in range(STORAGE_NODES):
            port, _process = _create_and_run(
                supervisor,
                "create-node",
                base / f"storage{number}",
                "--introducer",
                furl,
                *listen_args(free_port()),
            )
            storage_urls.append(f"http://{LOOPBACK}:{port}/")
        client_dir = base / "client"
        port, client = _create_and_run(
            supervisor,
            "create-client",
            client_dir,
            "--introducer",
            furl,
            "--listen",
            "none",
            "--shares-happy",
            "1",
        )
        wait_for((client_dir / "node.url").exists, what="node.url", node=client)
        wait_for(
            lambda: (
                len(welcome(client_dir)["servers"]) == STORAGE_NODES
                and all(
                    s["connection_status"] == "connected" for s in welcome(client_dir)["servers"]
                )
            ),
            what="every storage server connected",
            node=client,
        )
        yield StatisticsGrid(
            f"http://{LOOPBACK}:{port}/",
            tuple(storage_urls),
            f"http://{LOOPBACK}:{intro_web}/",
        )
    finally:
        supervisor.stop_all()


def test_an_upload_and_a_download_are_counted(statistics_grid: StatisticsGrid) -> None:
    """After one PUT and one GET the counters are 1 and the bytes equal the file's size."""
    data = os.urandom(300_000)
    before = statistics(statistics_grid.client_url)["counters"]
    assert before["uploader.files_uploaded"] == 0
    put = urllib.request.Request(statistics_grid.client_url + "uri", data=data, method="PUT")  # noqa: S310  loopback
    with urllib.request.urlopen(put, timeout=60) as response:  # noqa: S310  loopback
        cap = response.read().decode()
    _content_type, body = fetch(statistics_grid.client_url + "uri/" + cap)
    assert body == data
    result = statistics(statistics_grid.client_url)
    counters = result["counters"]
    assert counters["uploader.files_uploaded"] == 1
    assert counters["uploader.bytes_uploaded"] == len(data)
    assert counters["uploader.failures"] == 0
    assert counters["downloader.files_downloaded"] == 1
    assert counters["downloader.bytes_downloaded"] == len(data)
    stats = result["stats"]
    assert stats["uploader.latency_seconds.count"] == 1
    assert stats["uploader.latency_seconds.sum"] > 0
    assert stats["storage_broker.connected_servers"] == STORAGE_NODES


def test_storage_nodes_count_the_shares_an_upload_adds(statistics_grid: StatisticsGrid) -> None:
    """Every share of a new file shows up in the storage nodes' share counts."""
    before = immutable_shares(statistics_grid)
    allocations = sum(
        statistics(url)["counters"]["storage_server.allocate"]
        for url in statistics_grid.storage_urls
    )
    put = urllib.request.Request(  # noqa: S310  loopback
        statistics_grid.client_url + "uri", data=os.urandom(100_000), method="PUT"
    )
    with urllib.request.urlopen(put, timeout=60):  # noqa: S310  loopback
        pass
    assert immutable_shares(statistics_grid) == before + TOTAL_SHARES
    assert (
        sum(
            statistics(url)["counters"]["storage_server.allocate"]
            for url in statistics_grid.storage_urls
        )
        > allocations
    )
    stats = statistics(statistics_grid.storage_urls[0])["stats"]
    assert stats["storage_server.disk_total"] > 0
    assert stats["storage_server.disk_avail"] > 0


def test_openmetrics_is_served_with_its_content_type(statistics_grid: StatisticsGrid) -> None:
    """t=openmetrics answers strict OpenMetrics text with the OpenMetrics content type."""
    samples = {}
    for url in (statistics_grid.client_url, *statistics_grid.storage_urls):
        content_type, body = fetch(url + "statistics?t=openmetrics")
        assert content_type == OPENMETRICS_CONTENT_TYPE
        samples[url] = parse_openmetrics(body.decode("utf-8"))
    client = samples[statistics_grid.client_url]
    assert client["grid_storage_broker_connected_servers"] == STORAGE_NODES
    assert "grid_storage_server_disk_avail" not in client
    for url in statistics_grid.storage_urls:
        assert samples[url]["grid_storage_server_disk_avail"] > 0


def test_an_unknown_output_is_a_400(statistics_grid: StatisticsGrid) -> None:
    """t=something-else is refused with 400 and a one-line reason."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(statistics_grid.client_url + "statistics?t=xml")
    assert caught.value.code == 400
    assert b"t=openmetrics" in caught.value.read()


def test_the_introducer_counts_what_it_holds(statistics_grid: StatisticsGrid) -> None:
    """The introducer's /statistics shows the storage announcements and the subscriptions."""
    stats = statistics(statistics_grid.introducer_url)["stats"]
    assert stats["introducer.announcements"] == STORAGE_NODES
    assert stats["introducer.announcing_hosts"] == STORAGE_NODES
    assert stats["introducer.subscriptions"] >= 1
    content_type, body = fetch(statistics_grid.introducer_url + "statistics?t=openmetrics")
    assert content_type.startswith("application/openmetrics-text")
    parse_openmetrics(body.decode("utf-8"))
    _type, page = fetch(statistics_grid.introducer_url)
    assert b"<html" in page.lower()
