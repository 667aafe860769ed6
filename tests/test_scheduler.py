"""APScheduler fires the runner at the next due instant; a change to a cadence re-plans at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bot.jobs.scheduler import Scheduler
from bot.sandbox.workspace import OWNER
from tests.conversation import ELIGIBLE, FIRST_ROUND, create_pulse, pulse_dms
from tests.processes import RunningClock


def test_the_scheduler_sends_the_round_when_it_falls_due(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    finished = threading.Event()
    runner_run_due = bot.runner.run_due

    def run_and_signal():
        report = runner_run_due()
        if report.sent:
            finished.set()
        return report

    bot.runner.run_due = run_and_signal
    # due in 0.3 s, for the runner and the outbox it sends through (each delivery is due at its moment)
    bot.runner.clock = bot.runner.outbox.clock = RunningClock(FIRST_ROUND - timedelta(milliseconds=300))
    scheduler = Scheduler(bot.runner)
    scheduler.start()
    try:
        job = scheduler.scheduler.get_job("next")
        assert job is not None
        assert finished.wait(timeout=30), "the scheduler never ran the due round"
    finally:
        scheduler.shutdown()
    clock.set(FIRST_ROUND)
    assert all(len(pulse_dms(sandbox, person)) == 1 for person in ELIGIBLE)


def test_a_cadence_change_replans_without_a_restart(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    scheduler = Scheduler(bot.runner)
    bot.services.schedule_changed = scheduler.wake
    scheduler.start()
    try:
        first = scheduler.scheduler.get_job("next").next_run_time
        assert first > datetime.now(UTC) + timedelta(hours=1)  # next Tuesday: nothing to do now
        driver.slash_command(OWNER, "pulse now Weekly")
        assert bot.wait_idle()
        deadline = time.monotonic() + 30
        while not all(pulse_dms(sandbox, person) for person in ELIGIBLE):
            assert time.monotonic() < deadline, "the round started by hand was never sent"
            time.sleep(0.05)  # waiting on the scheduler's thread, not on the clock
    finally:
        scheduler.shutdown()
