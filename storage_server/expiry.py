"""Lease expiry policy: the ``[storage] expire.*`` settings and the expiry decision.

Rules:

- :func:`parse_expiry_config` reads the ``[storage]`` keys of ``tahoe.cfg``
  with Tahoe's meaning and defaults, and raises only
  :class:`ExpiryConfigError`, naming the key and the accepted forms.
- Leases store only an expiration time; the grant (or last renewal) time is
  that time less the fixed 31-day lease period.
- ``age`` mode: without an override a lease has expired once its own
  expiration time is in the past; with ``expire.override_lease_duration`` it
  has expired once its grant time plus that duration is in the past.
  ``cutoff-date`` mode: a lease has expired if it was granted before
  midnight UTC starting the cutoff date. Comparisons are strict, as Tahoe's.
- A share has expired when every one of its leases has, and its type
  (immutable or mutable) may be expired. A share with no lease at all has
  expired. Tahoe's lease checker counts such a share as removable (it has
  no valid lease), but it removes shares only by cancelling expired leases,
  so it leaves a lease-less file in place; we delete it, because the server
  deletes a share when its last lease is cancelled: a share without leases
  is one no client is keeping alive.
- The decision does not look at ``enabled``: with expiry disabled the crawler
  still reports what it would have deleted. :meth:`ExpiryPolicy.should_delete`
  adds the switch.
"""

import calendar
import datetime
import enum
import re
from collections.abc import Callable, Iterable, Mapping

import attrs

from grid.config import parse_bool
from grid.errors import ConfigError

LEASE_PERIOD_SECONDS = 31 * 24 * 60 * 60

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_DURATION_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), _HOUR),
    **dict.fromkeys(("d", "day", "days"), _DAY),
    **dict.fromkeys(("mo", "month", "months"), 31 * _DAY),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * _DAY),
}
_DURATION_RE = re.compile(r"([0-9]{1,12})\s*([a-z]+)", re.ASCII)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DURATION_FORMS = "a whole number and a unit, such as '60 days', '3 months', '1 year' or '12h'"


class ExpiryConfigError(ConfigError):
    """An ``[storage] expire.*`` setting is missing or malformed (a GridError and ValueError)."""


class ExpiryMode(enum.Enum):
    """How the age of a lease is judged (``expire.mode``)."""

    AGE = "age"
    CUTOFF_DATE = "cutoff-date"


class ShareType(enum.Enum):
    """The two kinds of share container a server keeps."""

    IMMUTABLE = "immutable"
    MUTABLE = "mutable"


@attrs.frozen
class ExpiryPolicy:
    """The expiry settings in force; times are unix seconds, durations seconds.

    ``cutoff_date`` is required in ``cutoff-date`` mode and ignored in
    ``age`` mode; ``override_lease_duration`` is used only in ``age`` mode.
    """

    enabled: bool = False
    mode: ExpiryMode = ExpiryMode.AGE
    override_lease_duration: int | None = None
    cutoff_date: int | None = None
    expire_immutable: bool = True
    expire_mutable: bool = True

    def __attrs_post_init__(self) -> None:
        """A cutoff-date policy needs its date; durations are not negative."""
        if self.mode is ExpiryMode.CUTOFF_DATE and self.cutoff_date is None:
            raise ExpiryConfigError("expire.mode = cutoff-date needs expire.cutoff_date")
        if self.override_lease_duration is not None and self.override_lease_duration < 0:
            raise ExpiryConfigError("expire.override_lease_duration cannot be negative")

    def lease_expired(self, expiration_time: int, now: float) -> bool:
        """Tell whether a lease with this expiration time has expired at ``now``."""
        grant_time = expiration_time - LEASE_PERIOD_SECONDS
        if self.mode is ExpiryMode.CUTOFF_DATE:
            return self.cutoff_date is not None and grant_time < self.cutoff_date
        if self.override_lease_duration is not None:
            return grant_time + self.override_lease_duration < now
        return expiration_time < now

    def type_may_expire(self, share_type: ShareType) -> bool:
        """Tell whether shares of this type are subject to expiry at all."""
        if share_type is ShareType.IMMUTABLE:
            return self.expire_immutable
        return self.expire_mutable

    def share_expired(
        self, share_type: ShareType, expiration_times: Iterable[int], now: float
    ) -> bool:
        """Tell whether a share has expired: its type may expire and all its leases have.

        ``expiration_times`` is consumed only until a live lease is found. A
        share with no lease has expired.
        """
        if not self.type_may_expire(share_type):
            return False
        return all(self.lease_expired(expiration, now) for expiration in expiration_times)

    def should_delete(
        self, share_type: ShareType, expiration_times: Iterable[int], now: float
    ) -> bool:
        """Tell whether the crawler deletes this share: expiry is enabled and it has expired."""
        return self.enabled and self.share_expired(share_type, expiration_times, now)


def parse_duration(text: str) -> int:
    """Parse a duration such as ``60 days``, ``3 months``, ``1 year`` or ``12h`` into seconds.

    A month is 31 days and a year 365 days, as in Tahoe. Raises
    ExpiryConfigError for anything else.
    """
    match = _DURATION_RE.fullmatch(text.strip().lower())
    unit = None if match is None else _DURATION_UNITS.get(match.group(2))
    if match is None or unit is None:
        raise ExpiryConfigError(f"{text!r} is not a duration: use {_DURATION_FORMS}")
    return int(match.group(1)) * unit


def parse_cutoff_date(text: str) -> int:
    """Parse ``YYYY-MM-DD`` into the unix time of midnight UTC that day."""
    match = _DATE_RE.fullmatch(text.strip())
    problem = ExpiryConfigError(f"{text!r} is not a date: use YYYY-MM-DD")
    if match is None:
        raise problem
    try:
        date = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise problem from None
    return calendar.timegm(date.timetuple())


def _parse_flag(values: Mapping[str, str], key: str, default: bool) -> bool:
    text = values.get(key)
    if text is None:
        return default
    try:
        return parse_bool(text)
    except ConfigError as error:
        raise ExpiryConfigError(f"[storage] {key}: {error}") from None


def _parse_mode(values: Mapping[str, str]) -> ExpiryMode:
    text = values.get("expire.mode", ExpiryMode.AGE.value)
    try:
        return ExpiryMode(text.strip().lower())
    except ValueError:
        raise ExpiryConfigError(
            f"[storage] expire.mode: {text!r} is not a mode: use 'age' or 'cutoff-date'"
        ) from None


def _parse_keyed(values: Mapping[str, str], key: str, parse: Callable[[str], int]) -> int | None:
    text = values.get(key)
    if text is None:
        return None
    try:
        return parse(text)
    except ExpiryConfigError as error:
        raise ExpiryConfigError(f"[storage] {key}: {error}") from None


def parse_expiry_config(values: Mapping[str, str]) -> ExpiryPolicy:
    """Build the policy from the ``[storage]`` section's keys; others are ignored.

    As in Tahoe, ``expire.override_lease_duration`` is checked in every mode
    and ``expire.cutoff_date`` only in ``cutoff-date`` mode, where it is
    required. Raises ExpiryConfigError naming the bad key.
    """
    mode = _parse_mode(values)
    override = _parse_keyed(values, "expire.override_lease_duration", parse_duration)
    cutoff = None
    if mode is ExpiryMode.CUTOFF_DATE:
        cutoff = _parse_keyed(values, "expire.cutoff_date", parse_cutoff_date)
        if cutoff is None:
            raise ExpiryConfigError(
                "[storage] expire.mode = cutoff-date needs expire.cutoff_date = YYYY-MM-DD"
            )
    return ExpiryPolicy(
        enabled=_parse_flag(values, "expire.enabled", default=False),
        mode=mode,
        override_lease_duration=override,
        cutoff_date=cutoff,
        expire_immutable=_parse_flag(values, "expire.immutable", default=True),
        expire_mutable=_parse_flag(values, "expire.mutable", default=True),
    )
