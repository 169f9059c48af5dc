"""``-d`` and ``--node-url`` after a gateway command, as Tahoe's CLI takes them."""

from pathlib import Path

import pytest

from grid.cli.main import GATEWAY_COMMANDS, build_parser, main
from grid.cli.node_http import DEFAULT_NODE_DIRECTORY


def parse(*argv: str) -> dict[str, object]:
    """Parse a ``grid`` command line; return its arguments as a dict."""
    return vars(build_parser(argv).parse_args(argv))


@pytest.mark.parametrize("where", ["before", "after"])
def test_node_directory_before_or_after_the_command(where: str) -> None:
    """``grid -d DIR ls`` and ``grid ls -d DIR`` mean the same."""
    argv = ("-d", "/n", "ls") if where == "before" else ("ls", "-d", "/n")
    assert parse(*argv)["node_directory"] == Path("/n")


def test_after_the_command_wins() -> None:
    """Given on both sides, the option after the command is the one used."""
    parsed = parse("--node-url", "http://a:1/", "get", "--node-url", "http://b:2/", "URI:LIT:aa")
    assert parsed["node_url"] == "http://b:2/"
    assert parse("-d", "/first", "put", "--node-directory", "/second")["node_directory"] == Path(
        "/second"
    )


def test_defaults_stay_when_not_given() -> None:
    """Without either option, the global defaults hold."""
    parsed = parse("ls")
    assert parsed["node_directory"] == DEFAULT_NODE_DIRECTORY
    assert parsed["node_url"] is None


@pytest.mark.parametrize("command", sorted(GATEWAY_COMMANDS))
def test_every_gateway_command_takes_them(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each gateway command's help lists both options (and building its parser works)."""
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--node-directory" in text
    assert "--node-url" in text


def test_node_commands_do_not_take_them(capsys: pytest.CaptureFixture[str]) -> None:
    """create-node has its own directory argument: -d after it is refused as usual."""
    assert main(["create-node", "-d", "/x"]) == 2
    assert capsys.readouterr().err.strip() == "grid: unrecognized arguments: -d"
