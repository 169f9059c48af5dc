"""Introducers run by ``tahoe`` or ``grid`` for the interop grids.

Rules: like the rest of the harness, an introducer listens on 127.0.0.1
only, runs under a :class:`~tests.interop.tahoe_nodes.NodeSupervisor`, is
created with the same flags whatever the program (``create-introducer
--port --location``), and is waited for by polling with a timeout that
raises with the node's log tails. Nodes join one with ``--introducer FURL``
(:func:`~tests.interop.tahoe_nodes.start_storage_nodes` and the client
starters).
"""

from pathlib import Path

import attrs

from tests.interop.tahoe_nodes import (
    LOOPBACK,
    NodeProcess,
    NodeSupervisor,
    free_port,
    port_answers,
    run_command,
    wait_for,
)
from tests.interop.web_api import web_answers


@attrs.frozen
class RunningIntroducer:
    """An introducer process and how to reach it."""

    node: NodeProcess
    furl: str
    web_url: str | None


def start_introducer(
    supervisor: NodeSupervisor, program: Path, node_dir: Path, *, with_web: bool
) -> RunningIntroducer:
    """Create and run an introducer with ``program``; wait for its FURL (and status page).

    ``with_web`` adds ``--webport``, which ``grid create-introducer`` takes
    and ``tahoe create-introducer`` does not.
    """
    port = free_port()
    web_port = free_port() if with_web else None
    web_flags = [] if web_port is None else ["--webport", f"tcp:{web_port}:interface={LOOPBACK}"]
    listen_flags = [
        "--port",
        f"tcp:{port}:interface={LOOPBACK}",
        "--location",
        f"tcp:{LOOPBACK}:{port}",
    ]
    run_command([str(program), "create-introducer", *listen_flags, *web_flags, str(node_dir)])
    node = supervisor.start(node_dir.name, [str(program), "run", str(node_dir)], node_dir)
    furl_file = node_dir / "private" / "introducer.furl"
    wait_for(
        lambda: furl_file.exists() and furl_file.stat().st_size > 0 and port_answers(port),
        what=f"private/introducer.furl and a listener on port {port}",
        node=node,
    )
    web_url = None if web_port is None else f"http://{LOOPBACK}:{web_port}/"
    if web_url is not None:
        wait_for(lambda: web_answers(web_url), what=f"the status page at {web_url}", node=node)
    return RunningIntroducer(node, furl_file.read_text().strip(), web_url)
