"""APScheduler 3 drives the pulse runner: at the next due instant, and every minute as a safety net.

The database stays the source of truth: jobs carry no state, they only say "look now". After
every run, and whenever an admin changes a cadence, the next wake-up is recomputed from the
database, so a change takes effect without a restart. Exactly one scheduler should run per
deployment; the runner's database keys make a second one harmless, not useful.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.pulse_runner import PulseRunner

logger = logging.getLogger(__name__)

SAFETY_INTERVAL_SECONDS = 60


class PulseScheduler:
    def __init__(self, runner: PulseRunner) -> None:
        self.runner = runner
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
            due = self.runner.next_wakeup()
        except Exception:
            logger.exception("could not compute the next wake-up; the minute tick will retry")
            return
        if due is None or not self.scheduler.running:
            return
        # Measured on the runner's clock, so a test's hand-moved clock maps onto real time.
        run_at = datetime.now(UTC) + max(due - self.runner.clock.now(), timedelta(0))
        self.scheduler.add_job(
            self.tick, DateTrigger(run_date=run_at, timezone=UTC), id="next", replace_existing=True
        )

    def tick(self) -> None:
        try:
            report = self.runner.run_due()
            if report.rounds_started or report.sent or report.reminders or report.rounds_closed:
                logger.info("pulse run: %s", report)
        except Exception:
            logger.exception("pulse run failed; the next tick retries")
        self.wake()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
