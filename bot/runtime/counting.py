"""The figures counted in a process of their own, so that `serve` never holds numpy.

Every figure (the digest, the preview, the trend, the Home tab's scores, a meeting's agenda) rests on
`InsightService.weekly_results`, which counts the rollups with numpy. Loaded once, numpy (about 20 MB)
and what a count of a large workspace leaves on the heap would stay in the server for good, though
it counts for a few seconds a week. So the count runs in a process spawned for it (spawned, not
forked: nothing of this threaded server is copied), which reads the same database and hands back
plain values; it is kept while counts keep coming, and ends once none came for IDLE_SECONDS. Its
first count waits about half a second for it to start.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.scoring import Results
    from bot.services.insights import InsightService

logger = logging.getLogger(__name__)

#: How long the counting process is kept after its last count.
IDLE_SECONDS = 300.0
#: Counts at once: a digest being counted holds up no admin's Home tab.
COUNTERS = 2


class CountingApart:
    """`weekly_results` counted in a process of its own (see the module docstring); thread-safe."""

    def __init__(self, database_url: str, idle_seconds: float = IDLE_SECONDS) -> None:
        self.database_url = database_url
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._counting = 0
        self._retiring: threading.Timer | None = None
        """Ends the process IDLE_SECONDS after the last count; started anew by each count that ends."""

    @property
    def running(self) -> bool:
        """Whether the counting process is up (started by a count, ended once idle)."""
        return self._pool is not None

    def __call__(
        self, team_id: str, at: datetime, weeks: int, window_weeks: int
    ) -> list[tuple[datetime, Results]]:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    COUNTERS,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_open,
                    initargs=(self.database_url,),
                )
            pool, self._counting = self._pool, self._counting + 1
        try:
            return pool.submit(_count, team_id, at, weeks, window_weeks).result()
        finally:
            with self._lock:
                self._counting -= 1
                if self._retiring is not None:
                    self._retiring.cancel()
                self._retiring = threading.Timer(self.idle_seconds, self._retire_if_idle)
                self._retiring.daemon = True
                self._retiring.start()

    def close(self) -> None:
        """End the counting process (the runtime stops)."""
        with self._lock:
            pool, self._pool = self._pool, None
            if self._retiring is not None:
                self._retiring.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _retire_if_idle(self) -> None:
        with self._lock:
            if self._counting or self._pool is None:
                return  # a count under way starts the wait anew when it ends
            pool, self._pool = self._pool, None
        pool.shutdown(wait=False)
        logger.debug("counting process ended after %.0f s without a count", self.idle_seconds)


# ----- in the counting process ---------------------------------------------------------------------

_insights: InsightService | None = None


def _open(database_url: str) -> None:
    """The counting process's own connection to the database, and the service that counts."""
    global _insights
    from bot.domain.clock import SystemClock
    from bot.domain.question_bank import load_bank
    from bot.services.insights import InsightService
    from bot.services.pulses import PulseService
    from bot.services.settings_cache import WorkspaceSettingsCache
    from storage.db import Database

    database, bank = Database(database_url), load_bank()
    pulses = PulseService(database, SystemClock(), bank, WorkspaceSettingsCache(database, bank))
    _insights = InsightService(database, pulses)


def _count(team_id: str, at: datetime, weeks: int, window_weeks: int) -> list[tuple[datetime, Results]]:
    return _insights.weekly_results(team_id, at, weeks, window_weeks)  # opened by `_open` first
