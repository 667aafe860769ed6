"""Joint meetings end to end: a series made in the modal, reminders on the clock across a DST change,
RSVPs counted once and shown in place, the .ics, the "was it useful?" check, adherence in the digest —
through the signed driver, the sandbox and the database."""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.domain.clock import ManualClock
from bot.domain.meetings import ERROR_CODES
from bot.domain.vocabulary import EVERYONE
from bot.jobs.meeting_reminders import STALE_AFTER
from bot.runtime.process import BotRuntime
from bot.sandbox.workspace import (
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETERS,
    MARKETING_CHANNEL,
    OWNER,
    SALES_CHANNEL,
    SALESPEOPLE,
)
from storage.models import Meeting, MeetingCheck, MeetingCheckDelivery, MeetingReminder, MeetingRsvp
from tests.conversation import (
    FIRST_MEETING as FIRST,
)
from tests.conversation import (
    MEETING_INPUTS,
    both_transports,
    check_dms,
    command,
    confirm_held,
    create_meeting,
    message_codes,
    open_check_comment,
    open_modal,
    reminders_in,
    replies_to,
    row_counts,
    rsvp,
    run_meetings_at,
    set_up_workspace,
    text_of,
)

NEW_YORK = ZoneInfo("America/New_York")
CHANNELS = (SALES_CHANNEL, MARKETING_CHANNEL)
# FIRST, Thursday 5 March at 10:00, is EST (UTC−5); the clocks spring forward on Sunday 8 March, so
# Thursday 12 March at 10:00 is EDT (UTC−4): an hour earlier in UTC.
SECOND = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)
DAY, QUARTER = timedelta(hours=24), timedelta(minutes=15)


def all_reminders(sandbox) -> list:
    return [post for channel in CHANNELS for post in reminders_in(sandbox, channel)]


def rate(bot, driver, dm, user_id: str, score: int):
    row = next(b for b in dm.blocks if b.get("block_id") == "meeting_check")
    button = row["elements"][score - 1]
    response = driver.click(
        user_id,
        button["action_id"],
        button["value"],
        "meeting_check",
        message={"ts": dm.ts, "channel": dm.channel, "blocks": dm.blocks},
    )
    assert response.status == 200
    assert bot.wait_idle()
    return response


def counts_shown(post) -> tuple[str, str]:
    row = next(b for b in post.blocks if b.get("block_id") == "meeting_rsvp")
    return tuple(e["text"]["text"] for e in row["elements"])


# ----- admins --------------------------------------------------------------------------------------


def test_a_meeting_is_created_through_the_modal_and_listed(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "meeting add")
    channels = next(b for b in view["blocks"] if b["block_id"] == "channels")["element"]
    assert channels["initial_conversations"] == [SALES_CHANNEL, MARKETING_CHANNEL]  # from setup
    offsets = next(b for b in view["blocks"] if b["block_id"] == "reminder_offsets")["element"]
    assert [o["value"] for o in offsets["initial_options"]] == ["1440", "15"]  # a day and 15 minutes before
    assert driver.submit_view(OWNER, view, MEETING_INPUTS).body == ""
    assert bot.wait_idle()
    with bot.database.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.title, meeting.timezone, meeting.local_time, meeting.weekdays) == (
            "Pipeline review",
            "America/New_York",
            "10:00",
            [3],
        )
        assert (meeting.channels, meeting.reminder_offsets, meeting.owner) == (
            [SALES_CHANNEL, MARKETING_CHANNEL],
            [1440, 15],
            HEAD_OF_SALES,
        )
    assert "*Pipeline review* is scheduled" in text_of({"blocks": sandbox.dms_to(OWNER)[-1].blocks})
    listing = text_of(command(bot, driver, OWNER, "meeting")[0])
    assert "Weekly on Thursday at 10:00 (America/New_York) · 60 minutes" in listing
    assert "Reminders 24 h, 15 min before" in listing
    for start in (FIRST, SECOND, SECOND + timedelta(weeks=1)):  # shown in each reader's own timezone
        assert f"<!date^{int(start.timestamp())}^" in listing
    assert bot.meetings.next_wakeup() == FIRST - DAY


def test_members_cannot_manage_meetings_and_a_late_submission_changes_nothing(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "meeting add")
    for text in ("meeting", "meeting add", "meeting agenda add Hi", "meeting remove Pipeline review"):
        assert "Only Slack workspace admins" in text_of(command(bot, driver, SALESPEOPLE[0], text)[0])
    assert driver.submit_view(SALESPEOPLE[0], view, MEETING_INPUTS).body == ""
    assert bot.wait_idle()
    assert "Nothing was changed" in text_of({"blocks": sandbox.dms_to(SALESPEOPLE[0])[-1].blocks})
    response = driver.click(SALESPEOPLE[0], "meeting_remove_confirm", "1", "meeting_remove")
    assert bot.wait_idle()
    assert "Nothing was changed" in text_of(replies_to(sandbox, response)[0])
    assert row_counts(bot)["meetings"] == 0


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"title": " "}, {"title"}),
        ({"weekdays": []}, {"weekdays"}),
        ({"frequency": "monthly"}, {"nth", "weekday"}),
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"first_date": "2026-02-27"}, {"first_date"}),
        ({"frequency": "once", "start_time": "01:00"}, {"start_time"}),  # 06:00 UTC, an hour ago
        ({"duration_minutes": "600"}, {"duration_minutes"}),
        ({"channels": []}, {"channels"}),
        ({"weekdays": ["0", "1"], "reminder_offsets": ["2880"]}, {"reminder_offsets"}),  # 48 h > a day apart
        ({"link": "javascript:alert(1)"}, {"link"}),
        ({"end_date": "2026-03-01"}, {"end_date"}),
        ({"skip_dates": "next thursday"}, {"skip_dates"}),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_stores_nothing(bot, driver, sandbox, changes, fields):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "meeting add")
    answer = driver.submit_view(OWNER, view, {**MEETING_INPUTS, **changes}).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == fields
    assert all(text and "_" not in text for text in answer["errors"].values())  # words, not codes
    assert bot.wait_idle()
    assert row_counts(bot)["meetings"] == 0


def test_every_error_code_has_words_and_a_taken_title_is_refused(bot, driver, sandbox):
    assert set(ERROR_CODES) | {"title_taken"} <= set(message_codes("field_errors"))
    create_meeting(bot, driver)
    view = open_modal(bot, driver, OWNER, "meeting add")
    answer = driver.submit_view(OWNER, view, {**MEETING_INPUTS, "title": "pipeline  REVIEW"}).json()
    assert answer["errors"] == {"title": "Another joint meeting already has this title."}


def test_an_admin_edits_a_meeting_and_keeps_its_first_date(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    clock.set(datetime(2026, 3, 20, 12, tzinfo=UTC))  # the first date (2 March) has passed
    view = open_modal(bot, driver, OWNER, "meeting edit pipeline review")
    assert view["callback_id"] == "meeting_edit"
    assert driver.submit_view(OWNER, view, {"start_time": "16:30", "title": "Revenue sync"}).body == ""
    assert bot.wait_idle()
    with bot.database.session() as session:
        meeting = session.scalars(select(Meeting)).one()
    assert (meeting.title, meeting.local_time, meeting.start_date) == (
        "Revenue sync",
        "16:30",
        date(2026, 3, 2),
    )
    assert "is updated" in text_of({"blocks": sandbox.dms_to(OWNER)[-1].blocks})


def test_skip_next_pause_resume_agenda_and_remove(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    assert "<!date^" in text_of(command(bot, driver, OWNER, "meeting skip-next Pipeline review")[0])
    assert "Skipped: 2026-03-05" in text_of(command(bot, driver, OWNER, "meeting")[0])
    for moment in (FIRST - DAY, FIRST - QUARTER, FIRST + timedelta(hours=1)):
        run_meetings_at(bot, clock, moment)
    assert all_reminders(sandbox) == []  # the skipped date has neither reminders nor a check
    assert check_dms(sandbox, HEAD_OF_SALES) == []
    text = "Agree what a <qualified> lead is & who calls it"
    reply = text_of(command(bot, driver, OWNER, f"meeting agenda add {text}")[0])
    assert "Added to the agenda of *Pipeline review* on <!date^" in reply
    assert f"<!date^{int(SECOND.timestamp())}^" in reply

    clock.set(SECOND - DAY - timedelta(hours=1))
    assert "is paused" in text_of(command(bot, driver, OWNER, "meeting pause PIPELINE REVIEW")[0])
    run_meetings_at(bot, clock, SECOND - DAY)
    assert all_reminders(sandbox) == []
    clock.set(SECOND - timedelta(hours=2))
    assert "back on" in text_of(command(bot, driver, OWNER, "meeting resume Pipeline review")[0])
    assert bot.meetings.run_due().reminders == 0  # what fell due while paused is not sent late
    assert run_meetings_at(bot, clock, SECOND - QUARTER).reminders == 2
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    assert "• Agree what a &lt;qualified&gt; lead is &amp; who calls it" in text_of({"blocks": post.blocks})

    (question,) = command(bot, driver, OWNER, "meeting remove Pipeline review")
    cancel, confirm = (
        next(b for b in question["blocks"] if b.get("type") == "actions")["elements"][i] for i in (1, 0)
    )
    response = driver.click(OWNER, cancel["action_id"], cancel["value"], "meeting_remove")
    assert bot.wait_idle()
    assert "Nothing was deleted" in text_of(replies_to(sandbox, response)[0])
    assert row_counts(bot)["meetings"] == 1
    response = driver.click(OWNER, confirm["action_id"], confirm["value"], "meeting_remove")
    assert bot.wait_idle()
    assert "*Pipeline review* is removed" in text_of(replies_to(sandbox, response)[0])
    counts = row_counts(bot)
    assert (counts["meetings"], counts["meeting_reminders"], counts["meeting_agenda_items"]) == (0, 0, 0)
    assert "There is no joint meeting called" in text_of(
        command(bot, driver, OWNER, "meeting pause Pipeline review")[0]
    )


def test_help_and_did_you_mean_know_meeting(bot, driver):
    assert "/align meeting" in text_of(command(bot, driver, OWNER, "help")[0])
    assert "/align meeting" not in text_of(command(bot, driver, SALESPEOPLE[0], "help")[0])
    assert "Did you mean `/align meeting`?" in text_of(command(bot, driver, OWNER, "meetng")[0])
    assert "Use `/align meeting`" in text_of(command(bot, driver, OWNER, "meeting frobnicate")[0])


# ----- reminders -------------------------------------------------------------------------------------


def test_reminders_go_out_at_the_exact_instants_across_a_daylight_saving_change(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    due = [FIRST - DAY, FIRST - QUARTER, SECOND - DAY, SECOND - QUARTER]
    start, end = clock.now(), SECOND + timedelta(hours=2)
    hourly = [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]
    moments = sorted(set(hourly) | {t - timedelta(seconds=1) for t in due} | set(due))
    posted_at: dict[str, datetime] = {}
    for moment in moments:
        run_meetings_at(bot, clock, moment)
        for post in all_reminders(sandbox):
            posted_at.setdefault(f"{post.channel}:{post.ts}", moment)
    assert sorted(posted_at.values()) == sorted(due * 2)  # each (meeting, offset, channel) exactly once
    for channel in CHANNELS:
        posts = reminders_in(sandbox, channel)
        shown = [re.search(r"<!date\^(\d+)\^", text_of({"blocks": p.blocks})).group(1) for p in posts]
        assert shown == [str(int(t.timestamp())) for t in (FIRST, FIRST, SECOND, SECOND)]
    local = [t.astimezone(NEW_YORK) for t in (FIRST, SECOND)]
    assert [(t.hour, t.minute, t.strftime("%Z")) for t in local] == [(10, 0, "EST"), (10, 0, "EDT")]
    assert bot.meetings.run_due().reminders == 0
    with bot.database.session() as session:
        activities = session.scalars(
            select(MeetingReminder.joint_activity).order_by(MeetingReminder.occurrence_date)
        ).all()
    assert activities == ["forecasts_targets"] * 4 + ["customer_value"] * 4  # one rotation step a meeting


def test_holidays_from_the_modal_get_no_reminders_and_no_check(bot, driver, sandbox, clock):
    create_meeting(bot, driver, skip_dates="2026-03-05")
    assert bot.meetings.next_wakeup() == SECOND - DAY
    for moment in (FIRST - DAY, FIRST - QUARTER, FIRST + timedelta(hours=1), SECOND - DAY):
        run_meetings_at(bot, clock, moment)
    assert len(all_reminders(sandbox)) == 2  # 12 March's day-before reminder, in each channel
    assert check_dms(sandbox, HEAD_OF_SALES) == []  # no meeting on 5 March, so nothing to ask the owner
    shown = {
        re.search(r"<!date\^(\d+)\^", text_of({"blocks": p.blocks})).group(1) for p in all_reminders(sandbox)
    }
    assert shown == {str(int(SECOND.timestamp()))}


def test_a_restart_or_a_second_process_sends_nothing_twice(bot, driver, sandbox, settings, clock):
    create_meeting(bot, driver)
    run_meetings_at(bot, clock, FIRST - DAY)
    with BotRuntime(settings, clock=ManualClock(FIRST - DAY), scheduler=False) as restarted:
        assert restarted.meetings.run_due().reminders == 0
    second = BotRuntime(settings, clock=ManualClock(FIRST - QUARTER), scheduler=False)
    try:
        assert second.meetings.run_due().reminders == 2
        assert run_meetings_at(bot, clock, FIRST - QUARTER).reminders == 0
    finally:
        second.stop()
    assert len(all_reminders(sandbox)) == 4


def test_a_post_lost_after_slack_took_it_is_found_not_repeated(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.1, when={"channel": SALES_CHANNEL})
    assert run_meetings_at(bot, clock, FIRST - DAY).reminders == 1
    assert bot.meetings.run_due().reminders == 0  # not stale yet: nobody guesses
    run_meetings_at(bot, clock, FIRST - DAY + STALE_AFTER + timedelta(seconds=1))
    assert len(reminders_in(sandbox, SALES_CHANNEL)) == 1
    with bot.database.session() as session:
        stored = session.scalars(
            select(MeetingReminder).where(MeetingReminder.channel_id == SALES_CHANNEL)
        ).one()
    assert (stored.status, stored.message_ts) == ("sent", reminders_in(sandbox, SALES_CHANNEL)[0].ts)


def test_a_crash_between_claim_and_post_posts_once_after_recovery(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    sandbox.inject_fault("chat.postMessage", "timeout", delay=0.1, when={"channel": MARKETING_CHANNEL})
    assert run_meetings_at(bot, clock, FIRST - DAY).reminders == 1  # the marketing post never reached Slack
    with bot.database.session() as session:
        statuses = dict(session.execute(select(MeetingReminder.channel_id, MeetingReminder.status)).all())
    assert statuses == {SALES_CHANNEL: "sent", MARKETING_CHANNEL: "sending"}
    assert run_meetings_at(bot, clock, FIRST - DAY + STALE_AFTER + timedelta(seconds=1)).reminders == 1
    assert bot.meetings.run_due().reminders == 0
    assert [len(reminders_in(sandbox, c)) for c in CHANNELS] == [1, 1]


def test_after_downtime_only_the_latest_reminder_goes_and_none_once_it_began(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    report = run_meetings_at(bot, clock, FIRST - timedelta(minutes=5))  # down through both due times
    assert report.reminders == 2  # the 15-minute one, in each channel; not the day-before one as well
    report = run_meetings_at(bot, clock, SECOND + timedelta(minutes=5))  # down until the next one had begun
    assert report.reminders == 0
    assert len(all_reminders(sandbox)) == 2


# ----- RSVPs and the calendar file -------------------------------------------------------------------


@both_transports
def test_rsvp_counts_update_in_place_everywhere_and_count_each_person_once(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    run_meetings_at(bot, clock, FIRST - DAY)
    sales_post, marketing_post = (reminders_in(sandbox, c)[0] for c in CHANNELS)
    assert counts_shown(sales_post) == ("Going · 0", "Can't make it · 0")
    sandbox.clear()
    rsvp(bot, driver, sales_post, SALESPEOPLE[0], "going")
    updated = {call.params["channel"] for call in sandbox.calls_to("chat.update")}
    assert updated == set(CHANNELS)  # the post in the other team's channel too
    assert counts_shown(marketing_post) == ("Going · 1", "Can't make it · 0")
    rsvp(bot, driver, sales_post, SALESPEOPLE[0], "going")  # a double tap
    payload = rsvp(bot, driver, marketing_post, MARKETERS[0], "going", twice_as_a_retry=True)
    assert counts_shown(sales_post) == ("Going · 2", "Can't make it · 0")
    rsvp(bot, driver, sales_post, SALESPEOPLE[0], "not_going")  # a change of mind moves the count
    assert counts_shown(sales_post) == counts_shown(marketing_post) == ("Going · 1", "Can't make it · 1")
    assert SALESPEOPLE[0] not in text_of({"blocks": sales_post.blocks})  # counts, never names
    confirmations = [p for p in sandbox.response_url_posts if p.body.get("response_type") == "ephemeral"]
    assert "you can't make *Pipeline review*" in text_of(confirmations[-1].body)
    with bot.database.session() as session:
        rows = session.execute(
            select(MeetingRsvp.user_id, MeetingRsvp.answer).order_by(MeetingRsvp.user_id)
        ).all()
    assert [tuple(r) for r in rows] == [(MARKETERS[0], "going"), (SALESPEOPLE[0], "not_going")]
    run_meetings_at(bot, clock, FIRST - QUARTER)  # the next reminder starts from the counts so far
    assert counts_shown(reminders_in(sandbox, SALES_CHANNEL)[1]) == ("Going · 1", "Can't make it · 1")
    clock.set(FIRST + timedelta(hours=1))  # over: late taps are not counted
    driver.interaction(payload)
    assert bot.wait_idle()
    closed = bot.services.presenter.notice("fa", "rsvp_closed")  # the marketer reads Persian
    assert sandbox.response_url_posts[-1].body["text"] == closed["text"]


def test_the_ics_in_each_reminder_thread_parses_back_with_the_right_times(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    command(bot, driver, OWNER, "meeting skip-next Pipeline review")
    run_meetings_at(bot, clock, SECOND - DAY)
    files = [f for f in sandbox.files.values() if f.completed]
    assert sorted(f.channel for f in files) == sorted(CHANNELS)  # one per reminder post
    for file in files:
        post = reminders_in(sandbox, file.channel)[0]
        thread = [m for m in sandbox.messages_in(file.channel) if m.thread_ts == post.ts]
        assert [m.files for m in thread] == [[file.id]]
    assert {f.name for f in files} == {"Pipeline review.ics"}
    assert {mimetypes.guess_type(f.name)[0] for f in files} == {"text/calendar"}  # how Slack types it
    events = [next(e for e in Calendar.from_ical(f.content.decode()).walk("VEVENT")) for f in files]
    assert len({str(e["uid"]) for e in events}) == 1  # one series: importing twice updates, not duplicates
    event = events[0]
    assert event["dtstart"].params["TZID"] == "America/New_York"
    start = event.decoded("dtstart")
    assert (start.date(), start.hour, start.minute) == (date(2026, 3, 5), 10, 0)
    assert start.astimezone(UTC) == FIRST
    assert event.decoded("duration") == timedelta(hours=1)
    assert event["rrule"]["FREQ"] == ["WEEKLY"] and event["rrule"]["BYDAY"] == ["TH"]
    excluded = [d.dt for exdate in _as_list(event["exdate"]) for d in exdate.dts]
    assert [t.astimezone(UTC) for t in excluded] == [FIRST]  # the skipped date
    assert str(event["url"]) == MEETING_INPUTS["link"]
    zones = [str(z["tzid"]) for z in Calendar.from_ical(files[0].content.decode()).walk("VTIMEZONE")]
    assert zones == ["America/New_York"]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# ----- the usefulness check, adherence and the nudge -------------------------------------------------


def test_the_check_goes_only_to_those_going_and_the_owner_and_is_answered(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    run_meetings_at(bot, clock, FIRST - DAY)
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    for person, answer in ((SALESPEOPLE[0], "going"), (MARKETERS[0], "going"), (SALESPEOPLE[1], "not_going")):
        rsvp(bot, driver, post, person, answer)
    assert run_meetings_at(bot, clock, FIRST + timedelta(minutes=59)).checks == 0
    # When it ends, its owner is asked first whether it took place; the others once he says it did.
    assert run_meetings_at(bot, clock, FIRST + timedelta(hours=1)).checks == 1
    assert bot.meetings.run_due().checks == 0
    assert check_dms(sandbox, SALESPEOPLE[0]) == []
    asked = text_of({"blocks": check_dms(sandbox, HEAD_OF_SALES)[0].blocks})
    assert "Did today's joint meeting take place?" in asked
    (shown,) = confirm_held(bot, driver, sandbox)
    assert shown["replace_original"] is True and "Was today's joint meeting useful?" in text_of(shown)
    for person in (SALESPEOPLE[0], MARKETERS[0], HEAD_OF_SALES):
        assert len(check_dms(sandbox, person)) == 1, person
    assert check_dms(sandbox, SALESPEOPLE[1]) == []
    dm = check_dms(sandbox, SALESPEOPLE[0])[0]
    assert "Was today's joint meeting useful?" in text_of({"blocks": dm.blocks})
    rate(bot, driver, dm, SALESPEOPLE[0], 2)
    response = rate(bot, driver, dm, SALESPEOPLE[0], 4)  # changed
    (shown,) = replies_to(sandbox, response)
    assert shown["replace_original"] is True
    chosen = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"] if e.get("style")]
    assert [e["value"].rsplit(":", 1)[1] for e in chosen] == ["4"]

    modal = open_check_comment(bot, driver, dm, SALESPEOPLE[0])
    assert modal["callback_id"] == "meeting_check_comment"
    assert (
        driver.submit_view(SALESPEOPLE[0], modal, {"comment": "Less <!channel> status, more forecasts"}).body
        == ""
    )
    assert bot.wait_idle()
    with bot.database.session() as session:
        (answered,) = session.scalars(
            select(MeetingCheckDelivery).where(MeetingCheckDelivery.score.is_not(None))
        )
    assert (answered.user_id, answered.department, answered.score, answered.comment) == (
        SALESPEOPLE[0],
        "sales",
        4,
        "Less <!channel> status, more forecasts",
    )
    five = next(b for b in dm.blocks if b.get("block_id") == "meeting_check")["elements"][4]
    stray = driver.click(MARKETERS[3], five["action_id"], five["value"], "meeting_check")  # not asked
    assert bot.wait_idle()
    assert "was not sent to you" in text_of(replies_to(sandbox, stray)[0])


def test_adherence_shows_in_the_digest_and_ratings_feed_the_joint_meetings_dimension(
    bot, driver, sandbox, clock
):
    create_meeting(bot, driver, threshold="3")
    run_meetings_at(bot, clock, FIRST - DAY)
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    raters = [*SALESPEOPLE[:3], *MARKETERS[:3]]
    for person in raters:
        rsvp(bot, driver, post, person, "going")
    run_meetings_at(bot, clock, FIRST + timedelta(hours=1))
    confirm_held(bot, driver, sandbox)
    for person, score in zip(raters, (4, 5, 4, 3, 4, 5), strict=True):
        rate(bot, driver, check_dms(sandbox, person)[0], person, score)
    results = bot.services.insights.results("T0ACME001", FIRST + 4 * DAY)  # once its check closed
    item = results.items[EVERYONE, "mtg01"]
    assert (item.respondents, item.mean) == (6, 25 / 6)
    assert results.dimensions[EVERYONE, "joint_meetings"].respondents == 6
    run_meetings_at(
        bot, clock, SECOND + timedelta(hours=1)
    )  # its owner never says the second one took place: planned, not held
    clock.set(SECOND + 4 * DAY)  # its check closed
    digest = text_of(command(bot, driver, OWNER, "digest preview")[0])
    assert "Joint meetings in the last 30 days: 1 of 2 held" in digest
    assert "No useful joint meeting" not in digest


def test_a_meeting_its_owner_says_did_not_take_place_is_not_held_and_nobody_is_asked(
    bot, driver, sandbox, clock
):
    create_meeting(bot, driver, threshold="3")
    run_meetings_at(bot, clock, FIRST - DAY)
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    for person in (*SALESPEOPLE[:3], *MARKETERS[:3]):
        rsvp(bot, driver, post, person, "going")
    run_meetings_at(bot, clock, FIRST + timedelta(hours=1))
    (shown,) = confirm_held(bot, driver, sandbox, held=False)
    assert "it did not take place" in text_of(shown)
    assert all(check_dms(sandbox, person) == [] for person in (*SALESPEOPLE[:3], *MARKETERS[:3]))
    # Once said, it stays said; nobody else was asked, so no rating can count.
    with bot.database.session() as session:
        check_id = str(session.scalars(select(MeetingCheck.id)).one())
    again = driver.click(
        HEAD_OF_SALES, "meeting_held:yes", check_id, "meeting_held", channel_id=SALES_CHANNEL
    )
    assert bot.wait_idle()
    assert "already answered" in text_of(replies_to(sandbox, again)[0])
    with bot.database.session() as session:
        statuses = set(session.scalars(select(MeetingCheckDelivery.status)))
    assert statuses == {"sent", "dropped"}
    clock.set(FIRST + 4 * DAY)  # its check closed
    digest = text_of(command(bot, driver, OWNER, "digest preview")[0])
    assert "Joint meetings in the last 30 days: 0 of 1 held" in digest
    results = bot.services.insights.results("T0ACME001", FIRST + 4 * DAY)
    assert (EVERYONE, "mtg01") not in results.items or results.items[EVERYONE, "mtg01"].withheld


def test_no_useful_meeting_in_thirty_days_brings_the_nudge(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    assert "No joint meetings were planned" in text_of(command(bot, driver, OWNER, "digest preview")[0])
    run_meetings_at(bot, clock, FIRST - DAY)
    rsvp(bot, driver, reminders_in(sandbox, SALES_CHANNEL)[0], SALESPEOPLE[0], "going")
    run_meetings_at(bot, clock, FIRST + timedelta(hours=1))
    confirm_held(bot, driver, sandbox)
    rate(bot, driver, check_dms(sandbox, SALESPEOPLE[0])[0], SALESPEOPLE[0], 2)  # held, not useful
    command(bot, driver, OWNER, "meeting pause Pipeline review")
    clock.set(FIRST + timedelta(days=29))
    assert "No useful joint meeting" not in text_of(command(bot, driver, OWNER, "digest preview")[0])
    clock.set(FIRST + timedelta(days=31))
    # The preview stays at the latest close (the check, three days after the meeting); the digest
    # sent now reads at its own time.
    assert "on its way" in text_of(command(bot, driver, OWNER, "digest send")[0])
    (post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    digest = text_of({"blocks": post.blocks})
    assert "No useful joint meeting in 31 days." in digest
    assert "Schedule a joint meeting on forecasts, customer value or promotions." in digest
    assert "No joint meetings were planned in the last 30 days." in digest
