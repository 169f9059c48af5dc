"""A few RSA keys generated ahead of time, so creating a mutable file is quick.

Rules: the pool holds at most ``size`` keys. It fills itself one key at a
time, each generation started ``idle_delay`` seconds (of the injected clock)
after the pool last changed, so it works while the client is idle and not
while a burst of creations is asking for keys. A key taken is gone: the pool
hands each key out once and keeps no reference to it. When the pool is
empty, :meth:`KeyPool.take` generates a key on the spot. Generation runs on
the injected :class:`~client.upload.cpu.CpuRunner`.
"""

import logging
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from client.mutable.keys import generate_private_key
from client.upload.cpu import CpuRunner
from grid.crypto.rsa import RsaPrivateKey, generate_rsa_private_key

DEFAULT_POOL_SIZE = 2
DEFAULT_IDLE_DELAY = 5.0

_log = logging.getLogger(__name__)


class KeyPool:
    """RSA-2048 keys made in the background while idle, each handed out once."""

    def __init__(
        self,
        runner: CpuRunner,
        clock: IReactorTime,
        *,
        size: int = DEFAULT_POOL_SIZE,
        idle_delay: float = DEFAULT_IDLE_DELAY,
    ) -> None:
        """Keep up to ``size`` keys, generating one ``idle_delay`` s after each change."""
        if size < 0:
            raise ValueError(f"a key pool size must be >= 0, got {size}")
        self._runner = runner
        self._clock = clock
        self._size = size
        self._idle_delay = idle_delay
        self._keys: list[RsaPrivateKey] = []
        self._timer: IDelayedCall | None = None
        self._generating = False
        self._running = False

    @property
    def available(self) -> int:
        """How many keys are ready now."""
        return len(self._keys)

    def start(self) -> None:
        """Begin filling the pool while idle."""
        self._running = True
        self._schedule()

    def stop(self) -> None:
        """Stop filling; keys already made stay available."""
        self._running = False
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    async def take(self) -> RsaPrivateKey:
        """A key never handed out before: from the pool, or generated now."""
        if self._keys:
            key = self._keys.pop()
        else:
            key = await generate_private_key(self._runner)
        self._schedule()
        return key

    def _schedule(self) -> None:
        """Restart the idle timer, if the pool is running and not full."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._running and not self._generating and len(self._keys) < self._size:
            self._timer = self._clock.callLater(self._idle_delay, self._generate_one)

    def _generate_one(self) -> None:
        """Start one background generation; add its key and schedule the next."""
        self._timer = None
        self._generating = True
        generating = self._runner.run(generate_rsa_private_key)

        def done(key: RsaPrivateKey) -> None:
            self._generating = False
            if self._running and len(self._keys) < self._size:
                self._keys.append(key)
            self._schedule()

        def failed(failure: Any) -> None:
            self._generating = False
            _log.warning("mutable.key-pool.generation-failed error=%s", failure.getErrorMessage())

        generating.addCallbacks(done, failed)
