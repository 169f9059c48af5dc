"""The ``grid`` command: argument parsing, dispatch, and turning errors into one line.

Rules: every failure the user can cause ends as one line on stderr and a
non-zero exit (2 for bad arguments, 1 for anything else), never a
traceback. Subcommand modules register themselves through ``add_parser``
functions and return an exit status.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from grid import __version__
from grid.cli import create_introducer, create_node, debug, files, local_grid, run_node
from grid.cli.node_http import DEFAULT_NODE_DIRECTORY
from grid.cli.parsing import Parser, UsageError
from grid.errors import GridError

EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for the whole ``grid`` command."""
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
    create_node.add_parsers(commands)
    create_introducer.add_parser(commands)
    run_node.add_parser(commands)
    files.add_parsers(commands)
    debug.add_parser(commands)
    local_grid.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = arguments.handler
        return handler(arguments)
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
