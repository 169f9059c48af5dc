"""Shared inputs for CHK tests: Tahoe's sample plaintexts and an in-memory share sink."""

import base64
import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any

import yaml

from grid.chk_encode import convergent_key, encode_chk, plaintext_segments
from grid.chk_plan import ChkPlan
from tests.vectors import TAHOE_SHARES_DIR, TEST_VECTORS_YAML


def stretch(seed: bytes, length: int) -> bytes:
    """Repeat ``seed`` to ``length`` bytes, as Tahoe's vector generator does."""
    return (seed * (length // len(seed) + 1))[:length]


def sample_plaintext(label: bytes, length: int) -> bytes:
    """The plaintext rule of the real Tahoe 1.20 share files."""
    blocks = (
        hashlib.sha256(label + i.to_bytes(8, "big")).digest() for i in range(math.ceil(length / 32))
    )
    return b"".join(blocks)[:length]


def chk_vectors() -> Iterator[dict[str, Any]]:
    """Yield every CHK entry of Tahoe's test_vectors.yaml."""
    with TEST_VECTORS_YAML.open() as stream:
        document = yaml.safe_load(stream)
    for entry in document["vector"]:
        if entry["format"]["kind"] == "chk":
            yield entry


def vector_inputs(entry: dict[str, Any]) -> tuple[bytes, bytes, ChkPlan]:
    """Return (plaintext, convergence secret, plan) for a CHK vector entry."""
    plaintext = stretch(base64.b64decode(entry["sample"]["seed"]), entry["sample"]["length"])
    plan = ChkPlan(
        size=len(plaintext),
        needed=entry["zfec"]["required"],
        total=entry["zfec"]["total"],
        max_segment_size=entry["zfec"]["segmentSize"],
    )
    return plaintext, base64.b64decode(entry["convergence"]), plan


def manifest() -> dict[str, Any]:
    """The MANIFEST.json of the real Tahoe 1.20 share files."""
    loaded: dict[str, Any] = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    return loaded


class MemorySink:
    """Collects share bodies in memory and checks each is written front to back."""

    def __init__(self) -> None:
        """Start with no shares."""
        self.shares: dict[int, bytearray] = {}

    def write(self, shnum: int, offset: int, data: bytes) -> None:
        """Append ``data``; it must land exactly at the share's current end."""
        share = self.shares.setdefault(shnum, bytearray())
        if offset != len(share):
            raise AssertionError(f"share {shnum}: write at {offset}, but {len(share)} written")
        share += data

    def bodies(self) -> dict[int, bytes]:
        """Return each share's bytes."""
        return {shnum: bytes(body) for shnum, body in self.shares.items()}


def encode_convergent(
    plaintext: bytes, secret: bytes, plan: ChkPlan
) -> tuple[bytes, bytes, MemorySink]:
    """Encode in memory; return (key, UEB hash, sink)."""
    key = convergent_key(secret, plan, [plaintext])
    sink = MemorySink()
    result = encode_chk(key, plan, plaintext_segments(plan, plaintext), sink)
    return key, result.uri_extension_hash, sink
