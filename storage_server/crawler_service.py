"""The Twisted driver of a share crawler: one slice per reactor call, spaced as it asks.

Rules: the service only schedules; all the work and its pacing live in the
crawler (:class:`~storage_server.crawler.ShareCrawler`). The first slice
runs ``initial_delay`` seconds after start, so a node's start-up is not
slowed. A slice that fails unexpectedly is logged with its traceback and
retried after ``retry_delay``: a crawler bug never stops the node. Stopping
cancels the next slice; the state was saved at the end of the last one.
"""

from typing import Protocol

from twisted.application.service import Service
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from storage_server.crawler import SliceBudget

DEFAULT_INITIAL_DELAY = 300.0
DEFAULT_RETRY_DELAY = 3600.0

log = Logger()


class SliceRunner(Protocol):
    """Something that does a bounded slice of work and says how long to wait after it."""

    def run_slice(self, budget: SliceBudget | None = None) -> float:
        """Do one slice; return the seconds to wait before the next."""


class CrawlerService(Service):
    """Runs a crawler's slices on a reactor for as long as the service runs."""

    def __init__(
        self,
        crawler: SliceRunner,
        reactor: IReactorTime,
        budget: SliceBudget | None = None,
        initial_delay: float = DEFAULT_INITIAL_DELAY,
        retry_delay: float = DEFAULT_RETRY_DELAY,
    ) -> None:
        """Drive ``crawler`` on ``reactor``; nothing is scheduled until the service starts."""
        self.crawler = crawler
        self.reactor = reactor
        self.budget = budget or SliceBudget()
        self.initial_delay = initial_delay
        self.retry_delay = retry_delay
        self._next_slice: IDelayedCall | None = None

    def startService(self) -> None:  # noqa: N802  Twisted's name
        """Schedule the first slice."""
        super().startService()  # type: ignore[no-untyped-call]
        self._next_slice = self.reactor.callLater(self.initial_delay, self._run_slice)

    def stopService(self) -> None:  # noqa: N802  Twisted's name
        """Cancel the next slice."""
        if self._next_slice is not None and self._next_slice.active():
            self._next_slice.cancel()
        self._next_slice = None
        super().stopService()  # type: ignore[no-untyped-call]

    def _run_slice(self) -> None:
        try:
            delay = self.crawler.run_slice(self.budget)
        except Exception:  # noqa: BLE001  a crawler bug is logged and retried, never fatal
            log.failure(
                "lease-checker: slice failed; retrying in {delay} s", delay=self.retry_delay
            )
            delay = self.retry_delay
        self._next_slice = self.reactor.callLater(delay, self._run_slice)
