"""Sending at Slack's pace: rate-limit answers are waits, never failures, and an uncertain post is
never sent again while Slack will not say (through conversations.history, one call a minute for a
distributed app) whether it has it."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy import select

from bot.jobs.pulse_rounds import STALE_AFTER
from bot.sandbox.workspace import MARKETERS, OWNER, SALESPEOPLE
from bot.slack.outbox import UNCONFIRMED, UNCONFIRMED_AFTER
from storage.models import Delivery
from tests.conversation import ELIGIBLE, FIRST_ROUND, create_pulse, open_home, pulse_dms, run_at, text_of

LOST, REFUSED = SALESPEOPLE[0], SALESPEOPLE[1:3]
MEMBER = MARKETERS[0]


def deliveries(bot) -> dict[str, tuple[str, str | None]]:
    with bot.database.session() as session:
        return {d.user_id: (d.status, d.error) for d in session.scalars(select(Delivery))}


def dms_per_person(sandbox) -> dict[str, int]:
    return {person: len(pulse_dms(sandbox, person)) for person in ELIGIBLE}


def test_a_storm_of_429s_and_rate_limited_answers_delivers_every_dm_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    sandbox.enable_rate_limits(workspace_cap=120)  # two a second: the bot's own pace overshoots it
    sandbox.inject_fault("chat.postMessage", "rate_limited", times=4, retry_after=1)  # 429 + Retry-After
    sandbox.inject_fault("chat.postMessage", "slack_error", times=4, error="rate_limited")  # HTTP 200
    report = run_at(bot, clock, FIRST_ROUND)
    assert (report.sent, report.failed) == (len(ELIGIBLE), 0)
    assert dms_per_person(sandbox) == dict.fromkeys(ELIGIBLE, 1)
    assert {status for status, _ in deliveries(bot).values()} == {"sent"}
    refusals = [
        call
        for call in sandbox.calls_to("chat.postMessage")
        if (call.response or {}).get("error") in ("ratelimited", "rate_limited")
    ]
    assert len(refusals) >= 8


def uncertain_posts(bot, sandbox) -> None:
    """A round in which Slack may have the posts of three people: one answer lost after Slack posted,
    two 503s (not posted). Conversations.history is limited as for a distributed app (once a minute),
    and the bot waits at most half a second for its turn, so all but one look-up is refused."""
    bot.slack_transport.wait_budget = 0.5
    sandbox.enable_rate_limits(distributed_app=True)
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.1, when={"channel": LOST})
    for person in REFUSED:
        sandbox.inject_fault("chat.postMessage", "server_error", status=503, when={"channel": person})


def test_look_ups_limited_to_one_a_minute_settle_every_post_once(bot, driver, sandbox, sandbox_clock, clock):
    create_pulse(bot, driver)
    uncertain_posts(bot, sandbox)
    run_at(bot, clock, FIRST_ROUND)
    assert all(count <= 1 for count in dms_per_person(sandbox).values())
    unsettled = {p for p, (status, _) in deliveries(bot).items() if status == "sending"}
    assert LOST in unsettled and unsettled & set(REFUSED)  # a look-up was refused: nothing was guessed

    pacer, shift = bot.slack_transport.pacer, [0.0]
    pacer.clock = lambda: time.monotonic() + shift[0]
    moment = FIRST_ROUND + STALE_AFTER + timedelta(seconds=1)
    for _minute in range(6):  # one look-up a minute, as Slack allows
        run_at(bot, clock, moment)
        assert all(count <= 1 for count in dms_per_person(sandbox).values())
        moment += timedelta(minutes=1)
        sandbox_clock.advance(61)
        shift[0] += 61
    assert dms_per_person(sandbox) == dict.fromkeys(ELIGIBLE, 1)
    assert {status for status, _ in deliveries(bot).values()} == {"sent"}


def test_a_post_no_look_up_can_confirm_is_reported_not_sent_twice(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    uncertain_posts(bot, sandbox)
    run_at(bot, clock, FIRST_ROUND)
    run_at(bot, clock, FIRST_ROUND + STALE_AFTER + timedelta(seconds=1))  # Slack still refuses look-ups
    report = run_at(bot, clock, FIRST_ROUND + UNCONFIRMED_AFTER + timedelta(minutes=1))
    stored = deliveries(bot)
    unconfirmed = {person for person, state in stored.items() if state == ("failed", UNCONFIRMED)}
    assert LOST in unconfirmed and report.unconfirmed == len(unconfirmed)
    assert all(count <= 1 for count in dms_per_person(sandbox).values())
    assert len(pulse_dms(sandbox, LOST)) == 1  # Slack had it: reported, and never posted again


def test_admins_see_on_their_home_tab_how_many_posts_no_look_up_could_confirm(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    uncertain_posts(bot, sandbox)
    run_at(bot, clock, FIRST_ROUND)
    run_at(bot, clock, FIRST_ROUND + STALE_AFTER + timedelta(seconds=1))
    report = run_at(bot, clock, FIRST_ROUND + UNCONFIRMED_AFTER + timedelta(minutes=1))
    assert report.unconfirmed >= 1
    home = text_of(open_home(bot, driver, OWNER))
    assert "Pulse posts I could not confirm" in home
    round_of = f"*Weekly*, round of <!date^{int(FIRST_ROUND.timestamp())}^"
    assert (
        f"{round_of}{{date_short_pretty}} {{time}}|2026-03-03 09:00 UTC> — DMs: {report.unconfirmed}" in home
    )
    assert "So that nobody gets a pulse twice, I did not send them again" in home
    assert not {LOST, *REFUSED} & set(re.findall(r"U[0-9A-Z]{6,}", home))  # counts only: nobody named
    member = text_of(open_home(bot, driver, MEMBER))
    assert "could not confirm" not in member and "DMs" not in member


def test_a_reminder_no_look_up_could_confirm_is_counted_on_the_admins_home(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    bot.slack_transport.wait_budget = 0.5
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.1, when={"channel": LOST})
    sandbox.inject_fault("conversations.history", "rate_limited", times=1000, retry_after=60)
    reminders_at = FIRST_ROUND + timedelta(hours=24)
    run_at(bot, clock, reminders_at)
    run_at(bot, clock, reminders_at + STALE_AFTER + timedelta(seconds=1))  # Slack refuses the look-up
    report = run_at(bot, clock, reminders_at + UNCONFIRMED_AFTER + timedelta(minutes=1))
    assert report.unconfirmed == 1
    assert len(pulse_dms(sandbox, LOST)) == 2  # the round's DM and the reminder Slack had: not sent again
    home = text_of(open_home(bot, driver, OWNER))
    round_of = f"*Weekly*, round of <!date^{int(FIRST_ROUND.timestamp())}^"
    assert f"{round_of}{{date_short_pretty}} {{time}}|2026-03-03 09:00 UTC> — reminders: 1" in home
    assert "— DMs:" not in home and LOST not in home
