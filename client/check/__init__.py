"""Checking, verifying and repairing files, and renewing their leases.

Data flow: verify cap (a read cap gives its verify cap) → every server asked
which shares it holds (:mod:`~client.check.checker`) → for a verify, every
share read whole and proven (:mod:`~client.check.share_reader`, with the
proofs of :mod:`~client.check.share_proof`) → results in Tahoe-LAFS's shape
(:mod:`~client.check.results`, :mod:`~client.check.results_json`). A repair
(:mod:`~client.check.repairer`) rebuilds the shares with no good copy from k
proven blocks per segment (:mod:`~client.check.block_supply`,
:mod:`~client.check.rebuild`), byte for byte as the upload wrote them, and
places them (:mod:`~client.check.repair_plan`) on servers that hold none.
Servers are seen through :class:`CheckServer` for reading and the
uploader's :class:`~client.upload.UploadServer` for writing.

Mutable files (SDMF, MDMF) are checked from any of their caps over a
servermap of every server (:mod:`~client.check.mutable_checker`, results in
:mod:`~client.check.mutable_results`); a verify reads every share of the
best version whole (:mod:`~client.check.mutable_share_verify`); a repair,
which needs the write cap, republishes the best version
(:mod:`~client.check.mutable_repairer`). :mod:`~client.check.leases` renews
this client's leases on the servers a check found holding shares.
"""

from client.check.checker import DEFAULT_READ_TIMEOUT, ShareSurvey, check_chk, survey_chk
from client.check.errors import (
    CapContradictionError,
    CheckError,
    CorruptShareError,
    IncompatibleShareError,
    RepairError,
)
from client.check.leases import (
    ConnectionLeaseServer,
    LeaseResults,
    LeaseServer,
    add_leases,
    lease_servers,
    share_holders,
)
from client.check.mutable_checker import (
    MutableCap,
    MutableSurvey,
    check_mutable,
    survey_mutable,
)
from client.check.mutable_repairer import check_and_repair_mutable, repair_mutable
from client.check.mutable_results import (
    MutableCheckAndRepairResults,
    MutableCheckResults,
    VersionShares,
)
from client.check.repairer import check_and_repair_chk, repair_chk
from client.check.results import (
    CheckAndRepairResults,
    CheckResults,
    LiteralCheckResults,
    ShareLocation,
)
from client.check.results_json import (
    check_and_repair_results_json,
    check_counts_json,
    check_results_json,
)
from client.check.servers import CheckServer, ConnectionCheckServer, check_servers

__all__ = [
    "DEFAULT_READ_TIMEOUT",
    "CapContradictionError",
    "CheckAndRepairResults",
    "CheckError",
    "CheckResults",
    "CheckServer",
    "ConnectionCheckServer",
    "ConnectionLeaseServer",
    "CorruptShareError",
    "IncompatibleShareError",
    "LeaseResults",
    "LeaseServer",
    "LiteralCheckResults",
    "MutableCap",
    "MutableCheckAndRepairResults",
    "MutableCheckResults",
    "MutableSurvey",
    "RepairError",
    "ShareLocation",
    "ShareSurvey",
    "VersionShares",
    "add_leases",
    "check_and_repair_chk",
    "check_and_repair_mutable",
    "check_and_repair_results_json",
    "check_chk",
    "check_counts_json",
    "check_mutable",
    "check_results_json",
    "check_servers",
    "lease_servers",
    "repair_chk",
    "repair_mutable",
    "share_holders",
    "survey_chk",
    "survey_mutable",
]
