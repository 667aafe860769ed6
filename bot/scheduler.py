"""APScheduler 3 drives the runners (pulses, digests): at the next due instant, and every minute as a
safety net.

The database stays the source of truth: jobs carry no state, they only say "look now". After
every run, and whenever an admin changes a cadence, the next wake-up is recomputed from the
database, so a change takes effect without a restart. Exactly one scheduler should run per
deployment; the runner's database keys make a second one harmless, not useful.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

logger = logging.getLogger(__name__)

SAFETY_INTERVAL_SECONDS = 60


class Runner(Protocol):
    clock: object

    def run_due(self) -> object: ...

    def next_wakeup(self) -> datetime | None: ...


class Scheduler:
    def __init__(self, *runners: Runner) -> None:
        self.runners = runners
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=SAFETY_INTERVAL_SECONDS, timezone=UTC),
            id="safety",
            replace_existing=True,
        )
        self.scheduler.start()
        self.wake()

    def wake(self) -> None:
        """Run at the next due instant (now, if something is already due)."""
        try:
            delays = [
                due - runner.clock.now()
                for runner in self.runners
                if (due := runner.next_wakeup()) is not None
            ]
        except Exception:
            logger.exception("could not compute the next wake-up; the minute tick will retry")
            return
        if not delays or not self.scheduler.running:
            return
        # Measured on the runners' clock, so a test's hand-moved clock maps onto real time.
        run_at = datetime.now(UTC) + max(min(delays), timedelta(0))
        self.scheduler.add_job(
            self.tick, DateTrigger(run_date=run_at, timezone=UTC), id="next", replace_existing=True
        )

    def tick(self) -> None:
        for runner in self.runners:
            try:
                logger.debug("%s: %s", type(runner).__name__, runner.run_due())
            except Exception:
                logger.exception("%s failed; the next tick retries", type(runner).__name__)
        self.wake()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
