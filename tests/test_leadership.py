"""One scheduler per deployment: replicas on PostgreSQL elect a leader and take over from a dead
one; on SQLite a second scheduler on the same file refuses to start."""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bench.common import FIRST_ROUND, START, start_bot
from bot.domain.clock import ManualClock
from bot.jobs.pulse_rounds import BATCH_SIZE, STALE_AFTER
from bot.runtime.leadership import SCHEDULER_LOCK_KEY, SchedulerAlreadyRunning
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import OWNER, generated_workspace
from storage.db import Database
from storage.models import Delivery
from tests.conversation import ELIGIBLE, SIGNING_SECRET, command, create_pulse, pulse_dms
from tests.processes import BotProcess, bot_environment, metrics_of, readiness, scratch_postgres, wait_until

PEOPLE = 2 * BATCH_SIZE + 20  # some claimed in the batch the leader dies in, more not claimed yet
TAKEOVER_LIMIT_SECONDS = 30
LEADER = ("alignbot_scheduler_leader", ())


def sandbox_settings(sandbox: SlackSandbox, database_url: str, **changes) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=sandbox.workspace.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sandbox.api_url,
        database_url=database_url,
        **changes,
    )


def deliveries(database_url: str) -> dict[str, str]:
    database = Database(database_url)
    try:
        with database.session() as session:
            return {d.user_id: d.status for d in session.scalars(select(Delivery))}
    finally:
        database.dispose()


def pulses_posted(sandbox: SlackSandbox) -> Counter:
    """How many pulse DMs Slack accepted, per person (a message carrying a delivery id)."""
    return Counter(
        call.params["channel"]
        for call in sandbox.calls_to("chat.postMessage")
        if call.http_status == 200 and "delivery_id" in str(call.params.get("metadata"))
    )


def test_two_replicas_elect_one_leader_and_a_takeover_mid_round_delivers_everyone_once(tmp_path):
    with scratch_postgres() as url, SlackSandbox(generated_workspace(PEOPLE)) as sandbox:
        start_bot(sandbox, url, ManualClock(START)).stop()  # set up, with a weekly pulse due at FIRST_ROUND
        everyone = {u.id for u in sandbox.workspace.users if not u.is_bot}
        hung = sorted(everyone)[3]
        sandbox.inject_fault("chat.postMessage", "timeout", delay=60, when={"channel": hung})
        environment = bot_environment(sandbox, url, leader_check_seconds="1")

        with ExitStack() as replicas:
            # The first replica's clock is at the round's time: it leads and starts the round at once.
            first = BotProcess.replica(environment, tmp_path / "first", FIRST_ROUND)
            replicas.callback(first.stop)
            first.wait_listening()
            wait_until(lambda: readiness(first.url)[1]["leader"], 30, "the first replica never led")
            # The second lives past the stale limit, so the sends the first leaves unconfirmed are
            # already due for a look-up when it takes over (in production it waits STALE_AFTER).
            second = BotProcess.replica(
                environment, tmp_path / "second", FIRST_ROUND + STALE_AFTER + timedelta(minutes=1)
            )
            replicas.callback(second.stop)
            second.wait_listening()
            assert readiness(first.url) == (200, {"status": "ready", "leader": True})
            assert readiness(second.url) == (200, {"status": "ready", "leader": False})
            assert (metrics_of(first.url)[LEADER], metrics_of(second.url)[LEADER]) == (1, 0)

            wait_until(
                lambda: any(c.fault for c in sandbox.calls_to("chat.postMessage")),
                30,
                "the round never reached the person whose send hangs",
            )
            first.process.send_signal(signal.SIGKILL)  # mid-round: one send hanging, others not begun
            killed_at = time.monotonic()
            first.wait_exit(timeout=10)
            posted_by_first = sum(pulses_posted(sandbox).values())
            recorded_by_first = list(deliveries(url).values()).count("sent")
            assert 0 < posted_by_first < PEOPLE
            # Answers are recorded as they come (every replica drains the outbox); what was in flight
            # when it died is left claimed, for the next leader to look up before anything is resent.
            assert recorded_by_first <= posted_by_first
            assert hung not in pulses_posted(sandbox)

            wait_until(lambda: readiness(second.url)[1]["leader"], TAKEOVER_LIMIT_SECONDS, "no takeover")
            assert time.monotonic() - killed_at < TAKEOVER_LIMIT_SECONDS
            # Each post the first left unconfirmed is looked up (conversations.open, .history) at
            # Slack's Tier 3 pace, 50 a minute after a burst, before anything is sent again.
            wait_until(
                lambda: set(deliveries(url).values()) == {"sent"},
                120,
                "the round never completed after the takeover",
            )
            assert metrics_of(second.url)[LEADER] == 1

            second.process.send_signal(signal.SIGTERM)
            assert second.wait_exit(timeout=20) == 0

        stored = deliveries(url)
        assert set(stored) == everyone
        assert pulses_posted(sandbox) == Counter(everyone)  # every person once: none lost, none doubled
        for person in everyone:
            dms = [m for m in sandbox.dms_to(person) if "delivery_id" in str(m.metadata)]
            assert len(dms) == 1, person
        for replica in (first, second):
            messages = [entry["message"] for entry in replica.log_entries()]  # every line is JSON
            assert "this replica now runs the scheduler" in messages
            assert sandbox.workspace.bot_token not in replica.log()
        found_in_slack = [m for m in messages if "was sent before a crash: recorded, not resent" in m]
        assert len(found_in_slack) == posted_by_first - recorded_by_first  # looked up, not sent again
        assert sandbox.invalid_payloads() == []


def advisory_lock_holders(database: Database) -> list[int]:
    with database.session() as session:
        return list(
            session.scalars(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"key": SCHEDULER_LOCK_KEY},
            )
        )


def settled(runtimes: list[BotRuntime]) -> bool:
    """One leader, the only one scheduling, holding the only lock."""
    leading = [r.leadership.is_leader for r in runtimes]
    return (
        sum(leading) == 1
        and [r.scheduler.running for r in runtimes] == leading
        and len(advisory_lock_holders(runtimes[0].database)) == 1
    )


def test_a_leader_that_loses_its_connection_stops_at_once_and_a_stopping_leader_hands_over(sandbox, caplog):
    with scratch_postgres() as url, ExitStack() as running:
        settings = sandbox_settings(sandbox, url, leader_check_seconds=0.2)
        runtimes = first, second = [
            running.enter_context(BotRuntime(settings, clock=ManualClock(START))) for _ in range(2)
        ]
        # The lead is taken a moment before its scheduler has started: wait for both.
        wait_until(lambda: settled(runtimes), 10, "nobody led")
        leader = next(r for r in runtimes if r.leadership.is_leader)

        with caplog.at_level(logging.WARNING, logger="bot.runtime.leadership"):
            with leader.database.session() as session:
                session.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": advisory_lock_holders(leader.database)[0]},
                )
            wait_until(
                lambda: "lost the scheduler lead" in caplog.text, 10, "the dead connection went unnoticed"
            )
        wait_until(lambda: settled(runtimes), 10, "nobody took over")

        leader = next(r for r in runtimes if r.leadership.is_leader)
        follower = second if leader is first else first
        leader.stop()
        wait_until(lambda: follower.leadership.is_leader, 5, "the lead was not handed over")
        assert follower.scheduler.running


def test_a_cadence_changed_through_a_follower_wakes_the_leader_at_once(sandbox):
    with scratch_postgres() as url, ExitStack() as running:
        settings = sandbox_settings(sandbox, url)
        leader = running.enter_context(BotRuntime(settings, clock=ManualClock(START)))
        wait_until(lambda: leader.leadership.is_leader, 10, "nobody led")
        follower = running.enter_context(BotRuntime(settings, clock=ManualClock(START)))
        driver = SlackDriver(follower.url, SIGNING_SECRET, sandbox)
        create_pulse(follower, driver)
        command(follower, driver, OWNER, "pulse now Weekly")
        wait_until(  # well before the leader's minute tick
            lambda: all(pulse_dms(sandbox, person) for person in ELIGIBLE), 10, "the leader never heard"
        )
        assert not follower.leadership.is_leader


def refusal(database_file: Path) -> str:
    return (
        f"another alignbot process already runs the scheduler on {database_file}; "
        "SQLite allows one per database file (several replicas need PostgreSQL)"
    )


def test_sqlite_runs_one_scheduler_per_database_file(sandbox, tmp_path):
    database_file = tmp_path / "alignbot.db"
    settings = sandbox_settings(sandbox, f"sqlite:///{database_file}")
    with BotRuntime(settings, clock=ManualClock(START)) as first:
        assert first.leadership.is_leader and first.scheduler.running
        with pytest.raises(SchedulerAlreadyRunning) as refused:
            BotRuntime(settings, clock=ManualClock(START))
        assert str(refused.value) == refusal(database_file)
        with BotRuntime(settings, clock=ManualClock(START), scheduler=False) as without_scheduler:
            assert readiness(without_scheduler.url) == (200, {"status": "ready", "leader": False})

        symlink = tmp_path / "elsewhere" / "through-a-symlink.db"
        symlink.parent.mkdir()
        symlink.symlink_to(database_file)
        hard_link = tmp_path / "through-a-hard-link.db"
        hard_link.hardlink_to(database_file)
        hard_link_elsewhere = tmp_path / "another-folder" / "through-a-hard-link.db"
        hard_link_elsewhere.parent.mkdir()
        hard_link_elsewhere.hardlink_to(database_file)
        for path in (database_file, symlink, hard_link, hard_link_elsewhere):
            second = BotProcess.serve(bot_environment(sandbox, f"sqlite:///{path}"), tmp_path / path.stem)
            try:
                assert second.wait_exit(timeout=30) == 2
            finally:
                second.stop()
            [entry] = second.log_entries()  # one line, JSON as LOG_FORMAT says
            assert (entry["level"], entry["message"]) == ("CRITICAL", refusal(path))

    with BotRuntime(settings, clock=ManualClock(START)) as after_the_first:  # the lock went with it
        assert after_the_first.leadership.is_leader
