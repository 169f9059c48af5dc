"""What an upload is asked to do, and how hard it pushes: two frozen records.

Rules: :class:`UploadParameters` are Tahoe's encoding parameters (k, happy,
N, maximum segment size); together with the file and the convergence
secret they decide the cap, so two uploads with equal parameters give equal
caps. :class:`UploadTuning` changes only speed, memory and patience: how
much plaintext one CPU job codes (whole segments, about ``job_size`` bytes)
and how many jobs run ahead, how many write calls each server has in
flight, how large a write call grows before it is sent, and how long a
server may take to answer. Writes of about 1 MB (the default batch) made a
100 MiB upload on the 2-core local grid 15-20% faster than writes of 250
kB: each storage node then wakes up for a whole megabyte, not a few hundred
kB; four 1 MiB jobs ahead kept both cores busier than two 3 MiB jobs (8-10%
faster, ~10 MiB more peak memory). The memory an upload holds is about ``jobs_ahead`` coded
jobs plus, per server, ``writes_in_flight`` writes of ``write_batch_size``
bytes and one batch being gathered, whatever the file's size.
"""

import attrs

from grid.chk_plan import DEFAULT_MAX_SEGMENT_SIZE
from grid.codec import check_parameters
from grid.errors import EncodingParametersError


def _check_parameters(instance: "UploadParameters", _attribute: object, _value: object) -> None:
    check_parameters(instance.needed, instance.total)
    if not 1 <= instance.happy <= instance.total:
        raise EncodingParametersError(
            f"need 1 <= happy <= N={instance.total}, got happy={instance.happy}"
        )
    if instance.max_segment_size < 1:
        raise EncodingParametersError("the maximum segment size must be positive")


@attrs.frozen
class UploadParameters:
    """Encoding parameters: k shares needed, happy servers, N shares, max segment size."""

    needed: int = 3
    happy: int = 7
    total: int = 10
    max_segment_size: int = attrs.field(
        default=DEFAULT_MAX_SEGMENT_SIZE, validator=_check_parameters
    )


@attrs.frozen
class UploadTuning:
    """Job size, windows, batch size, time limits: they change speed and memory, never the cap."""

    job_size: int = attrs.field(default=1024 * 1024, validator=attrs.validators.gt(0))
    jobs_ahead: int = attrs.field(default=4, validator=attrs.validators.gt(0))
    writes_in_flight: int = attrs.field(default=2, validator=attrs.validators.gt(0))
    write_batch_size: int = attrs.field(default=1_000_000, validator=attrs.validators.gt(0))
    hash_chunk_size: int = attrs.field(default=1024 * 1024, validator=attrs.validators.gt(0))
    query_timeout: float = attrs.field(default=15.0, validator=attrs.validators.gt(0))
    write_timeout: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))
