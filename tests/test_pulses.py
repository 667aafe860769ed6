"""Pulses end to end: a cadence made in the modal, rounds sent on the clock, taps, comments,
reminders, closing, pause/skip/resume — through the signed driver, the sandbox and the database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.sandbox.workspace import (
    DEACTIVATED,
    GUEST,
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    MARKETERS,
    MARKETING_CHANNEL,
    OTHER_BOT,
    OWNER,
    SALES_AND_MARKETING,
    SALES_CHANNEL,
    SALESPEOPLE,
)
from storage import pulses as pulse_store
from storage.models import Cadence, Comment, Delivery, PulseRound
from tests.conversation import (
    ELIGIBLE,
    FIRST_ROUND,
    PULSE_INPUTS,
    answers,
    both_transports,
    command,
    create_pulse,
    open_comment,
    open_modal,
    pulse_dms,
    pulse_round_id,
    replies_to,
    row_counts,
    run_at,
    set_up_workspace,
    tap,
    text_of,
)


def test_a_cadence_is_created_through_the_modal_and_listed(bot, driver, sandbox):
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence = session.scalars(select(Cadence)).one()
        assert (cadence.name, cadence.timezone, cadence.local_time, cadence.weekdays) == (
            "Weekly",
            "Europe/Berlin",
            "10:00",
            [1],
        )
    assert "The pulse *Weekly* is scheduled" in text_of({"blocks": sandbox.dms_to(OWNER)[-1].blocks})
    listing = text_of(command(bot, driver, OWNER, "pulse")[0])
    assert "Weekly on Tuesday at 10:00 (Europe/Berlin)" in listing
    assert f"<!date^{int(FIRST_ROUND.timestamp())}^" in listing  # shown in each reader's own timezone


def test_the_round_goes_to_exactly_the_eligible_people_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    assert run_at(bot, clock, FIRST_ROUND - timedelta(minutes=1)).rounds_started == 0
    report = run_at(bot, clock, FIRST_ROUND + timedelta(seconds=30))
    assert report.rounds_started == 1
    assert report.sent == len(ELIGIBLE)
    for person in ELIGIBLE:
        assert len(pulse_dms(sandbox, person)) == 1, person
    for excluded in (GUEST, DEACTIVATED, OTHER_BOT, OWNER):
        assert pulse_dms(sandbox, excluded) == []
    assert bot.runner.run_due().sent == 0  # running again sends nothing twice
    dm = pulse_dms(sandbox, SALESPEOPLE[0])[0]
    assert (
        len([b for b in dm.blocks if b.get("block_id", "").startswith("item:")]) == 4
    )  # 3 rotating + the anchor
    assert "confidential" in text_of({"blocks": dm.blocks})


@both_transports
def test_a_tap_is_stored_with_the_department_and_shown_in_place(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    clock.advance(timedelta(hours=1))
    response = tap(bot, driver, sandbox, SALESPEOPLE[0], score=4)
    (stored,) = answers(bot)
    assert (stored.user_id, stored.department, stored.score) == (SALESPEOPLE[0], "sales", 4)
    (update,) = replies_to(sandbox, response)
    assert update["replace_original"] is True
    chosen = [
        e for b in update["blocks"] if b.get("type") == "actions" for e in b["elements"] if e.get("style")
    ]
    assert [e["value"].rsplit(":", 1)[1] for e in chosen] == ["4"]
    assert "Answered 1 of 4" in text_of(update)


def test_a_tap_is_answered_before_any_listener_thread_takes_it_up(bot, driver, sandbox, clock, monkeypatch):
    """Slack's answer to a tap waits for no other thread: with every listener thread held up, the tap is
    still acknowledged, and stored and shown once a thread is free (Bolt's runner would wait for the
    listener's own `ack()`, polling every 10 ms, and after 3 s answer 404)."""
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    free = threading.Event()
    submit = bot.executor.submit

    def held_up(fn, /, *args, **kwargs):
        return submit(lambda: free.wait(10) and fn(*args, **kwargs))

    monkeypatch.setattr(bot.executor, "submit", held_up)
    message = pulse_dms(sandbox, SALESPEOPLE[0])[-1]
    button = item_rows(message.blocks)[0]["elements"][3]
    response = driver.click(
        SALESPEOPLE[0],
        button["action_id"],
        button["value"],
        item_rows(message.blocks)[0]["block_id"],
        message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
    )
    assert (response.status, response.body) == (200, "")
    assert answers(bot) == [] and replies_to(sandbox, response) == []
    free.set()
    assert bot.wait_idle()
    assert [a.score for a in answers(bot)] == [4]
    (update,) = replies_to(sandbox, response)
    assert chosen_scores(update["blocks"]) == ["4"]


def test_two_taps_of_one_person_at_once_both_show_in_the_later_ones_message(bot, driver, sandbox, clock):
    """Both answers are stored whatever the order, and the person's own taps take turns: the message the
    later one draws shows the earlier one's answer too (on PostgreSQL it was drawn from answers read
    before the other tap had committed, so neither message showed both)."""
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    person = SALESPEOPLE[0]
    for attempt, (first, second) in enumerate([(2, 4), (5, 1), (3, 3), (1, 5), (4, 2)]):
        message = pulse_dms(sandbox, person)[-1]
        start = threading.Barrier(2)

        def tap_when_ready(statement: int, score: int, message=message, start=start):
            start.wait()
            return tap(bot, driver, sandbox, person, score=score, statement=statement, message=message)

        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(tap_when_ready, (0, 1), (first, second)))
        assert bot.wait_idle()
        drawn = [chosen_scores(update["blocks"]) for r in responses for update in replies_to(sandbox, r)]
        assert [str(first), str(second)] in drawn, f"attempt {attempt}: {drawn}"
    items = [row["block_id"].removeprefix("item:") for row in item_rows(message.blocks)]
    assert {answer.item_id: answer.score for answer in answers(bot)} == {items[0]: 4, items[1]: 2}


def test_taps_that_come_while_one_is_stored_are_stored_together(bot, driver, sandbox, clock, monkeypatch):
    """Taps that come while another is being stored wait for it, then are stored in one transaction
    together (group commit), each answered as if it had come alone: another person's tap, a second tap
    of the first person (its message shows both of their answers), and a tap sent again, which is
    neither stored nor answered twice."""
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    reading, go_on, batches = threading.Event(), threading.Event(), []
    read = pulse_store.tap_targets

    def first_held_up(session, pairs):
        batches.append(sorted(pairs))
        if len(batches) == 1:
            reading.set()
            go_on.wait(10)
        return read(session, pairs)

    monkeypatch.setattr(pulse_store, "tap_targets", first_held_up)
    first_person, second_person = SALESPEOPLE[0], MARKETERS[0]
    first = tap(bot, driver, sandbox, first_person, score=4, wait=False)
    assert reading.wait(10)
    other = tap(bot, driver, sandbox, second_person, score=2, wait=False)
    again = driver.resend(other)
    second = tap(bot, driver, sandbox, first_person, score=5, statement=1, wait=False)
    assert again.status == 200
    deadline = time.monotonic() + 10
    while bot.services.pulses.taps_waiting < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    go_on.set()
    assert bot.wait_idle()
    round_id = int(pulse_round_id(bot))
    assert batches == [
        [(round_id, first_person)],
        sorted([(round_id, first_person), (round_id, second_person)]),
    ]
    assert {(a.user_id, a.score) for a in answers(bot)} == {
        (first_person, 4),
        (first_person, 5),
        (second_person, 2),
    }
    assert [len(replies_to(sandbox, r)) for r in (first, other, second)] == [1, 1, 1]
    (update,) = replies_to(sandbox, second)
    assert chosen_scores(update["blocks"]) == ["4", "5"]


def item_rows(blocks: list[dict]) -> list[dict]:
    """A pulse message's rows of rating buttons, statement by statement."""
    return [b for b in blocks if b.get("type") == "actions" and b.get("block_id", "").startswith("item:")]


def chosen_scores(blocks: list[dict]) -> list[str]:
    """The scores a pulse message shows chosen, statement by statement."""
    return [
        e["value"].rsplit(":", 1)[1] for row in item_rows(blocks) for e in row["elements"] if e.get("style")
    ]


def test_tapping_again_changes_the_answer_and_a_double_tap_counts_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    tap(bot, driver, sandbox, MARKETERS[0], score=2)
    tap(bot, driver, sandbox, MARKETERS[0], score=5)
    tap(bot, driver, sandbox, MARKETERS[0], score=5)
    (stored,) = answers(bot)
    assert (stored.department, stored.score) == ("marketing", 5)


def test_finishing_says_thank_you(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    for statement in range(4):
        response = tap(bot, driver, sandbox, SALESPEOPLE[0], score=3, statement=statement)
    assert "Thank you!" in text_of(replies_to(sandbox, response)[-1])
    with bot.database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.user_id == SALESPEOPLE[0])).one()
        assert delivery.completed_at is not None


def test_a_comment_is_saved_through_its_modal(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    modal = open_comment(bot, driver, pulse_dms(sandbox, MARKETERS[1])[0], MARKETERS[1])
    assert modal["callback_id"] == "pulse_comment"
    driver.submit_view(MARKETERS[1], modal, {"comment": "Share the <!channel> lead list <earlier>"})
    assert bot.wait_idle()
    with bot.database.session() as session:
        comment = session.scalars(select(Comment)).one()
        assert (comment.department, comment.text) == ("marketing", "Share the <!channel> lead list <earlier>")
    assert "your comment is saved" in text_of({"blocks": sandbox.dms_to(MARKETERS[1])[-1].blocks})


def test_someone_in_both_channels_is_asked_their_department_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    dm = pulse_dms(sandbox, SALES_AND_MARKETING)[0]
    assert any(b.get("block_id") == "department" for b in dm.blocks)
    tap(bot, driver, sandbox, SALES_AND_MARKETING, score=4)
    assert answers(bot)[0].department is None
    response = driver.click(
        SALES_AND_MARKETING,
        "pulse_department:marketing",
        pulse_round_id(bot),
        "department",
        message={"ts": dm.ts, "channel": dm.channel, "blocks": dm.blocks},
    )
    assert bot.wait_idle()
    assert answers(bot)[0].department == "marketing"
    assert not any(b.get("block_id") == "department" for b in replies_to(sandbox, response)[-1]["blocks"])
    run_at(bot, clock, FIRST_ROUND + timedelta(days=7))
    next_dm = pulse_dms(sandbox, SALES_AND_MARKETING)[-1]
    assert not any(b.get("block_id") == "department" for b in next_dm.blocks)


def test_reminders_go_only_to_those_not_finished_and_only_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    for statement in range(4):
        tap(bot, driver, sandbox, HEAD_OF_SALES, score=4, statement=statement)
    tap(bot, driver, sandbox, MARKETERS[1], score=4)  # started, not finished
    assert run_at(bot, clock, FIRST_ROUND + timedelta(hours=23)).reminders == 0
    assert run_at(bot, clock, FIRST_ROUND + timedelta(hours=24)).reminders == len(ELIGIBLE) - 1
    assert bot.runner.run_due().reminders == 0
    assert len(pulse_dms(sandbox, HEAD_OF_SALES)) == 1
    reminder = pulse_dms(sandbox, MARKETERS[1])[-1]
    assert "gentle reminder: 3 of 4" in text_of({"blocks": reminder.blocks})
    tap(bot, driver, sandbox, MARKETERS[1], score=2, statement=1, message=reminder)  # answering from it works
    assert len([a for a in answers(bot) if a.user_id == MARKETERS[1]]) == 2


def test_the_window_closes_and_a_late_tap_is_politely_refused(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    tap(bot, driver, sandbox, SALESPEOPLE[2], score=5)
    report = run_at(bot, clock, FIRST_ROUND + timedelta(hours=48))
    assert report.rounds_closed == 1
    assert len(sandbox.calls_to("chat.update")) == len(ELIGIBLE)
    closed = sandbox.dms_to(SALESPEOPLE[2])[0]
    assert "This pulse closed" in text_of({"blocks": closed.blocks})
    assert "Your answer: Strongly agree" in text_of({"blocks": closed.blocks})
    assert not any(b.get("type") == "actions" for b in closed.blocks)
    assert bot.runner.run_due().rounds_closed == 0
    assert len(sandbox.calls_to("chat.update")) == len(ELIGIBLE)
    late = driver.click(
        SALESPEOPLE[3],
        f"pulse_answer:{first_item(bot)}:1",
        f"{pulse_round_id(bot)}:{first_item(bot)}:1",
        "x",
        channel_id=sandbox.dm_channel_for(SALESPEOPLE[3]),
    )
    assert bot.wait_idle()
    (reply,) = replies_to(sandbox, late)
    assert reply["response_type"] == "ephemeral"
    assert "This pulse is closed" in text_of(reply)
    assert [a.user_id for a in answers(bot)] == [SALESPEOPLE[2]]


def first_item(bot) -> str:
    with bot.database.session() as session:
        return session.scalars(select(PulseRound.item_ids)).first()[0]


def test_pause_skip_next_and_resume_are_honoured(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    clock.set(FIRST_ROUND - timedelta(days=1))
    assert "paused" in text_of(command(bot, driver, OWNER, "pulse pause weekly")[0])
    assert run_at(bot, clock, FIRST_ROUND + timedelta(hours=1)).rounds_started == 0
    assert "running again" in text_of(command(bot, driver, OWNER, "pulse resume Weekly")[0])
    assert bot.runner.run_due().rounds_started == 0  # not sent late after a pause
    assert "will be skipped" in text_of(command(bot, driver, OWNER, "pulse skip-next Weekly")[0])
    report = run_at(bot, clock, FIRST_ROUND + timedelta(days=7, minutes=1))
    assert (report.rounds_started, report.rounds_skipped) == (0, 1)
    report = run_at(bot, clock, FIRST_ROUND + timedelta(days=14, minutes=1))
    assert report.rounds_started == 1
    with bot.database.session() as session:
        statuses = session.execute(
            select(PulseRound.skip_reason, PulseRound.status).order_by(PulseRound.id)
        ).all()
    assert [tuple(s) for s in statuses] == [("skipped_by_admin", "skipped"), (None, "open")]


def test_a_round_missed_while_down_is_sent_late_once_or_recorded_skipped(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    report = run_at(
        bot, clock, FIRST_ROUND + timedelta(hours=30)
    )  # down since before 10:00, window still open
    assert report.rounds_started == 1
    assert report.sent == len(ELIGIBLE)
    report = run_at(bot, clock, FIRST_ROUND + timedelta(days=9))  # down for the whole next window
    assert (report.rounds_started, report.rounds_skipped) == (0, 1)
    assert bot.runner.run_due().rounds_skipped == 0


def test_pulse_now_sends_a_round_right_away_once(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    response = driver.slash_command(OWNER, "pulse now Weekly")
    assert bot.wait_idle()
    assert "being sent now" in text_of(replies_to(sandbox, response)[0])
    assert bot.runner.run_due().sent == len(ELIGIBLE)
    assert bot.runner.run_due().sent == 0


def test_preview_shows_the_admin_the_member_message_and_stores_nothing(bot, driver, sandbox):
    create_pulse(bot, driver)
    before = row_counts(bot)
    (preview,) = command(bot, driver, OWNER, "pulse preview")
    assert "Preview" in text_of(preview)
    assert "Strongly agree" in text_of(preview)
    after = row_counts(bot)
    assert after.pop("handled_requests") == before.pop("handled_requests") + 1  # its trigger id, once
    assert after == before


def test_delete_asks_for_confirmation(bot, driver, sandbox):
    create_pulse(bot, driver)
    (question,) = command(bot, driver, OWNER, "pulse delete Weekly")
    confirm = next(b for b in question["blocks"] if b.get("type") == "actions")["elements"][0]
    assert confirm["action_id"] == "pulse_delete_confirm"
    assert row_counts(bot)["cadences"] == 1
    response = driver.click(OWNER, "pulse_delete_confirm", confirm["value"], "pulse_delete")
    assert bot.wait_idle()
    assert "is deleted" in text_of(replies_to(sandbox, response)[0])
    assert row_counts(bot)["cadences"] == 0


def test_members_cannot_manage_pulses(bot, driver, sandbox):
    create_pulse(bot, driver)
    for text in (
        "pulse add",
        "pulse pause Weekly",
        "pulse delete Weekly",
        "pulse now Weekly",
        "questions off hbr01",
    ):
        assert "Only Slack workspace admins" in text_of(command(bot, driver, SALESPEOPLE[0], text)[0])
    response = driver.click(SALESPEOPLE[0], "pulse_delete_confirm", "Weekly", "pulse_delete")
    assert bot.wait_idle()
    assert "Nothing was changed" in text_of(replies_to(sandbox, response)[0])
    with bot.database.session() as session:
        assert session.scalars(select(Cadence.paused)).one() is False
    assert row_counts(bot)["disabled_items"] == 0


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"name": ""}, {"name"}),
        ({"weekdays": []}, {"weekdays"}),
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"items_per_round": "9"}, {"items_per_round"}),
        (
            {"answer_window_hours": "24", "reminders": "2", "reminder_spacing_hours": "12"},
            {"reminder_spacing_hours"},
        ),
        ({"skip_dates": "2026-13-45"}, {"skip_dates"}),
        ({"start_date": "2026-01-01"}, {"start_date"}),
        ({"audience": "channels"}, {"channels"}),
        ({"frequency": "monthly"}, {"nth", "weekday"}),
    ],
)
def test_bad_pulse_input_gets_field_errors_and_changes_nothing(bot, driver, sandbox, changes, fields):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "pulse add")
    answer = driver.submit_view(OWNER, view, {**PULSE_INPUTS, **changes}).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == fields
    assert bot.wait_idle()
    assert row_counts(bot)["cadences"] == 0


@both_transports
def test_a_second_pulse_with_the_same_name_is_refused(bot, driver, sandbox):
    create_pulse(bot, driver)
    view = open_modal(bot, driver, OWNER, "pulse add")
    answer = driver.submit_view(OWNER, view, {**PULSE_INPUTS, "name": "weekly"}).json()
    assert answer["errors"] == {"name": "Another pulse already has this name."}


def test_channel_mode_posts_once_per_channel_and_keeps_choices_private(bot, driver, sandbox, clock):
    create_pulse(bot, driver, delivery="channel")
    run_at(bot, clock, FIRST_ROUND)
    (sales_post,) = sandbox.messages_in(SALES_CHANNEL)
    assert len(sandbox.messages_in(MARKETING_CHANNEL)) == 1
    assert all(pulse_dms(sandbox, person) == [] for person in ELIGIBLE)
    response = tap(bot, driver, sandbox, SALESPEOPLE[0], score=5, message=sales_post)
    (reply,) = replies_to(sandbox, response)
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert "Only you can see this" in text_of(reply)
    assert sandbox.calls_to("chat.update") == []  # the shared post never shows anyone's choice
    assert answers(bot)[0].department == "sales"
    for statement in range(1, 4):
        tap(bot, driver, sandbox, SALESPEOPLE[0], score=4, statement=statement, message=sales_post)
    run_at(bot, clock, FIRST_ROUND + timedelta(hours=24))
    assert pulse_dms(sandbox, SALESPEOPLE[0]) == []  # reminders only by DM, only to those not finished
    assert len(pulse_dms(sandbox, SALESPEOPLE[1])) == 1


def test_the_audience_can_be_chosen_channels(bot, driver, sandbox, clock):
    create_pulse(bot, driver, audience="channels", channels=[MARKETING_CHANNEL])
    run_at(bot, clock, FIRST_ROUND)
    with bot.database.session() as session:
        recipients = set(session.scalars(select(Delivery.user_id)))
    assert recipients == {HEAD_OF_MARKETING, *MARKETERS, SALES_AND_MARKETING}


def test_deliveries_that_slack_refuses_are_recorded_without_stopping_the_round(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    policy = {"channel": SALESPEOPLE[3]}
    sandbox.inject_fault("chat.postMessage", "slack_error", error="restricted_action", when=policy)
    report = run_at(bot, clock, FIRST_ROUND)
    assert (report.sent, report.failed, report.errors) == (len(ELIGIBLE) - 1, 1, {"restricted_action": 1})
    with bot.database.session() as session:
        failed = session.scalars(select(Delivery).where(Delivery.status == "failed")).one()
    assert (failed.user_id, failed.error) == (SALESPEOPLE[3], "restricted_action")
    assert bot.runner.run_due().sent == 0  # a refused delivery is not retried


def test_an_admin_edits_a_pulse_through_its_modal(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    view = open_modal(bot, driver, OWNER, "pulse edit Weekly")
    assert view["callback_id"] == "pulse_edit"
    name_block = next(b for b in view["blocks"] if b.get("block_id") == "name")
    assert name_block["element"]["initial_value"] == "Weekly"
    driver.submit_view(OWNER, view, {"weekdays": ["3"], "send_time": "15:30", "name": "Thursday pulse"})
    assert bot.wait_idle()
    with bot.database.session() as session:
        cadence = session.scalars(select(Cadence)).one()
    assert (cadence.name, cadence.weekdays, cadence.local_time) == ("Thursday pulse", [3], "15:30")
    assert run_at(bot, clock, FIRST_ROUND + timedelta(hours=1)).rounds_started == 0  # no longer Tuesdays
    thursday = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)  # 15:30 in Berlin
    assert run_at(bot, clock, thursday).rounds_started == 1
    assert "There is no pulse called *Weekly*" in text_of(
        command(bot, driver, OWNER, "pulse pause Weekly")[0]
    )


def test_holidays_are_skipped(bot, driver, sandbox, clock):
    create_pulse(bot, driver, skip_dates="2026-03-03\n2026-12-25")
    assert run_at(bot, clock, FIRST_ROUND + timedelta(hours=1)).rounds_started == 0
    assert run_at(bot, clock, FIRST_ROUND + timedelta(days=7, hours=1)).rounds_started == 1
