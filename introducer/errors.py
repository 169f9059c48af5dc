"""The errors the introducer raises, one root for all of them.

Rules: whatever a remote node sends (an announcement, a subscription)
is checked once, at the boundary, and anything wrong with it raises one of
these classes, so the Foolscap adapter can report any
:class:`IntroducerError` to the sender as a remote failure and keep serving.
Messages say what was wrong in a few words; they never quote more than a
short prefix of what the peer sent, and never a key or secret.
"""

from grid.errors import GridError


class IntroducerError(GridError):
    """The root of every error the introducer raises on purpose."""


class AnnouncementError(IntroducerError, ValueError):
    """An announcement is malformed: wrong shape, bad key, bad JSON or missing fields."""


class AnnouncementTooLargeError(AnnouncementError):
    """An announcement message is bigger than the introducer accepts."""


class AnnouncementSignatureError(AnnouncementError):
    """An announcement's signature does not verify under the key it carries."""


class SubscriptionError(IntroducerError, ValueError):
    """A subscription request names no usable service."""


class CacheFormatError(IntroducerError, ValueError):
    """An announcement cache file is not a YAML list."""
