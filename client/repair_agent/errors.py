"""The errors the repair agent raises on purpose."""

from client.errors import ClientError


class RepairAgentError(ClientError):
    """The root of the repair agent's errors."""


class UnverifiableCapError(RepairAgentError, ValueError):
    """A cap the agent cannot hold: not a cap, or one with nothing to verify (a literal file)."""


class NothingToCheckError(UnverifiableCapError):
    """A literal file's cap: its data is in the cap, so there are no shares to check."""


class StateFileError(RepairAgentError):
    """The agent's state file cannot be read or does not hold the agent's state."""
