"""Requests Slack never sent as they arrive: a signed request sent again while its signature is valid
(a replay) is acknowledged and changes nothing; a modal submitted with metadata the bot did not seal
is refused — through the signed driver, the sandbox and the database, on both stores."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from bot.sandbox.workspace import MARKETERS, OWNER, SALES_CHANNEL, SALESPEOPLE
from storage.models import Comment, DigestSettings, MeetingCheckDelivery, MeetingSkip
from tests.conversation import (
    FIRST_MEETING,
    FIRST_ROUND,
    answers,
    check_dms,
    confirm_held,
    create_meeting,
    create_pulse,
    open_check_comment,
    open_comment,
    pulse_dms,
    reminders_in,
    replies_to,
    row_counts,
    rsvp,
    run_meetings_at,
    set_up_workspace,
    tap,
    text_of,
)
from tests.conversation import run_at as run_pulses_at


def send_again(bot, driver, response, times: int = 2) -> None:
    """Replay the signed request behind `response`: each copy is acknowledged with an empty 200."""
    for _copy in range(times):
        again = driver.resend(response)
        assert (again.status, again.body) == (200, "")
    assert bot.wait_idle()


def slash(bot, driver, user_id: str, text: str):
    response = driver.slash_command(user_id, text)
    assert response.status == 200
    assert bot.wait_idle()
    return response


# ----- replays -------------------------------------------------------------------------------------


def test_a_replayed_skip_next_skips_one_date(bot, driver, sandbox):
    create_meeting(bot, driver)
    response = slash(bot, driver, OWNER, "meeting skip-next Pipeline review")
    send_again(bot, driver, response)
    with bot.database.session() as session:
        assert list(session.scalars(select(MeetingSkip.occurrence_date))) == [date(2026, 3, 5)]
    assert len(replies_to(sandbox, response)) == 1


def test_a_replayed_agenda_point_is_added_once(bot, driver, sandbox):
    create_meeting(bot, driver)
    response = slash(bot, driver, OWNER, "meeting agenda add Agree what a qualified lead is")
    send_again(bot, driver, response)
    assert row_counts(bot)["meeting_agenda_items"] == 1
    assert len(replies_to(sandbox, response)) == 1


def test_a_replayed_tap_does_not_bring_back_an_answer_changed_since(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_pulses_at(bot, clock, FIRST_ROUND)
    first = tap(bot, driver, sandbox, MARKETERS[0], score=2)
    tap(bot, driver, sandbox, MARKETERS[0], score=5)
    updates = len(sandbox.response_url_posts)
    send_again(bot, driver, first)
    (stored,) = [a for a in answers(bot) if a.user_id == MARKETERS[0]]
    assert stored.score == 5
    assert len(sandbox.response_url_posts) == updates  # the DM is not redrawn either


def test_a_replayed_submission_does_not_undo_a_later_one(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    schedules = []
    for weekday in ("1", "3"):
        view = open_schedule(bot, driver)
        schedules.append(driver.submit_view(OWNER, view, {"weekday": weekday, "leaders": [OWNER]}))
        assert schedules[-1].status == 200
        assert bot.wait_idle()
    confirmations = len(sandbox.dms_to(OWNER))
    send_again(bot, driver, schedules[0])
    with bot.database.session() as session:
        assert session.get(DigestSettings, "T0ACME001").weekday == 3
    assert len(sandbox.dms_to(OWNER)) == confirmations


def test_a_trigger_id_is_remembered_long_enough_and_then_forgotten(bot, driver, sandbox, clock):
    set_up_workspace(bot, driver)
    response = slash(bot, driver, OWNER, "meeting agenda add Too early")  # no meeting yet: a reply only
    clock.advance(timedelta(minutes=59))
    send_again(bot, driver, response, times=1)
    assert len(replies_to(sandbox, response)) == 1
    clock.advance(timedelta(hours=2))
    slash(bot, driver, SALESPEOPLE[0], "help")  # any later request of the workspace tidies up
    assert row_counts(bot)["handled_requests"] == 1  # the newest: the older can no longer be sent again


def open_schedule(bot, driver) -> dict:
    slash(bot, driver, OWNER, "digest schedule")
    return driver.sandbox.latest_view_for(OWNER).view


# ----- modal metadata ------------------------------------------------------------------------------


def forged(view: dict, **changes: object) -> dict:
    """`view` with its metadata edited: the seal kept, the JSON it covers changed."""
    seal, _, body = view["private_metadata"].partition(".")
    return {**view, "private_metadata": f"{seal}.{json.dumps({**json.loads(body), **changes})}"}


def test_edited_comment_metadata_is_refused_and_touches_no_other_dm(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_pulses_at(bot, clock, FIRST_ROUND)
    victim, attacker = MARKETERS[1], SALESPEOPLE[0]
    victim_round = pulse_dms(sandbox, victim)[0]
    dm = pulse_dms(sandbox, attacker)[0]
    modal = open_comment(bot, driver, dm, attacker)
    before = row_counts(bot)
    attempts = (
        forged(modal, channel=victim_round.channel, ts=victim_round.ts),
        forged(modal, channel=SALES_CHANNEL, ts=victim_round.ts),
        {**modal, "private_metadata": modal["private_metadata"].partition(".")[2]},  # no seal
        {**modal, "private_metadata": "0" * 64 + modal["private_metadata"][64:]},  # another seal
    )
    for attempt in attempts:
        response = driver.submit_view(attacker, attempt, {"comment": "posted where it should not be"})
        assert (response.status, response.body) == (200, "")  # the modal closes
        assert bot.wait_idle()
    assert row_counts(bot) == {**before, "handled_requests": before["handled_requests"] + len(attempts)}
    assert sandbox.calls_to("chat.update") == []
    refusals = sandbox.dms_to(attacker)[-len(attempts) :]
    assert all(
        "could not be checked, so nothing was changed" in text_of({"blocks": m.blocks}) for m in refusals
    )

    driver.submit_view(attacker, modal, {"comment": "The real one"})  # the modal as sealed still works
    assert bot.wait_idle()
    with bot.database.session() as session:
        assert [(c.user_id, c.text) for c in session.scalars(select(Comment))] == [(attacker, "The real one")]
    (update,) = sandbox.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm.channel, dm.ts)  # the attacker's own DM


def test_a_comment_updates_the_commenters_own_dm_whatever_message_it_came_from(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_pulses_at(bot, clock, FIRST_ROUND)
    victim, commenter = MARKETERS[1], SALESPEOPLE[0]
    victim_round, dm = pulse_dms(sandbox, victim)[0], pulse_dms(sandbox, commenter)[0]
    # The click claims to come from the victim's DM: the modal it opens remembers no channel to update.
    modal = open_comment(bot, driver, dm, commenter, shown_in=victim_round)
    driver.submit_view(commenter, modal, {"comment": "Mine"})
    assert bot.wait_idle()
    (update,) = sandbox.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm.channel, dm.ts)


def test_edited_meeting_check_metadata_is_refused(bot, driver, sandbox, clock):
    create_meeting(bot, driver)
    run_meetings_at(bot, clock, FIRST_MEETING - timedelta(hours=24))
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    for person in (SALESPEOPLE[0], MARKETERS[0]):
        rsvp(bot, driver, post, person, "going")
    run_meetings_at(bot, clock, FIRST_MEETING + timedelta(hours=1))
    confirm_held(bot, driver, sandbox)  # the owner says it took place: the others are asked
    victim_dm, dm = check_dms(sandbox, MARKETERS[0])[0], check_dms(sandbox, SALESPEOPLE[0])[0]
    modal = open_check_comment(bot, driver, dm, SALESPEOPLE[0], shown_in=victim_dm)
    sandbox.clear()
    for attempt in (
        forged(modal, channel=victim_dm.channel, ts=victim_dm.ts),
        forged(modal, channel=SALES_CHANNEL, ts=post.ts),
        {**modal, "private_metadata": modal["private_metadata"].partition(".")[2]},  # no seal
    ):
        assert driver.submit_view(SALESPEOPLE[0], attempt, {"comment": "Overwritten"}).status == 200
        assert bot.wait_idle()
    assert sandbox.calls_to("chat.update") == []
    with bot.database.session() as session:
        assert set(session.scalars(select(MeetingCheckDelivery.comment))) == {None}

    driver.submit_view(SALESPEOPLE[0], modal, {"comment": "More forecasts"})
    assert bot.wait_idle()
    (update,) = sandbox.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm.channel, dm.ts)
