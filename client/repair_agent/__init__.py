"""The repair agent: a node that holds only verify caps, checks them on a schedule and repairs.

Data flow: caps come in through :mod:`~client.repair_agent.caps` (reduced to
verify caps; nothing stronger is ever kept) → the state file
(:mod:`~client.repair_agent.state`, :mod:`~client.repair_agent.store`) → the
scheduler (:mod:`~client.repair_agent.scheduler`) picks the file checked
longest ago, at most R checks a second and one at a time, asks a
:class:`~client.repair_agent.checker.FileChecker` to check it (renewing its
leases), and repairs it when the repair policy
(:mod:`~client.repair_agent.policy`) says its good shares fell below the
threshold → every outcome is written back to the state file. The node
(:mod:`~client.repair_agent.node`) joins the grid through the introducer;
reports (:mod:`~client.repair_agent.report`, :mod:`~client.repair_agent.web`)
are read from the state file.
"""
