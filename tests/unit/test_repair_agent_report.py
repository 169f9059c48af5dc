"""Reports, settings and the check-service seam of the repair agent."""

import json
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.web.test.requesthelper import DummyRequest

from client.check import CheckAndRepairResults, CheckResults
from client.check.results_json import check_and_repair_results_json, check_results_json
from client.checking import CheckAnswer
from client.repair_agent.checker import CheckServiceChecker
from client.repair_agent.metrics import AgentMetrics
from client.repair_agent.outcomes import CheckOutcome, RepairOutcome
from client.repair_agent.policy import record_check, record_repair
from client.repair_agent.report import durability_json, render_agent_openmetrics
from client.repair_agent.settings import agent_settings
from client.repair_agent.state import AgentState
from client.repair_agent.store import StateStore
from client.repair_agent.web import agent_site_root
from grid.base32 import b2a
from grid.caps import Cap, CHKVerifyCap
from grid.config import parse_config
from grid.errors import ConfigError
from tests.openmetrics import parse_openmetrics

CAP_A = CHKVerifyCap(b"a" * 16, b"h" * 32, 3, 10, 100)
CAP_B = CHKVerifyCap(b"b" * 16, b"h" * 32, 3, 10, 100)


def _state() -> AgentState:
    state = AgentState().added([CAP_A.to_string(), CAP_B.to_string()], 5.0)
    checked = record_check(
        state.files[CAP_A.to_string()], CheckOutcome(6, 3, 10, 5, False, True, "six"), 10.0
    )
    repaired = record_repair(
        checked,
        RepairOutcome(True, True, CheckOutcome(10, 3, 10, 10, True, True, "Healthy")),
        11.0,
    )
    return state.with_record(repaired)


def test_durability_json_describes_each_file_and_the_totals() -> None:
    """One entry per file with the brief's fields; unchecked files have nulls."""
    report = durability_json(_state())
    first, second = report["files"]
    assert first["verify-cap"] == CAP_A.to_string()
    assert first["storage-index"] == b2a(b"a" * 16)
    assert (first["good-shares"], first["distinct-servers"]) == (10, 10)
    assert (first["last-check"], first["last-repair"], first["healthy"]) == (11.0, 11.0, True)
    assert second["last-check"] is None
    assert second["healthy"] is None
    assert report["totals"] == {
        "files": 2,
        "healthy": 1,
        "unhealthy": 0,
        "unrecoverable": 0,
        "unchecked": 1,
    }


def test_openmetrics_is_valid_with_per_file_gauges_and_totals() -> None:
    """The text passes the strict parser; gauges are labelled by storage index."""
    metrics = AgentMetrics.register()
    metrics.checks.inc(3)
    text = render_agent_openmetrics(_state(), [metrics.registry]).decode()
    samples = parse_openmetrics(text)
    label = f'{{storage_index="{b2a(b"a" * 16)}"}}'
    assert samples[f"grid_repair_agent_file_good_shares{label}"] == 10
    assert samples[f"grid_repair_agent_file_healthy{label}"] == 1
    assert samples[f"grid_repair_agent_file_last_repair_timestamp_seconds{label}"] == 11.0
    assert samples["grid_repair_agent_files"] == 2
    assert samples["grid_repair_agent_files_unchecked"] == 1
    assert samples["grid_repair_agent_checks_total"] == 3
    unchecked = f'{{storage_index="{b2a(b"b" * 16)}"}}'
    assert f"grid_repair_agent_file_good_shares{unchecked}" not in samples


def _get(root: Any, path: bytes, t: bytes) -> tuple[int, bytes]:
    request = DummyRequest([path])
    request.args = {b"t": [t]}
    child = root.getChildWithDefault(path, request)
    body = child.render_GET(request)
    return request.responseCode or 200, body


def test_the_web_pages_serve_the_state_file(tmp_path: Path) -> None:
    """/durability?t=json and /statistics?t=openmetrics read the state on disk."""
    store = StateStore(tmp_path / "state.json")
    store.update(lambda _state_now: _state())
    root = agent_site_root(store, [AgentMetrics.register().registry])
    code, body = _get(root, b"durability", b"json")
    assert code == 200
    assert json.loads(body)["totals"]["files"] == 2
    code, body = _get(root, b"statistics", b"openmetrics")
    assert parse_openmetrics(body.decode())["grid_repair_agent_files_healthy"] == 1
    code, body = _get(root, b"statistics", b"json")
    assert json.loads(body)["stats"]["repair_agent.files.files"] == 2
    code, _ = _get(root, b"statistics", b"xml")
    assert code == 400


def test_settings_default_and_refuse_unknown_keys() -> None:
    """Defaults: no threshold (N), one check a second; a stray key is refused by name."""
    settings = agent_settings(parse_config("[repair-agent]\nrate = 0.5\nthreshold = 7\n"))
    assert settings.schedule.rate == 0.5
    assert settings.schedule.threshold == 7
    assert agent_settings(parse_config("")).schedule.threshold is None
    with pytest.raises(ConfigError, match=r"repair-agent\.treshold"):
        agent_settings(parse_config("[repair-agent]\ntreshold = 7\n"))
    with pytest.raises(ConfigError, match="rate"):
        agent_settings(parse_config("[repair-agent]\nrate = 0\n"))


class RecordingCheckService:
    """Answers checks from fixed results and records the flags it was called with."""

    def __init__(self, before: CheckResults, after: CheckResults) -> None:
        """Report ``before``; a repair reports ``after``."""
        self.before = before
        self.after = after
        self.calls: list[dict[str, bool]] = []

    async def check(
        self, cap: Cap, *, verify: bool = False, repair: bool = False, add_lease: bool = False
    ) -> CheckAnswer:
        """Answer with Tahoe's JSON, as the real service does."""
        self.calls.append({"verify": verify, "repair": repair, "add_lease": add_lease})
        if repair:
            results = CheckAndRepairResults(self.before, self.after, True, True)
            return CheckAnswer(check_and_repair_results_json(results), "repaired")
        return CheckAnswer(check_results_json(self.before), self.before.summary)


def _results(shares: dict[int, frozenset[str]]) -> CheckResults:
    return CheckResults(b"a" * 16, 3, 10, shares, tuple(sorted(set().union(*shares.values()))))


def _finished(deferred: "Deferred[Any]") -> Any:
    results: list[Any] = []
    deferred.addBoth(results.append)
    (result,) = results
    return result


def test_every_check_and_repair_renews_leases() -> None:
    """The real seam asks for add_lease on each call and reads the counts from Tahoe's JSON."""
    before = _results({0: frozenset({"v0-a"}), 1: frozenset({"v0-a"}), 2: frozenset({"v0-b"})})
    after = _results({shnum: frozenset({f"v0-{shnum}"}) for shnum in range(10)})
    service = RecordingCheckService(before, after)
    checker = CheckServiceChecker(service)
    found = _finished(Deferred.fromCoroutine(checker.check(CAP_A)))
    assert (found.good_shares, found.distinct_servers, found.healthy) == (3, 2, False)
    repaired = _finished(Deferred.fromCoroutine(checker.repair(CAP_A)))
    assert repaired.successful
    assert (repaired.after.good_shares, repaired.after.distinct_servers) == (10, 10)
    assert [call["add_lease"] for call in service.calls] == [True, True]
    assert [call["repair"] for call in service.calls] == [False, True]
