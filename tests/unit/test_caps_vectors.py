import functools

import pytest
import yaml

from grid.caps import CHKReadCap, MutableFormat, MutableWriteCap, parse_cap
from tests.vectors import TEST_VECTORS_YAML


@functools.cache
def _vectors() -> list[dict[str, object]]:
    """Every entry of Tahoe's integration test_vectors.yaml (360 of them)."""
    vectors: list[dict[str, object]] = yaml.safe_load(TEST_VECTORS_YAML.read_text())["vector"]
    return vectors


def test_all_360_vectors_are_present() -> None:
    """The YAML holds the 360 caps the format notes speak of."""
    assert len(_vectors()) == 360


@pytest.mark.parametrize("index", range(360))
def test_vector_cap_round_trips_with_its_fields(index: int) -> None:
    """Each expected cap parses, prints back exactly, and carries the entry's kind, k, N, size."""
    entry = _vectors()[index]
    text = entry["expected"]
    assert isinstance(text, str)
    cap = parse_cap(text)
    assert cap.to_string() == text
    assert parse_cap(cap.to_string()) == cap
    file_format = entry["format"]
    zfec = entry["zfec"]
    sample = entry["sample"]
    assert isinstance(file_format, dict)
    assert isinstance(zfec, dict)
    assert isinstance(sample, dict)
    if file_format["kind"] == "chk":
        assert isinstance(cap, CHKReadCap)
        assert cap.kind == "CHK"
        assert cap.needed_shares == zfec["required"]
        assert cap.total_shares == zfec["total"]
        assert cap.size == sample["length"]
    else:
        assert isinstance(cap, MutableWriteCap)
        expected = {"sdmf": (MutableFormat.SDMF, "SSK"), "mdmf": (MutableFormat.MDMF, "MDMF")}
        assert (cap.format, cap.kind) == expected[file_format["params"]["format"]]
        assert cap.extension == ""
    verify_cap = cap.verify_cap()
    assert parse_cap(verify_cap.to_string()) == verify_cap
    assert verify_cap.storage_index == cap.storage_index
