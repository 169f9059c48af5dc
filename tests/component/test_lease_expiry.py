import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.errors import ConfigError, GridError
from storage_server.expiry import (
    LEASE_PERIOD_SECONDS,
    ExpiryConfigError,
    ExpiryMode,
    ExpiryPolicy,
    ShareType,
    parse_cutoff_date,
    parse_duration,
    parse_expiry_config,
)

DAY = 24 * 60 * 60
NOW = 1_700_000_000
EXPIRY_KEYS = (
    "expire.enabled",
    "expire.mode",
    "expire.override_lease_duration",
    "expire.cutoff_date",
    "expire.immutable",
    "expire.mutable",
)

expiration_times = st.integers(min_value=0, max_value=2**32 - 1)
share_types = st.sampled_from(ShareType)


def test_age_mode_uses_the_lease_expiration_time() -> None:
    """Without an override a lease expires once its expiration time is strictly past."""
    policy = ExpiryPolicy()
    assert policy.lease_expired(NOW - 1, NOW)
    assert not policy.lease_expired(NOW, NOW)
    assert not policy.lease_expired(NOW + 1, NOW)


def test_age_mode_override_counts_from_the_grant_time() -> None:
    """With an override a lease expires once grant time (expiry - 31 days) + override is past."""
    policy = ExpiryPolicy(override_lease_duration=60 * DAY)
    granted = NOW - 60 * DAY
    expiration = granted + LEASE_PERIOD_SECONDS
    assert not policy.lease_expired(expiration, NOW)
    assert policy.lease_expired(expiration - 1, NOW)
    short = ExpiryPolicy(override_lease_duration=DAY)
    assert short.lease_expired(NOW - 2 * DAY + LEASE_PERIOD_SECONDS, NOW)
    assert not short.lease_expired(NOW + LEASE_PERIOD_SECONDS, NOW)


def test_cutoff_mode_compares_the_grant_time_with_the_cutoff() -> None:
    """In cutoff-date mode a lease granted before the cutoff expires, whatever the clock says."""
    cutoff = parse_cutoff_date("2023-06-01")
    policy = ExpiryPolicy(mode=ExpiryMode.CUTOFF_DATE, cutoff_date=cutoff)
    assert policy.lease_expired(cutoff - 1 + LEASE_PERIOD_SECONDS, now=0)
    assert not policy.lease_expired(cutoff + LEASE_PERIOD_SECONDS, now=2**40)


@given(share_types, st.lists(expiration_times, max_size=6), st.integers(0, 2**33))
def test_a_share_expires_when_all_its_leases_have(
    share_type: ShareType, expirations: list[int], now: int
) -> None:
    """A share has expired exactly when every lease has (vacuously so with no lease)."""
    policy = ExpiryPolicy()
    expected = all(policy.lease_expired(expiration, now) for expiration in expirations)
    assert policy.share_expired(share_type, expirations, now) is expected


def test_a_share_without_leases_has_expired() -> None:
    """A share with no lease counts as expired, and is deleted only when expiry is enabled."""
    assert ExpiryPolicy().share_expired(ShareType.IMMUTABLE, [], NOW)
    assert not ExpiryPolicy().should_delete(ShareType.IMMUTABLE, [], NOW)
    assert ExpiryPolicy(enabled=True).should_delete(ShareType.MUTABLE, [], NOW)


def test_one_live_lease_keeps_a_share() -> None:
    """A single unexpired lease among expired ones keeps the share."""
    policy = ExpiryPolicy(enabled=True)
    assert not policy.should_delete(ShareType.IMMUTABLE, [NOW - 10, NOW + 10, NOW - 5], NOW)
    assert policy.should_delete(ShareType.IMMUTABLE, [NOW - 10, NOW - 5], NOW)


@pytest.mark.parametrize(
    ("immutable", "mutable"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_share_type_switches(immutable: bool, mutable: bool) -> None:
    """expire.immutable / expire.mutable decide which share types may expire at all."""
    policy = ExpiryPolicy(enabled=True, expire_immutable=immutable, expire_mutable=mutable)
    assert policy.should_delete(ShareType.IMMUTABLE, [NOW - 1], NOW) is immutable
    assert policy.should_delete(ShareType.MUTABLE, [NOW - 1], NOW) is mutable


def test_a_cutoff_policy_needs_its_date() -> None:
    """A cutoff-date policy without a date cannot be built."""
    with pytest.raises(ExpiryConfigError, match="cutoff_date"):
        ExpiryPolicy(mode=ExpiryMode.CUTOFF_DATE)


def test_config_defaults() -> None:
    """No expire.* keys gives Tahoe's defaults: disabled, age mode, both types."""
    assert parse_expiry_config({}) == ExpiryPolicy(
        enabled=False,
        mode=ExpiryMode.AGE,
        override_lease_duration=None,
        cutoff_date=None,
        expire_immutable=True,
        expire_mutable=True,
    )


def test_config_full_age_mode() -> None:
    """Every age-mode key is read; other [storage] keys are ignored."""
    policy = parse_expiry_config(
        {
            "enabled": "true",
            "expire.enabled": "True",
            "expire.mode": "age",
            "expire.override_lease_duration": "60 days",
            "expire.immutable": "false",
            "expire.mutable": "yes",
        }
    )
    assert policy == ExpiryPolicy(
        enabled=True,
        override_lease_duration=60 * DAY,
        expire_immutable=False,
        expire_mutable=True,
    )


def test_config_cutoff_mode() -> None:
    """cutoff-date mode reads the date as midnight UTC."""
    policy = parse_expiry_config(
        {"expire.enabled": "true", "expire.mode": "cutoff-date", "expire.cutoff_date": "2009-11-19"}
    )
    assert policy.mode is ExpiryMode.CUTOFF_DATE
    assert policy.cutoff_date == calendar.timegm((2009, 11, 19, 0, 0, 0))


def test_config_age_mode_ignores_the_cutoff_date() -> None:
    """As in Tahoe, expire.cutoff_date is not read in age mode."""
    assert parse_expiry_config({"expire.cutoff_date": "not a date"}).cutoff_date is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60 days", 60 * DAY),
        ("3 months", 93 * DAY),
        ("1 year", 365 * DAY),
        ("12h", 12 * 3600),
        ("  2 Days ", 2 * DAY),
        ("1mo", 31 * DAY),
        ("1 day", DAY),
        ("90 minutes", 90 * 60),
        ("30s", 30),
        ("0 days", 0),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    """Durations take a whole number and a unit; a month is 31 days and a year 365."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "values",
    [
        {"expire.enabled": "maybe"},
        {"expire.immutable": "2"},
        {"expire.mutable": "nope"},
        {"expire.mode": "sometimes"},
        {"expire.override_lease_duration": "60"},
        {"expire.override_lease_duration": "days"},
        {"expire.override_lease_duration": "-1 day"},
        {"expire.override_lease_duration": "1.5 days"},
        {"expire.override_lease_duration": "3 m"},
        {"expire.override_lease_duration": "3 fortnights"},
        {"expire.mode": "cutoff-date"},
        {"expire.mode": "cutoff-date", "expire.cutoff_date": "2024-13-01"},
        {"expire.mode": "cutoff-date", "expire.cutoff_date": "2024/01/01"},
        {"expire.mode": "cutoff-date", "expire.cutoff_date": "2023-02-29"},
        {"expire.mode": "cutoff-date", "expire.cutoff_date": "٢٠٢٤-01-01"},
    ],
)
def test_bad_config_values(values: dict[str, str]) -> None:
    """Bad values raise ExpiryConfigError naming the key."""
    with pytest.raises(ExpiryConfigError, match=r"expire\.") as caught:
        parse_expiry_config(values)
    assert isinstance(caught.value, GridError)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConfigError)


@given(st.dictionaries(st.sampled_from(EXPIRY_KEYS), st.text(max_size=40)))
def test_arbitrary_config_values_raise_only_expiry_config_error(values: dict[str, str]) -> None:
    """Any strings for the expire.* keys give a policy or ExpiryConfigError, nothing else."""
    try:
        policy = parse_expiry_config(values)
    except ExpiryConfigError:
        return
    assert isinstance(policy, ExpiryPolicy)


@given(st.text(alphabet="0123456789 -daysmonthyer", max_size=30))
def test_arbitrary_durations_raise_only_expiry_config_error(text: str) -> None:
    """Near-miss durations parse to a whole number of seconds or raise ExpiryConfigError."""
    try:
        seconds = parse_duration(text)
    except ExpiryConfigError:
        return
    assert seconds >= 0
