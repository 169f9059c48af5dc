"""Check and repair results in the JSON shape of Tahoe-LAFS's web API (``t=check``).

Rules: the keys and their meanings are Tahoe-LAFS 1.20's. Storage indexes
are base32; servers are named by their server id (``v0-…``, Tahoe's "long
name"); the share map's keys are share numbers, its values sorted server
ids; a corrupt share is listed as ``[server id, storage index, share
number]``. A mutable file's share map is keyed by ``<version>-sh<shnum>``
(see :mod:`client.check.mutable_results`) and counts its versions and
wrong shares. A LIT file gives ``{"storage-index": "", "results": {"healthy":
true}}`` for a check and ``{"storage-index": "", "repair-attempted": false}``
for a check-and-repair. The functions return plain dicts; the caller
serializes them.
"""

from typing import Any

from client.check.mutable_results import MutableCheckAndRepairResults, MutableCheckResults
from client.check.results import CheckAndRepairResults, CheckResults, LiteralCheckResults
from grid.base32 import b2a


def check_counts_json(results: CheckResults | MutableCheckResults) -> dict[str, Any]:
    """The ``results`` member of a check's JSON."""
    if isinstance(results, MutableCheckResults):
        return _mutable_counts_json(results)
    return {
        "count-happiness": results.happiness,
        "count-shares-good": results.count_shares_good,
        "count-shares-needed": results.needed_shares,
        "count-shares-expected": results.total_shares,
        "count-good-share-hosts": results.count_good_share_hosts,
        "count-corrupt-shares": len(results.corrupt_shares),
        "list-corrupt-shares": [
            [location.server_id, b2a(location.storage_index), location.shnum]
            for location in results.corrupt_shares
        ],
        "servers-responding": list(results.servers_responding),
        "sharemap": {str(shnum): sorted(servers) for shnum, servers in results.sharemap.items()},
        "count-wrong-shares": 0,
        "count-recoverable-versions": int(results.recoverable),
        "count-unrecoverable-versions": int(not results.recoverable),
        "healthy": results.healthy,
        "recoverable": results.recoverable,
    }


def _mutable_counts_json(results: MutableCheckResults) -> dict[str, Any]:
    """The ``results`` member of a mutable file's check JSON."""
    return {
        "count-happiness": results.happiness,
        "count-shares-good": results.count_shares_good,
        "count-shares-needed": results.needed_shares,
        "count-shares-expected": results.total_shares,
        "count-good-share-hosts": results.count_good_share_hosts,
        "count-corrupt-shares": len(results.corrupt_shares),
        "list-corrupt-shares": [
            [location.server_id, b2a(location.storage_index), location.shnum]
            for location in results.corrupt_shares
        ],
        "servers-responding": list(results.servers_responding),
        "sharemap": {share_id: sorted(servers) for share_id, servers in results.sharemap.items()},
        "count-wrong-shares": results.count_wrong_shares,
        "count-recoverable-versions": len(results.recoverable_versions),
        "count-unrecoverable-versions": len(results.unrecoverable_versions),
        "healthy": results.healthy,
        "recoverable": results.recoverable,
    }


def check_results_json(
    results: CheckResults | MutableCheckResults | LiteralCheckResults,
) -> dict[str, Any]:
    """A check's JSON: ``storage-index``, ``summary`` and ``results``."""
    if isinstance(results, LiteralCheckResults):
        return {"storage-index": "", "results": {"healthy": True}}
    return {
        "storage-index": b2a(results.storage_index),
        "summary": results.summary,
        "results": check_counts_json(results),
    }


def check_and_repair_results_json(
    results: CheckAndRepairResults | MutableCheckAndRepairResults | LiteralCheckResults,
) -> dict[str, Any]:
    """A check-and-repair's JSON: whether repair was attempted and worked, before and after."""
    if isinstance(results, LiteralCheckResults):
        return {"storage-index": "", "repair-attempted": False}
    return {
        "storage-index": b2a(results.storage_index),
        "repair-attempted": results.repair_attempted,
        "repair-successful": results.repair_successful,
        "pre-repair-results": check_results_json(results.pre_repair),
        "post-repair-results": check_results_json(results.post_repair),
    }
