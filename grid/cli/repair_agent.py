"""``grid repair-agent``: run a repair agent, give it caps, and show what it knows.

Forms:

- ``grid repair-agent DIR`` (or ``run DIR``): run the agent in the
  foreground until SIGINT or SIGTERM, logging to stdout and
  ``DIR/logs/node.log``, as ``grid run`` does.
- ``grid repair-agent add DIR CAP...`` and ``grid repair-agent import DIR
  FILE|-``: add caps. Import reads ``grid manifest`` output (``--verify-cap``
  or plain): one cap per line, the first word of the line, anything after it
  (a path) ignored, blank lines and ``#`` comments skipped.

Rules: every cap is reduced to its verify cap before it reaches the state
file (:func:`~client.repair_agent.caps.reduce_to_verify_cap`), so the agent
never holds a read or write cap. Literal files (nothing to check) are
skipped and counted; a line that is not a cap fails the whole import,
naming the line, and nothing is added. Adding works while the agent runs
(the state file is locked for each change).

- ``grid repair-agent status DIR [--json]``: the state file as a table, or
  as the ``/durability`` JSON.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from client.repair_agent.caps import reduce_to_verify_cap
from client.repair_agent.errors import NothingToCheckError, UnverifiableCapError
from client.repair_agent.node import RepairAgentService
from client.repair_agent.report import durability_json
from client.repair_agent.settings import check_agent_keys
from client.repair_agent.state import AgentState
from client.repair_agent.store import StateStore, state_path
from grid.cli.parsing import Parser, UsageError
from grid.cli.run_node import run_services
from grid.config import NodeConfig, parse_config
from grid.errors import GridError
from introducer.node_identity import load_node_identity

_SUBCOMMANDS = frozenset({"run", "add", "import", "status"})
_MARKER = "repair-agent.tac"


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid repair-agent``."""
    parser = commands.add_parser(
        "repair-agent",
        help="run a repair agent, add caps to it, show its status",
        description="grid repair-agent [run] DIR | add DIR CAP... | import DIR FILE|- | "
        "status DIR [--json]",
    )
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="...")
    parser.set_defaults(handler=dispatch)


def _inner_parser() -> Parser:
    parser = Parser(prog="grid repair-agent")
    forms = parser.add_subparsers(dest="form", metavar="FORM", parser_class=Parser)
    forms.required = True
    run_form = forms.add_parser("run", help="run the agent in the foreground")
    run_form.add_argument("node_dir", type=Path, metavar="DIR")
    run_form.set_defaults(handler=run_agent)
    add_form = forms.add_parser("add", help="add caps (kept as verify caps)")
    add_form.add_argument("node_dir", type=Path, metavar="DIR")
    add_form.add_argument("caps", nargs="+", metavar="CAP")
    add_form.set_defaults(handler=add_caps)
    import_form = forms.add_parser("import", help="add the caps of a manifest file (or -)")
    import_form.add_argument("node_dir", type=Path, metavar="DIR")
    import_form.add_argument("source", metavar="FILE")
    import_form.set_defaults(handler=import_caps)
    status_form = forms.add_parser("status", help="what the agent knows of each file")
    status_form.add_argument("node_dir", type=Path, metavar="DIR")
    status_form.add_argument("--json", action="store_true", help="as JSON")
    status_form.set_defaults(handler=show_status)
    return parser


def dispatch(arguments: argparse.Namespace) -> int:
    """Run the form the words name (``run`` when the first word is a directory)."""
    words: list[str] = list(arguments.words)
    if not words:
        raise UsageError("grid repair-agent: say which agent directory (grid repair-agent DIR)")
    if words[0] not in _SUBCOMMANDS and not words[0].startswith("-"):
        words.insert(0, "run")
    inner = _inner_parser().parse_args(words)
    handler: Any = inner.handler
    result: int = handler(inner)
    return result


def _agent_dir(node_dir: Path) -> Path:
    if not (node_dir / _MARKER).is_file():
        raise UsageError(f"grid repair-agent: {node_dir} is not a repair agent directory")
    return node_dir.resolve()


def load_agent_config(node_dir: Path) -> NodeConfig:
    """Read the agent's tahoe.cfg and refuse keys an agent does not take."""
    config = parse_config((node_dir / "tahoe.cfg").read_text())
    check_agent_keys(config)
    return config


def _verify_caps_of_lines(lines: list[str]) -> tuple[list[str], int]:
    """The verify caps of the lines' first words, and how many literal files were skipped."""
    verify_caps: list[str] = []
    literal = 0
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            verify_caps.append(reduce_to_verify_cap(words[0]).to_string())
        except NothingToCheckError:
            literal += 1
        except UnverifiableCapError as error:
            raise GridError(f"line {number}: {error}; nothing was added") from None
    return verify_caps, literal


def _add(node_dir: Path, verify_caps: list[str], literal: int) -> int:
    store = StateStore(state_path(node_dir))
    before = len(store.load().files)
    after = store.update(lambda state: state.added(verify_caps, time.time()))
    added = len(after.files) - before
    held = len(verify_caps) - added
    note = f", {literal} literal files skipped (nothing to check)" if literal else ""
    print(f"added {added} files ({held} already held{note}); {len(after.files)} in all")
    return 0


def add_caps(arguments: argparse.Namespace) -> int:
    """``add DIR CAP...``."""
    node_dir = _agent_dir(arguments.node_dir)
    return _add(node_dir, *_verify_caps_of_lines(list(arguments.caps)))


def import_caps(arguments: argparse.Namespace) -> int:
    """``import DIR FILE|-``."""
    node_dir = _agent_dir(arguments.node_dir)
    if arguments.source == "-":
        text = sys.stdin.read()
    else:
        text = Path(arguments.source).read_text(encoding="utf-8")
    return _add(node_dir, *_verify_caps_of_lines(text.splitlines()))


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def status_lines(state: AgentState) -> list[str]:
    """The state as lines for people: one per file, then the totals."""
    lines = []
    for entry in durability_json(state)["files"]:
        shares = (
            "?"
            if entry["good-shares"] is None
            else f"{entry['good-shares']}/{entry['total-shares']}"
        )
        servers = "?" if entry["distinct-servers"] is None else entry["distinct-servers"]
        lines.append(
            f"{entry['storage-index']}  shares {shares}  servers {servers}  "
            f"checked {_when(entry['last-check'])}  repaired {_when(entry['last-repair'])}  "
            f"failures {len(entry['failures'])}  {entry['summary']}"
        )
    totals = durability_json(state)["totals"]
    lines.append(", ".join(f"{name}: {count}" for name, count in totals.items()))
    return lines


def show_status(arguments: argparse.Namespace) -> int:
    """``status DIR [--json]``."""
    node_dir = _agent_dir(arguments.node_dir)
    state = StateStore(state_path(node_dir)).load()
    if arguments.json:
        print(json.dumps(durability_json(state), indent=1))
        return 0
    for line in status_lines(state):
        print(line)
    return 0


def run_agent(arguments: argparse.Namespace) -> int:
    """``[run] DIR``: run the agent until SIGINT or SIGTERM."""
    node_dir = _agent_dir(arguments.node_dir)
    config = load_agent_config(node_dir)
    identity = load_node_identity(node_dir)
    from twisted.internet import reactor  # noqa: PLC0415  installing the reactor is the run's job

    service = RepairAgentService(node_dir, config, identity, reactor)
    return run_services(node_dir, [service], reactor, "the repair agent")
