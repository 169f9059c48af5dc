"""Checking one object, whatever its kind: the answer to ``t=check`` (and ``grid check``).

Rules: a LIT file (or LIT directory) is healthy without asking any server;
a CHK file or immutable directory is checked by :mod:`client.check.checker`
from its verify cap; a mutable file or directory by
:mod:`client.check.mutable_checker`. ``verify`` reads every share,
``repair`` repairs what is not healthy (a mutable file only from its write
cap, as in Tahoe-LAFS), ``add_lease`` renews this client's lease on every
share found, on every server holding one. The answer is Tahoe's JSON and a
one-line summary for people.
"""

from typing import Any

import attrs
from twisted.internet.interfaces import IReactorTime

from client.check import (
    CheckAndRepairResults,
    CheckResults,
    LiteralCheckResults,
    check_and_repair_chk,
    check_and_repair_results_json,
    check_chk,
    check_results_json,
    check_servers,
)
from client.check.leases import add_leases, lease_servers, share_holders
from client.check.mutable_checker import check_mutable
from client.check.mutable_repairer import check_and_repair_mutable
from client.check.mutable_results import MutableCheckAndRepairResults, MutableCheckResults
from client.errors import ClientError
from client.mutable.servers import mutable_servers
from client.storage_broker import StorageBroker
from client.upload.cpu import CpuRunner
from client.upload.remote_server import broker_upload_servers
from grid.caps import (
    Cap,
    CHKReadCap,
    CHKVerifyCap,
    DirectoryCap,
    LiteralCap,
    MutableReadCap,
    MutableVerifyCap,
    MutableWriteCap,
)


class UncheckableCapError(ClientError):
    """The cap names nothing a check can look at (an unknown kind)."""


@attrs.frozen
class CheckAnswer:
    """Tahoe's JSON for a check (or check-and-repair), and its one-line summary."""

    json: dict[str, Any]
    summary: str


def _repair_summary(
    repaired: CheckAndRepairResults | MutableCheckAndRepairResults,
) -> str:
    if not repaired.repair_attempted:
        outcome = "repair not attempted"
        if repaired.failure:
            outcome += f" ({repaired.failure})"
    elif repaired.repair_successful:
        outcome = "repair successful"
    else:
        outcome = f"repair failed: {repaired.failure}"
    return f"{repaired.pre_repair.summary}; {outcome}; now {repaired.post_repair.summary}"


class CheckService:
    """Checks, verifies, repairs and renews leases through a broker's servers."""

    def __init__(
        self, broker: StorageBroker, clock: IReactorTime, runner: CpuRunner, lease_secret: bytes
    ) -> None:
        """Use ``broker``'s connected servers; CPU work goes to ``runner``."""
        self._broker = broker
        self._clock = clock
        self._runner = runner
        self._lease_secret = lease_secret

    async def check(
        self, cap: Cap, *, verify: bool = False, repair: bool = False, add_lease: bool = False
    ) -> CheckAnswer:
        """Check the object ``cap`` names; raise UncheckableCapError for unknown kinds."""
        file_cap = cap.file_cap if isinstance(cap, DirectoryCap) else cap
        if isinstance(file_cap, LiteralCap):
            literal = LiteralCheckResults()
            data = check_and_repair_results_json(literal) if repair else check_results_json(literal)
            return CheckAnswer(data, "Healthy (a literal file holds its data in its cap)")
        if isinstance(file_cap, CHKReadCap | CHKVerifyCap):
            return await self._check_chk(file_cap, verify, repair, add_lease)
        if isinstance(file_cap, MutableWriteCap | MutableReadCap | MutableVerifyCap):
            return await self._check_mutable(file_cap, verify, repair, add_lease)
        raise UncheckableCapError(f"a {cap.kind} cap cannot be checked")

    async def _check_chk(
        self, cap: CHKReadCap | CHKVerifyCap, verify: bool, repair: bool, add_lease: bool
    ) -> CheckAnswer:
        servers = check_servers(self._broker, cap.storage_index)
        if repair:
            repaired = await check_and_repair_chk(
                cap,
                servers,
                broker_upload_servers(self._broker)(cap.storage_index),
                lease_secret=self._lease_secret,
                clock=self._clock,
                runner=self._runner,
                verify=verify,
            )
            await self._renew(cap.storage_index, repaired.post_repair, add_lease)
            return CheckAnswer(check_and_repair_results_json(repaired), _repair_summary(repaired))
        results = await check_chk(cap, servers, clock=self._clock, verify=verify)
        await self._renew(cap.storage_index, results, add_lease)
        return CheckAnswer(check_results_json(results), results.summary)

    async def _check_mutable(
        self,
        cap: MutableWriteCap | MutableReadCap | MutableVerifyCap,
        verify: bool,
        repair: bool,
        add_lease: bool,
    ) -> CheckAnswer:
        servers = mutable_servers(self._broker, cap.storage_index)
        if repair:
            repaired = await check_and_repair_mutable(
                cap,
                servers,
                lease_secret=self._lease_secret,
                clock=self._clock,
                runner=self._runner,
                verify=verify,
            )
            await self._renew(cap.storage_index, repaired.post_repair, add_lease)
            return CheckAnswer(check_and_repair_results_json(repaired), _repair_summary(repaired))
        results = await check_mutable(cap, servers, clock=self._clock, verify=verify)
        await self._renew(cap.storage_index, results, add_lease)
        return CheckAnswer(check_results_json(results), results.summary)

    async def _renew(
        self, storage_index: bytes, results: CheckResults | MutableCheckResults, add_lease: bool
    ) -> None:
        if not add_lease:
            return
        holders = share_holders(results)
        await add_leases(
            storage_index,
            lease_servers(self._broker, storage_index, holders),
            lease_secret=self._lease_secret,
            clock=self._clock,
        )
