"""Argument-parsing pieces shared by every ``grid`` subcommand."""

import argparse
from typing import NoReturn


class UsageError(Exception):
    """The command line itself is wrong; reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and carry exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing usage, so the caller prints a single line."""
        raise UsageError(f"{self.prog}: {message}")
