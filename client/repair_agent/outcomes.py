"""What one check or one repair of a file found: frozen records, free of any transport."""

import attrs


@attrs.frozen
class CheckOutcome:
    """The shares a check found: good shares, k and N, distinct servers, health."""

    good_shares: int
    needed_shares: int
    total_shares: int
    distinct_servers: int
    healthy: bool
    recoverable: bool
    summary: str


@attrs.frozen
class RepairOutcome:
    """Whether a repair was attempted and worked, why not if not, and the file after it."""

    attempted: bool
    successful: bool
    after: CheckOutcome
    failure: str | None = None
