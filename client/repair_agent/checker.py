"""The seam between the scheduler and the grid: check a verify cap, or repair it.

Rules: :class:`FileChecker` is what the scheduler needs; every check and
every repair also renews this agent's leases on the shares it finds.
:class:`CheckServiceChecker` is the real one: it asks the client's
:class:`~client.checking.CheckService` (``add_lease`` always on) and reads
the counts out of the answer's Tahoe-shaped JSON. A mutable file whose
servermap found no version reports Tahoe's default k and N.
"""

from typing import Any, Protocol

from client.checking import CheckAnswer
from client.repair_agent.caps import VerifyCap
from client.repair_agent.errors import RepairAgentError
from client.repair_agent.outcomes import CheckOutcome, RepairOutcome
from grid.caps import Cap


class FileChecker(Protocol):
    """Checks and repairs files named by verify caps, renewing leases as it goes."""

    async def check(self, cap: VerifyCap) -> CheckOutcome:
        """Check the file and renew its leases."""

    async def repair(self, cap: VerifyCap) -> RepairOutcome:
        """Check the file again, repair it if it is not healthy, and renew its leases."""


class CheckAnswering(Protocol):
    """The part of :class:`~client.checking.CheckService` the agent uses."""

    async def check(
        self, cap: Cap, *, verify: bool = False, repair: bool = False, add_lease: bool = False
    ) -> CheckAnswer:
        """Check (and maybe repair) ``cap``'s file."""


def _count(results: dict[str, Any], key: str) -> int:
    value = results.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RepairAgentError(f"the check's answer has no {key}")
    return value


def outcome_from_json(answer: dict[str, Any]) -> CheckOutcome:
    """The counts in one check's JSON (``storage-index``, ``summary``, ``results``)."""
    results = answer.get("results")
    if not isinstance(results, dict):
        raise RepairAgentError("the check's answer has no results")
    return CheckOutcome(
        good_shares=_count(results, "count-shares-good"),
        needed_shares=_count(results, "count-shares-needed"),
        total_shares=_count(results, "count-shares-expected"),
        distinct_servers=_count(results, "count-good-share-hosts"),
        healthy=bool(results.get("healthy")),
        recoverable=bool(results.get("recoverable")),
        summary=str(answer.get("summary", "")),
    )


class CheckServiceChecker:
    """A :class:`FileChecker` over a client's check service."""

    def __init__(self, service: CheckAnswering, *, verify: bool = False) -> None:
        """Check through ``service``; with ``verify``, read and prove every share."""
        self._service = service
        self._verify = verify

    async def check(self, cap: VerifyCap) -> CheckOutcome:
        """Check the file and renew its leases."""
        answer = await self._service.check(cap, verify=self._verify, add_lease=True)
        return outcome_from_json(answer.json)

    async def repair(self, cap: VerifyCap) -> RepairOutcome:
        """Check and repair the file, and renew its leases."""
        answer = await self._service.check(cap, verify=self._verify, repair=True, add_lease=True)
        post = answer.json.get("post-repair-results")
        if not isinstance(post, dict):
            raise RepairAgentError("the repair's answer has no post-repair results")
        attempted = bool(answer.json.get("repair-attempted"))
        successful = bool(answer.json.get("repair-successful"))
        return RepairOutcome(
            attempted=attempted,
            successful=successful,
            after=outcome_from_json(post),
            failure=None if successful else answer.summary,
        )
