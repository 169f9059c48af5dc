import platform

import pytest

from grid.cli.memory import tune_allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's mallopt")
def test_allocator_tuning_applies_on_glibc() -> None:
    """On glibc both mallopt settings are accepted."""
    assert tune_allocator() is True
