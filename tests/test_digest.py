"""The weekly digest end to end: scheduled, posted once per week with its chart, in each reader's language."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.jobs.digests import DigestRunner
from bot.sandbox.workspace import (
    ADMIN,
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    OWNER,
)
from storage.models import Digest, DigestPost, DigestSettings, PostStatus, WorkspaceAdmin
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    MONDAY_9_BERLIN,
    SALES_TEAM,
    a_closed_round_with_a_gap,
    answer_round,
    both_transports,
    command,
    create_pulse,
    digest_with_a_gap,
    keyed,
    open_home,
    open_modal,
    replies_to,
    run_at,
    text_of,
)


def test_the_digest_goes_out_once_a_week_with_its_chart(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    with bot.database.session() as session:
        session.get(DigestSettings, "T0ACME001").leaders = [HEAD_OF_MARKETING]
    clock.set(MONDAY_9_BERLIN - timedelta(minutes=1))
    assert bot.digests.run_due() == 0
    clock.set(MONDAY_9_BERLIN)
    assert bot.digests.run_due() == 2
    assert bot.digests.run_due() == 0
    (digest,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    text = text_of({"blocks": digest.blocks})
    assert "Sales and marketing alignment: week of 2026-03-09" in text
    assert "*Stage: Aligned* · score 60 of 100" in text
    pictures = [f for f in sandbox.files.values() if LEADERSHIP_CHANNEL in f.channels]
    assert len(pictures) == 2 and all(f.content.startswith(b"\x89PNG") for f in pictures)  # trend, heatmap
    persian = [
        m
        for m in sandbox.dms_to(HEAD_OF_MARKETING)
        if (m.metadata or {}).get("event_payload", {}).get("digest_post")
    ]
    assert len(persian) == 1
    assert "همراستایی فروش و بازاریابی" in text_of({"blocks": persian[0].blocks})
    with bot.database.session() as session:
        (stored,) = session.scalars(select(Digest)).all()
    assert (stored.stage, str(stored.week)) == ("aligned", "2026-03-09")
    clock.set(MONDAY_9_BERLIN + timedelta(days=7))
    assert bot.digests.run_due() == 2  # next week, its own digest


def dms_keyed(sandbox, user_id: str, key: str) -> list:
    """The DMs a person got from the bot carrying `key` in their metadata (a digest, a notice)."""
    return keyed(sandbox.dms_to(user_id), key)


def test_a_digest_post_slack_refuses_is_told_to_each_admin_once(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    with bot.database.session() as session:
        session.get(DigestSettings, "T0ACME001").leaders = [HEAD_OF_SALES, HEAD_OF_MARKETING]
        session.add(WorkspaceAdmin(team_id="T0ACME001", user_id=ADMIN))
    sandbox.inject_fault(
        "chat.postMessage", "slack_error", error="not_in_channel", when={"channel": LEADERSHIP_CHANNEL}
    )
    clock.set(MONDAY_9_BERLIN)
    assert bot.digests.run_due() == 2  # the leaders' DMs still go out
    assert sandbox.messages_in(LEADERSHIP_CHANNEL) == []
    for leader in (HEAD_OF_SALES, HEAD_OF_MARKETING):
        assert len(dms_keyed(sandbox, leader, "digest_post")) == 1
    for admin in (OWNER, ADMIN):  # who ran the setup, and the extra admin
        (notice,) = dms_keyed(sandbox, admin, "digest_failure")
        text = text_of({"blocks": notice.blocks})
        assert f"could not be posted to <#{LEADERSHIP_CHANNEL}>: Slack answered `not_in_channel`" in text
        assert "type `/invite @alignbot` in that channel" in text
    # The process stops after the DMs, before writing it down; a second replica takes over later.
    with bot.database.session() as session:
        post = session.scalars(select(DigestPost).where(DigestPost.destination == LEADERSHIP_CHANNEL)).one()
        post.status, post.claimed_at = PostStatus.NOTIFYING, MONDAY_9_BERLIN
    clock.set(MONDAY_9_BERLIN + timedelta(minutes=5))
    replica = DigestRunner(
        bot.database,
        clock,
        bot.services.insights,
        bot.services.presenter,
        lambda _team_id: bot.app.client,
        transport=bot.runner.outbox.transport,  # the sandbox's unpaced transport, as the bot's own
    )
    assert replica.run_due() == 0
    looked_in = {call.params["channel"] for call in sandbox.calls_to("conversations.history")}
    assert looked_in == {sandbox.dm_channel_for(OWNER), sandbox.dm_channel_for(ADMIN)}
    assert bot.digests.run_due() == 0
    assert [len(dms_keyed(sandbox, admin, "digest_failure")) for admin in (OWNER, ADMIN)] == [1, 1]
    with bot.database.session() as session:
        post = session.scalars(select(DigestPost).where(DigestPost.destination == LEADERSHIP_CHANNEL)).one()
        assert (post.status, post.error) == (PostStatus.FAILED, "not_in_channel")
    open_home(bot, driver, OWNER)
    home = text_of(sandbox.home_views[OWNER].view)
    assert "*Digest posts that failed*" in home
    assert f"<#{LEADERSHIP_CHANNEL}>, week of 2026-03-09: Slack answered `not_in_channel`." in home
    assert "Invite @alignbot to" in home
    assert "*Stage: Aligned*" in home  # the leaders' DMs went out: that is the latest digest


@both_transports
def test_an_admin_sends_this_weeks_digest_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    clock.set(FIRST_ROUND + timedelta(days=1))
    assert "on its way" in text_of(command(bot, driver, OWNER, "digest send")[0])
    assert "already gone out" in text_of(command(bot, driver, OWNER, "digest send")[0])
    posts = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    assert len(posts) == 1
    assert "Only Slack workspace admins" in text_of(command(bot, driver, SALES_TEAM[1], "digest send")[0])


def test_before_any_answer_the_digest_says_so_without_numbers(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    assert "on its way" in text_of(command(bot, driver, OWNER, "digest send")[0])
    (post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    assert "Not enough responses yet for a score" in text_of({"blocks": post.blocks})


def digest_with_nudges(bot, driver, sandbox, clock):
    post = digest_with_a_gap(bot, driver, sandbox, clock)
    buttons = [e for b in post.blocks if b.get("block_id", "").startswith("nudge:") for e in b["elements"]]
    return post, buttons


def test_a_snoozed_nudge_stays_away(bot, driver, sandbox, clock):
    post, buttons = digest_with_nudges(bot, driver, sandbox, clock)
    snooze = next(b for b in buttons if b["action_id"] == "nudge_snooze")
    message = {"ts": post.ts, "channel": LEADERSHIP_CHANNEL, "blocks": post.blocks}
    response = driver.click(OWNER, "nudge_snooze", snooze["value"], "nudge:1", message=message)
    assert bot.wait_idle()
    assert "Snoozed" in text_of(replies_to(sandbox, response)[0])
    (preview,) = command(bot, driver, OWNER, "digest preview")
    assert snooze["value"] not in str(preview)
    refused = driver.click(SALES_TEAM[1], "nudge_snooze", "next_stage:aligned", "nudge:1", message=message)
    assert bot.wait_idle()
    assert "Only leaders can do that" in text_of(replies_to(sandbox, refused)[0])


def test_the_schedule_is_chosen_in_a_modal_and_takes_effect(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    view = open_modal(bot, driver, OWNER, "digest schedule")
    assert view["callback_id"] == "digest_schedule"
    answer = driver.submit_view(OWNER, view, {"options": [], "leaders": []}).json()
    assert set(answer["errors"]) == {"leaders"}  # it would go nowhere
    driver.submit_view(OWNER, view, {"weekday": "4", "local_time": "16:30", "leaders": [HEAD_OF_SALES]})
    assert bot.wait_idle()
    with bot.database.session() as session:
        settings = session.get(DigestSettings, "T0ACME001")
        assert (settings.weekday, settings.local_time, settings.to_channel, settings.leaders) == (
            4,
            "16:30",
            True,
            [HEAD_OF_SALES],
        )
    clock.set(datetime(2026, 3, 6, 15, 29, tzinfo=UTC))  # Friday 16:29 in Berlin
    assert bot.digests.run_due() == 0
    clock.set(datetime(2026, 3, 6, 15, 30, tzinfo=UTC))
    assert bot.digests.run_due() == 2
    assert "Only Slack workspace admins" in text_of(command(bot, driver, SALES_TEAM[1], "digest schedule")[0])


def test_an_admin_exports_the_results_as_csv_to_their_dm(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    clock.set(FIRST_ROUND + timedelta(days=3))
    assert "in your DM" in text_of(command(bot, driver, OWNER, "export")[0])
    (export,) = [f for f in sandbox.files.values() if f.name.endswith(".csv")]
    assert export.channels == [sandbox.dm_channel_for(OWNER)]
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    overall = {r["group"]: r for r in rows if r["level"] == "overall" and r["week"] == "2026-03-05"}
    assert (overall["sales"]["score"], overall["marketing"]["score"], overall["everyone"]["score"]) == (
        "40.0",
        "80.0",
        "60.0",
    )
    assert "Only Slack workspace admins" in text_of(command(bot, driver, SALES_TEAM[1], "export")[0])
