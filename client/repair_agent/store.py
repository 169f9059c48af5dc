"""The state file: read whole, changed under a lock, replaced atomically.

Rules: the state lives in one JSON file (``private/repair-agent.json`` of
the agent's directory). Every change is a read-modify-write done while
holding an exclusive ``flock`` on a lock file beside it, so the running
agent and ``grid repair-agent add`` / ``import`` never lose each other's
changes. The new text goes to a temporary file that is fsynced and then
renamed over the old one, so a crash leaves the old state or the new one,
never a torn file. A missing file is an empty state; an unreadable one
raises :class:`~client.repair_agent.errors.StateFileError` (the agent will
not start over it and lose what it knew).
"""

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from client.repair_agent.errors import StateFileError
from client.repair_agent.state import AgentState, state_from_json, state_to_json

STATE_FILE = Path("private") / "repair-agent.json"


def state_path(node_dir: Path) -> Path:
    """Where the agent in ``node_dir`` keeps its state."""
    return node_dir / STATE_FILE


class StateStore:
    """The agent's state file at ``path``."""

    def __init__(self, path: Path) -> None:
        """Remember the path; nothing is read until asked."""
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    def load(self) -> AgentState:
        """The state now on disk (an empty state if there is no file yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return AgentState()
        except (OSError, UnicodeDecodeError) as error:
            raise StateFileError(f"cannot read {self.path}: {error}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise StateFileError(f"{self.path} is not JSON") from None
        try:
            return state_from_json(data)
        except StateFileError as error:
            raise StateFileError(f"{self.path}: {error}") from None

    def update(self, change: Callable[[AgentState], AgentState]) -> AgentState:
        """Apply ``change`` to the state on disk, under the lock; return the new state."""
        with self._locked():
            state = change(self.load())
            self._write(state)
            return state

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write(self, state: AgentState) -> None:
        text = json.dumps(state_to_json(state), indent=1, sort_keys=True) + "\n"
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(self.path)
