"""Mutable-file keys: derivations against Tahoe's vectors, the private-key check, the key pool."""

import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from client.mutable.errors import PrivateKeyUnavailableError
from client.mutable.key_pool import KeyPool
from client.mutable.keys import decrypt_private_key, keys_from_cap, keys_from_private_key
from grid.caps.mutable import MutableFormat
from grid.caps.parse import parse_cap
from grid.crypto.aes import aes_ctr
from grid.crypto.rsa import RsaPrivateKey, load_private_key_pem
from grid.hashing import write_enabler, write_enabler_master
from tests.strategies.crypto import ssk_vectors
from tests.vectors import TAHOE_SHARES_DIR

P = ParamSpec("P")
R = TypeVar("R")


def _manifest_files() -> list[dict[str, Any]]:
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    return [entry for entry in manifest["files"] if entry["kind"] in {"SDMF", "MDMF"}]


@pytest.mark.parametrize("entry", _manifest_files(), ids=lambda entry: entry["kind"])
def test_tahoe_key_files_give_tahoes_caps(entry: dict[str, Any]) -> None:
    """The real files' keys derive the write, read and verify caps Tahoe printed."""
    key = load_private_key_pem((TAHOE_SHARES_DIR / entry["key_file"]).read_bytes())
    keys = keys_from_private_key(key)
    cap = keys.write_cap(MutableFormat[entry["kind"]])
    assert cap.to_string() == entry["write_cap"]
    assert cap.read_only().to_string() == entry["read_cap"]
    assert cap.verify_cap().to_string() == entry["verify_cap"]
    assert keys.storage_index == cap.storage_index


@pytest.mark.parametrize(("fmt", "pem", "expected"), ssk_vectors()[:6])
def test_tahoe_test_vector_keys_give_their_caps(fmt: str, pem: bytes, expected: str) -> None:
    """Keys from Tahoe's test_vectors.yaml derive exactly the caps listed there."""
    keys = keys_from_private_key(load_private_key_pem(pem))
    assert keys.write_cap(MutableFormat[fmt.upper()]).to_string() == expected


def _key(name: str = "sdmf-key.pem") -> RsaPrivateKey:
    return load_private_key_pem((TAHOE_SHARES_DIR / name).read_bytes())


def test_cap_keys_match_private_key_keys() -> None:
    """A write cap gives the private key's keys (less the key); a read cap gives no write key."""
    full = keys_from_private_key(_key())
    cap = full.write_cap(MutableFormat.MDMF)
    from_cap = keys_from_cap(cap)
    assert (from_cap.readkey, from_cap.storage_index, from_cap.fingerprint, from_cap.writekey) == (
        full.readkey,
        full.storage_index,
        full.fingerprint,
        full.writekey,
    )
    assert from_cap.private_key is None
    read_only = keys_from_cap(cap.read_only())
    assert read_only.writekey is None
    with pytest.raises(PrivateKeyUnavailableError):
        read_only.write_enabler(b"n" * 20)
    assert full.writekey is not None
    assert full.write_enabler(b"n" * 20) == write_enabler(
        write_enabler_master(full.writekey), b"n" * 20
    )


def test_encrypted_private_key_round_trips_and_is_checked() -> None:
    """The stored key decrypts under the write key; under another, or altered, it is refused."""
    keys = keys_from_private_key(_key())
    assert keys.writekey is not None
    encrypted = keys.encrypted_private_key()
    assert decrypt_private_key(keys.writekey, encrypted).pkcs8_der == _key().pkcs8_der
    other = keys_from_private_key(_key("mdmf-key.pem"))
    assert other.writekey is not None
    with pytest.raises(PrivateKeyUnavailableError, match="not this file's"):
        decrypt_private_key(other.writekey, encrypted)
    altered = encrypted[:-1] + bytes([encrypted[-1] ^ 1])
    with pytest.raises(PrivateKeyUnavailableError):
        decrypt_private_key(keys.writekey, altered)
    assert aes_ctr(keys.writekey, encrypted) == _key().pkcs8_der


def test_read_cap_cannot_encrypt_a_key() -> None:
    """Keys from a read cap know no private key and cannot make a write cap."""
    keys = keys_from_cap(parse_cap(_manifest_files()[0]["read_cap"]))  # type: ignore[arg-type]
    with pytest.raises(PrivateKeyUnavailableError):
        keys.encrypted_private_key()
    with pytest.raises(PrivateKeyUnavailableError):
        keys.write_cap(MutableFormat.SDMF)


class _CountingRunner:
    """Runs no real work: each call answers at once with a new stand-in key, and is counted."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> "Deferred[R]":
        self.calls += 1
        return succeed(object())  # type: ignore[arg-type]


def _take(pool: KeyPool) -> RsaPrivateKey:
    result: list[RsaPrivateKey] = []
    Deferred.fromCoroutine(pool.take()).addCallback(result.append)
    assert result
    return result[0]


def test_key_pool_fills_while_idle_and_hands_each_key_out_once() -> None:
    """Keys are made one per idle delay up to the pool size; a taken key leaves the pool."""
    clock = Clock()
    runner = _CountingRunner()
    pool = KeyPool(runner, clock, size=2, idle_delay=5.0)
    pool.start()
    assert (pool.available, runner.calls) == (0, 0)
    clock.advance(5.0)
    assert (pool.available, runner.calls) == (1, 1)
    clock.advance(5.0)
    assert (pool.available, runner.calls) == (2, 2)
    clock.advance(50.0)
    assert runner.calls == 2, "a full pool makes no more keys"
    taken = [_take(pool), _take(pool)]
    assert pool.available == 0
    taken.append(_take(pool))
    assert runner.calls == 3, "an empty pool generates on the spot"
    assert len({id(key) for key in taken}) == 3, "no key is handed out twice"
    pool.stop()
    clock.advance(100.0)
    assert runner.calls == 3, "a stopped pool makes nothing"


def test_key_pool_waits_for_idle() -> None:
    """Each take restarts the idle timer, so a burst of creations is not slowed by refills."""
    clock = Clock()
    runner = _CountingRunner()
    pool = KeyPool(runner, clock, size=1, idle_delay=5.0)
    pool.start()
    for _ in range(3):
        clock.advance(4.0)
        _take(pool)
    assert runner.calls == 3
    clock.advance(5.0)
    assert (runner.calls, pool.available) == (4, 1)
