"""The agent's own counters since it started, in a :class:`~grid.metrics.MetricsRegistry`.

Rules: names are ``repair_agent.<what>``; they only count what this process
did. The per-file durability figures come from the state file instead
(:mod:`client.repair_agent.report`).
"""

import attrs

from grid.metrics import Counter, MetricsRegistry


@attrs.frozen
class AgentMetrics:
    """Checks, repairs and failures counted by the running agent."""

    registry: MetricsRegistry
    checks: Counter
    repairs: Counter
    repair_failures: Counter
    check_failures: Counter
    unrepairable: Counter

    @classmethod
    def register(cls, registry: MetricsRegistry | None = None) -> "AgentMetrics":
        """Register the agent's counters in ``registry`` (a new one if None)."""
        chosen = MetricsRegistry() if registry is None else registry
        return cls(
            registry=chosen,
            checks=chosen.counter("repair_agent.checks", "Checks the agent ran."),
            repairs=chosen.counter("repair_agent.repairs", "Repairs that succeeded."),
            repair_failures=chosen.counter(
                "repair_agent.repair_failures", "Repairs attempted that did not succeed."
            ),
            check_failures=chosen.counter(
                "repair_agent.check_failures", "Checks that raised an error."
            ),
            unrepairable=chosen.counter(
                "repair_agent.unrepairable",
                "Checks of mutable files below the threshold (not repairable from a verify cap).",
            ),
        )
