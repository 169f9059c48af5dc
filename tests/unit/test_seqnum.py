from pathlib import Path

from introducer.seqnum import SEQNUM_FILE, next_seqnum


def test_seqnum_grows_across_calls_and_restarts(tmp_path: Path) -> None:
    """Each call returns one more than the last, remembered in the node directory."""
    assert [next_seqnum(tmp_path) for _ in range(3)] == [1, 2, 3]
    assert (tmp_path / SEQNUM_FILE).read_text() == "3\n"


def test_unreadable_seqnum_starts_again(tmp_path: Path) -> None:
    """A garbled or negative seqnum file counts as 0, never as an error."""
    (tmp_path / SEQNUM_FILE).write_text("garbage")
    assert next_seqnum(tmp_path) == 1
    (tmp_path / SEQNUM_FILE).write_text("-7\n")
    assert next_seqnum(tmp_path) == 1
