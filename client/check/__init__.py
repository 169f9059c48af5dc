"""Checking, verifying and repairing immutable (CHK) files.

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
"""

from client.check.checker import DEFAULT_READ_TIMEOUT, ShareSurvey, check_chk, survey_chk
from client.check.errors import (
    CapContradictionError,
    CheckError,
    CorruptShareError,
    IncompatibleShareError,
    RepairError,
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
    "CorruptShareError",
    "IncompatibleShareError",
    "LiteralCheckResults",
    "RepairError",
    "ShareLocation",
    "ShareSurvey",
    "check_and_repair_chk",
    "check_and_repair_results_json",
    "check_chk",
    "check_counts_json",
    "check_results_json",
    "check_servers",
    "repair_chk",
    "survey_chk",
]
