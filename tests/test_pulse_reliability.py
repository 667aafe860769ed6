"""Exactly once under stress: a process killed mid-round, responses lost after Slack posted,
429 storms, and local send times that hold across daylight-saving changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.clock import ManualClock
from bot.jobs.pulse_rounds import STALE_AFTER
from bot.runtime.process import BotRuntime
from bot.sandbox.workspace import SALESPEOPLE
from storage.models import Delivery, PulseRound
from tests.conversation import ELIGIBLE, FIRST_ROUND, create_pulse, pulse_dms, run_at

REPO = Path(__file__).resolve().parents[1]
RUN_ONE_ROUND = """
import sys
from datetime import datetime
from bot.domain.clock import ManualClock
from bot.runtime.settings import Settings
from bot.runtime.process import BotRuntime

url, token, api, database, now = sys.argv[1:]
settings = Settings(_env_file=None, slack_bot_token=token, slack_signing_secret="x", slack_api_url=api,
                    database_url=database)
runtime = BotRuntime(settings, clock=ManualClock(datetime.fromisoformat(now)), scheduler=False)
print("ready", flush=True)
runtime.runner.run_due()
print("finished", flush=True)
"""


def statuses(runtime) -> dict[str, str]:
    with runtime.database.session() as session:
        return {d.user_id: d.status for d in session.scalars(select(Delivery))}


def exactly_one_dm_each(sandbox) -> None:
    for person in ELIGIBLE:
        assert len(pulse_dms(sandbox, person)) == 1, person


def restart(settings, moment: datetime) -> BotRuntime:
    """A new process on the same database: nothing carried over but what was stored."""
    return BotRuntime(settings, clock=ManualClock(moment), scheduler=False)


def test_a_process_killed_mid_round_leaves_everyone_with_exactly_one_dm(bot, driver, sandbox, settings):
    create_pulse(bot, driver)
    bot.stop()
    hung = SALESPEOPLE[2]
    sandbox.inject_fault("chat.postMessage", "timeout", delay=60, when={"channel": hung})
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN_ONE_ROUND,
            "-",
            settings.slack_bot_token,
            settings.slack_api_url,
            settings.database_url,
            FIRST_ROUND.isoformat(),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            calls = [c for c in sandbox.calls_to("chat.postMessage") if c.params.get("channel") in ELIGIBLE]
            if sum(c.http_status == 200 for c in calls) == len(ELIGIBLE) - 1 and any(c.fault for c in calls):
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)  # waiting on another process, not on the clock
        else:
            pytest.fail("the round never got under way")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(pulse_dms(sandbox, hung)) == 0

    with restart(settings, FIRST_ROUND + STALE_AFTER + timedelta(seconds=1)) as revived:
        # The killed process recorded answers as they came, but never the hung post's.
        assert statuses(revived)[hung] == "sending"
        assert set(statuses(revived).values()) == {"sent", "sending"}
        report = revived.runner.run_due()
        assert report.sent == 1  # only the one that never reached Slack is sent again
        assert set(statuses(revived).values()) == {"sent"}
    exactly_one_dm_each(sandbox)


def test_a_response_lost_after_slack_posted_is_not_posted_again(bot, driver, sandbox, settings, clock):
    create_pulse(bot, driver)
    lost = SALESPEOPLE[0]
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.1, when={"channel": lost})
    report = run_at(bot, clock, FIRST_ROUND)
    assert report.sent == len(ELIGIBLE) - 1
    assert statuses(bot)[lost] == "sending"
    assert bot.runner.run_due().sent == 0  # not yet stale: nobody guesses
    report = run_at(bot, clock, FIRST_ROUND + STALE_AFTER + timedelta(seconds=1))
    assert statuses(bot)[lost] == "sent"
    assert report.sent == 0
    exactly_one_dm_each(sandbox)
    with bot.database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.user_id == lost)).one()
        assert delivery.message_ts == pulse_dms(sandbox, lost)[0].ts


def test_a_429_storm_still_delivers_every_message_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    sandbox.inject_fault("chat.postMessage", "rate_limited", times=12, retry_after=0)
    sandbox.inject_fault("users.list", "rate_limited", times=2, retry_after=0)
    sandbox.inject_fault("chat.postMessage", "server_error", times=3, status=503)
    report = run_at(bot, clock, FIRST_ROUND)
    report_again = bot.runner.run_due()
    assert report.sent + report_again.sent == len(ELIGIBLE)
    exactly_one_dm_each(sandbox)
    assert set(statuses(bot).values()) == {"sent"}
    assert sum(1 for c in sandbox.calls_to("chat.postMessage") if c.http_status == 429) == 12


@pytest.mark.parametrize(
    ("zone", "first_day"),
    [
        ("America/New_York", "2026-03-05"),  # spring forward on Sunday 8 March
        ("America/New_York", "2026-10-29"),  # fall back on Sunday 1 November
        ("Europe/Berlin", "2026-03-26"),  # spring forward on Sunday 29 March
        ("Europe/Berlin", "2026-10-22"),  # fall back on Sunday 25 October
        ("Asia/Tehran", "2026-03-17"),  # no daylight saving (since 2022), the Persian new year week
    ],
)
def test_rounds_keep_their_local_time_across_daylight_saving_weeks(
    bot, driver, sandbox, clock, zone, first_day
):
    local = ZoneInfo(zone)
    start = datetime.fromisoformat(first_day).replace(tzinfo=local)
    clock.set(start.astimezone(UTC) - timedelta(hours=12))
    create_pulse(
        bot,
        driver,
        timezone=zone,
        start_date=first_day,
        weekdays=[str(d) for d in range(7)],
        answer_window_hours="12",
        reminders="0",
    )
    moment = start.astimezone(UTC)
    for _step in range(10 * 4):  # ten days, looking every six hours
        moment += timedelta(hours=6)
        run_at(bot, clock, moment)
    with bot.database.session() as session:
        rounds = session.scalars(select(PulseRound).order_by(PulseRound.scheduled_at)).all()
    local_times = [r.scheduled_at.astimezone(local) for r in rounds]
    assert len(rounds) == 10  # one a day, none lost or doubled at the change
    assert {(t.hour, t.minute) for t in local_times} == {(10, 0)}
    assert len({t.date() for t in local_times}) == 10
    assert all(r.status == "closed" for r in rounds[:-1])
    assert len(pulse_dms(sandbox, SALESPEOPLE[0])) == 10
