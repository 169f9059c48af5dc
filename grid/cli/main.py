"""The ``grid`` command: argument parsing, dispatch, and turning errors into one line.

Rules: every failure the user can cause ends as one line on stderr and a
non-zero exit (2 for bad arguments, 1 for anything else), never a
traceback. Subcommand modules register themselves through ``add_parser``
(or ``add_parsers``) functions and return an exit status. Only the module
of the command being run is imported (the others get a one-line stub for
``--help``), so ``grid --version`` and the file commands start fast instead
of loading Twisted and Foolscap.
"""

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from grid import __version__
from grid.cli.node_http import DEFAULT_NODE_DIRECTORY
from grid.cli.parsing import Parser, UsageError
from grid.errors import GridError

EXIT_FAILURE = 1
EXIT_USAGE = 2

COMMANDS: dict[str, tuple[str, str]] = {
    "create-node": ("grid.cli.create_node", "create a node directory (storage and client)"),
    "create-client": ("grid.cli.create_node", "create a client node (no storage)"),
    "create-introducer": ("grid.cli.create_introducer", "create an introducer node directory"),
    "run": ("grid.cli.run_node", "run a node in the foreground"),
    "create-repair-agent": ("grid.cli.create_repair_agent", "create a repair agent directory"),
    "repair-agent": (
        "grid.cli.repair_agent",
        "run a repair agent (verify caps only), add caps, show status",
    ),
    "local": ("grid.cli.local_grid", "run a local grid: introducer, storage nodes, client"),
    "put": ("grid.cli.files", "upload a file; print its cap"),
    "get": ("grid.cli.files", "download a file by its cap"),
    "create-alias": ("grid.cli.aliases", "create a directory and name it"),
    "add-alias": ("grid.cli.aliases", "name an existing directory cap"),
    "list-aliases": ("grid.cli.aliases", "show every alias and its cap"),
    "mkdir": ("grid.cli.dirs", "create a directory; print its cap"),
    "ls": ("grid.cli.ls", "list a directory"),
    "cp": ("grid.cli.cp", "copy files and directories, local and in the grid"),
    "mv": ("grid.cli.dirs", "move or rename a file or directory"),
    "ln": ("grid.cli.dirs", "add another link to a file or directory"),
    "unlink": ("grid.cli.dirs", "remove a name from its directory"),
    "rm": ("grid.cli.dirs", "remove a name from its directory (same as unlink)"),
    "backup": ("grid.cli.backup", "back up a local directory incrementally"),
    "manifest": ("grid.cli.manifest", "list every object under a directory"),
    "stats": ("grid.cli.manifest", "count and size everything under a directory"),
    "check": ("grid.cli.check", "check the health of a file or directory"),
    "deep-check": ("grid.cli.check", "check everything under a directory"),
    "webopen": ("grid.cli.node_info", "open a directory or file in the web browser"),
    "status": ("grid.cli.node_info", "show the node's current and recent operations"),
    "debug": ("grid.cli.debug", "look inside caps and shares"),
}
_OPTIONS_WITH_VALUES = frozenset({"-d", "--node-directory", "--node-url"})
GATEWAY_COMMANDS = frozenset(
    {
        "put", "get", "create-alias", "add-alias", "list-aliases", "mkdir", "ls", "cp", "mv",
        "ln", "unlink", "rm", "backup", "manifest", "stats", "check", "deep-check", "webopen",
        "status",
    }
)  # fmt: skip
"""Commands that talk to a node's gateway: like Tahoe's, they also take -d and --node-url."""


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv`` (the first word that is not an option or its value)."""
    words = iter(argv)
    for word in words:
        if word in _OPTIONS_WITH_VALUES:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the parser for the ``grid`` command, loading the module ``argv`` asks for."""
    parser = Parser(prog="grid", description="Use and run a Tahoe-LAFS compatible grid.")
    parser.add_argument("-V", "--version", action="version", version=f"grid {__version__}")
    parser.add_argument(
        "-d",
        "--node-directory",
        type=Path,
        default=DEFAULT_NODE_DIRECTORY,
        metavar="DIR",
        help=f"the client node to use ({DEFAULT_NODE_DIRECTORY})",
    )
    parser.add_argument("--node-url", metavar="URL", help="the web gateway to use (overrides -d)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    wanted = _command_named(argv)
    if wanted in COMMANDS:
        module = importlib.import_module(COMMANDS[wanted][0])
        register = getattr(module, "add_parsers", None) or module.add_parser
        register(commands)
        if wanted in GATEWAY_COMMANDS:
            _add_node_options(commands.choices[wanted])
    for name, (_, help_text) in COMMANDS.items():
        if name not in commands.choices:
            commands.add_parser(name, help=help_text)
    return parser


def _add_node_options(command: argparse.ArgumentParser) -> None:
    """Accept ``-d``/``--node-url`` after the command too (there they win), and ``--dir-cap``."""
    command.add_argument(
        "-d",
        "--node-directory",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="the client node to use",
    )
    command.add_argument(
        "--node-url", default=argparse.SUPPRESS, metavar="URL", help="the web gateway to use"
    )
    command.add_argument(
        "--dir-cap", metavar="DIRCAP", help="use this directory cap as the 'tahoe:' alias"
    )


def _silence_stdout() -> None:
    """The reader of stdout went away (``grid ls | head``): send what is left nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    try:
        arguments = parser.parse_args(words)
        handler: Callable[[argparse.Namespace], int] = arguments.handler
        return handler(arguments)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILURE
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except (GridError, OSError) as error:
        print(f"grid: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("grid: interrupted", file=sys.stderr)
        return EXIT_FAILURE


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def run() -> NoReturn:
    """Entry point of the ``grid`` console script."""
    sys.exit(main())
