import io

from grid.cli.progress import CountingReader, Progress


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be a terminal."""
        return True


def test_progress_draws_on_a_terminal_for_large_transfers() -> None:
    """Over 1 MiB on a terminal, reading draws a line that ends with a newline."""
    stream = TerminalStream()
    progress = Progress("uploading", 3 * 1024 * 1024, quiet=False, stream=stream)
    reader = CountingReader(io.BytesIO(b"x" * 3 * 1024 * 1024), progress)
    while reader.read(1024 * 1024):
        pass
    progress.finish()
    assert "uploading: 3.0 MiB of 3.0 MiB (100%)" in stream.getvalue()
    assert stream.getvalue().endswith("\n")


def test_progress_is_silent_when_quiet_small_or_not_a_terminal() -> None:
    """Quiet, small transfers and non-terminals print nothing."""
    for stream, total, quiet in [
        (TerminalStream(), 3 * 1024 * 1024, True),
        (TerminalStream(), 1000, False),
        (io.StringIO(), 3 * 1024 * 1024, False),
    ]:
        progress = Progress("x", total, quiet=quiet, stream=stream)
        progress.advance(total)
        progress.finish()
        assert stream.getvalue() == ""
