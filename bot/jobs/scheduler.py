"""APScheduler 3 drives the runners (pulses, digests): at the next due instant, and every minute as a
safety net.

The database stays the source of truth: jobs carry no state, they only say "look now". After
every run, and whenever an admin changes a cadence, the next wake-up is recomputed from the
database, so a change takes effect without a restart. Exactly one scheduler runs per
deployment (see `bot.runtime.leadership`); the runners' database keys make a second one harmless, not useful.
A scheduler that starts (at start-up, or on taking over from a leader that died) looks at once.
After each run, and so at least once a minute, the heap the run (or a reading a listener made since)
freed goes back to the system.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Protocol

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

logger = logging.getLogger(__name__)

SAFETY_INTERVAL_SECONDS = 60


class Runner(Protocol):
    clock: object

    def run_due(self) -> object: ...

    def next_wakeup(self) -> datetime | None: ...


class RunObserver(Protocol):
    """What the scheduler reports (the runtime's metrics): how late each run started, what it did."""

    def observe_lag(self, seconds: float) -> None: ...

    def observe_run(self, runner: Runner, result: object) -> None: ...


class Scheduler:
    def __init__(self, *runners: Runner, metrics: RunObserver | None = None) -> None:
        self.runners = runners
        self.metrics = metrics
        self.scheduler = self._background_scheduler()

    def _background_scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        if self.metrics is not None:
            scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        return scheduler

    @property
    def running(self) -> bool:
        return self.scheduler.running

    def start(self) -> None:
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=SAFETY_INTERVAL_SECONDS, timezone=UTC),
            id="safety",
            replace_existing=True,
        )
        self.scheduler.add_job(self.tick, id="startup")  # no trigger: once, now
        self.scheduler.start()
        self.wake()

    def _submitted(self, event: JobSubmissionEvent) -> None:
        """Scheduler lag: how long after its due time a run was handed to a thread."""
        due = min(event.scheduled_run_times)
        self.metrics.observe_lag(max(0.0, (datetime.now(UTC) - due).total_seconds()))

    def wake(self) -> None:
        """Run at the next due instant (now, if something is already due)."""
        scheduler = self.scheduler  # shutdown() may swap it from another thread
        try:
            delays = [
                due - runner.clock.now()
                for runner in self.runners
                if (due := runner.next_wakeup()) is not None
            ]
        except Exception:
            logger.exception("could not compute the next wake-up; the minute tick will retry")
            return
        if not delays or not scheduler.running:
            return
        # Measured on the runners' clock, so a test's hand-moved clock maps onto real time.
        run_at = datetime.now(UTC) + max(min(delays), timedelta(0))
        scheduler.add_job(
            self.tick, DateTrigger(run_date=run_at, timezone=UTC), id="next", replace_existing=True
        )

    def tick(self) -> None:
        for runner in self.runners:
            try:
                result = runner.run_due()
            except Exception:
                logger.exception("%s failed; the next tick retries", type(runner).__name__)
                result = None
            else:
                logger.debug("%s: %s", type(runner).__name__, result)
            if self.metrics is not None:
                self.metrics.observe_run(runner, result)
        if (trim := _malloc_trim()) is not None:
            trim(0)
        self.wake()

    def shutdown(self) -> None:
        """Stop after the run in progress, if any; `start()` may be called again afterwards."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
            self.scheduler = self._background_scheduler()  # APScheduler 3 cannot restart a stopped one


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, None under another C library (musl, macOS).

    glibc keeps what Python frees for the process: after a digest's reading, about 6 MB of a
    `serve` that then waits a week (issue 13: idle `serve` at most 100 MB). Trimming takes a
    millisecond.
    """
    import ctypes  # with the first run, not at import: a process that schedules nothing never needs it

    return getattr(ctypes.CDLL(None), "malloc_trim", None)
