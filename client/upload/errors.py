"""The errors an upload raises, under one root below :class:`~client.errors.ClientError`.

Rules: an upload that cannot reach servers-of-happiness raises
:class:`UploadUnhappinessError`, whose message says how many servers were
asked, how many answered, how many distinct shares were placed and what the
last server failure was, so a person can tell a small grid from a broken one.
A source that yields fewer bytes than it claimed raises
:class:`UploadSourceError`. Messages never carry a key, a cap or a secret.
"""

from client.errors import ClientError


class UploadError(ClientError):
    """The root of every error an upload raises on purpose."""


class UploadSourceError(UploadError, ValueError):
    """The file being uploaded did not yield the bytes it claimed to have."""


class UploadUnhappinessError(UploadError):
    """Too few servers took shares for the upload to reach servers-of-happiness."""

    def __init__(
        self,
        *,
        asked: int,
        answered: int,
        placed: int,
        happiness: int,
        happy: int,
        last_failure: str = "",
    ) -> None:
        """Record what selection and writing achieved, and say it in the message."""
        message = (
            f"shares reached only {happiness} distinct servers, {happy} are needed: "
            f"asked {asked} servers, {answered} answered, {placed} shares placed"
        )
        super().__init__(f"{message}; last failure: {last_failure}" if last_failure else message)
        self.asked = asked
        self.answered = answered
        self.placed = placed
        self.happiness = happiness
        self.happy = happy
        self.last_failure = last_failure


class ServerTimeoutError(UploadError, TimeoutError):
    """A storage server did not answer a call in time; the upload stops using it."""
