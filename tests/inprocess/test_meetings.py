"""Joint-meeting listeners in process: the meeting modal (adding, editing, field errors), removal
confirmed or kept (refused to members), RSVPs, and the "was it useful?" rating and comment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.sandbox.workspace import HEAD_OF_SALES, MARKETERS, OWNER, SALES_CHANNEL, SALESPEOPLE
from storage.models import Meeting, MeetingCheckDelivery, MeetingRsvp
from tests.conversation import (
    MEETING_INPUTS,
    check_dms,
    create_meeting,
    reminders_in,
    row_counts,
    set_up_workspace,
    text_of,
)

FIRST_MEETING = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York
MEMBER = SALESPEOPLE[0]


@pytest.fixture
def reminder(bot, driver, sandbox, clock):
    """The day-before reminder of the first meeting, in the sales channel."""
    create_meeting(bot, driver)
    clock.set(FIRST_MEETING - timedelta(days=1))
    bot.meetings.run_due()
    return reminders_in(sandbox, SALES_CHANNEL)[0]


def test_a_meeting_added_through_the_modal_is_stored_and_bad_input_refused(bot, driver, person):
    set_up_workspace(bot, driver)
    owner = person(OWNER)
    owner.opens("/align meeting add")
    answer = owner.submits("meeting_add", {**MEETING_INPUTS, "title": " ", "channels": []})
    assert set(answer["errors"]) == {"title", "channels"}
    assert row_counts(bot)["meetings"] == 0
    assert owner.submits("meeting_add", MEETING_INPUTS) is None
    with bot.database.session() as session:
        assert session.scalars(select(Meeting.title)).one() == "Pipeline review"
    assert "*Pipeline review* is scheduled" in text_of({"blocks": owner.dms()[-1].blocks})


def test_an_edit_through_the_modal_changes_the_meeting(bot, driver, person):
    create_meeting(bot, driver)
    owner = person(OWNER)
    owner.opens("/align meeting edit Pipeline review")
    assert owner.submits("meeting_edit", {"title": "Revenue sync"}) is None
    with bot.database.session() as session:
        assert session.scalars(select(Meeting.title)).one() == "Revenue sync"
    assert "is updated" in text_of({"blocks": owner.dms()[-1].blocks})


def test_removal_is_refused_to_a_member_kept_on_cancel_and_done_on_confirm(bot, driver, person):
    create_meeting(bot, driver)
    owner = person(OWNER)
    (question,) = owner.types("/align meeting remove Pipeline review")
    (refused,) = person(MEMBER).taps("meeting_remove_confirm", on=question)
    assert "Nothing was changed" in text_of(refused)
    (kept,) = owner.taps("meeting_remove_cancel", on=question)
    assert "Nothing was deleted" in text_of(kept)
    assert row_counts(bot)["meetings"] == 1
    (removed,) = owner.taps("meeting_remove_confirm", on=question)
    assert "*Pipeline review* is removed" in text_of(removed)
    assert row_counts(bot)["meetings"] == 0


def test_an_rsvp_is_counted_and_a_stray_one_explained(bot, sandbox, person, reminder):
    (noted,) = person(MEMBER).taps("meeting_rsvp:going", on=reminder)
    assert "you're going to *Pipeline review*" in text_of(noted)
    with bot.database.session() as session:
        assert session.execute(select(MeetingRsvp.user_id, MeetingRsvp.answer)).one() == (MEMBER, "going")
    assert {call.params["channel"] for call in sandbox.calls_to("chat.update")} >= {SALES_CHANNEL}
    (unknown,) = person(MEMBER).taps("meeting_rsvp:going", "999:not-a-date:going", channel_id=SALES_CHANNEL)
    assert "can't find that meeting" in text_of(unknown)


def test_the_check_is_rated_and_commented_and_a_stray_rating_refused(bot, sandbox, clock, person, reminder):
    person(MEMBER).taps("meeting_rsvp:going", on=reminder)
    clock.set(FIRST_MEETING + timedelta(hours=1))
    bot.meetings.run_due()
    assert check_dms(sandbox, MEMBER) == []  # not before the owner says it took place
    (question,) = check_dms(sandbox, HEAD_OF_SALES)
    (shown,) = person(HEAD_OF_SALES).taps("meeting_held:yes", on=question)
    assert shown["replace_original"] is True
    bot.meetings.run_due()
    (dm,) = check_dms(sandbox, MEMBER)
    rater = person(MEMBER)
    five = next(b for b in dm.blocks if b.get("block_id") == "meeting_check")["elements"][4]
    (shown,) = rater.taps(five["action_id"], five["value"], on=dm)
    assert shown["replace_original"] is True
    (stray,) = person(MARKETERS[3]).taps(five["action_id"], five["value"], block_id="meeting_check")
    assert "was not sent to you" in text_of(stray)
    assert rater.taps("meeting_check_comment", on=dm) == []
    assert set(rater.submits("meeting_check_comment", {"comment": ""})["errors"]) == {"comment"}
    assert rater.submits("meeting_check_comment", {"comment": "More forecasts"}) is None
    with bot.database.session() as session:
        answered = session.scalars(
            select(MeetingCheckDelivery).where(MeetingCheckDelivery.user_id == MEMBER)
        ).one()
    assert (answered.score, answered.comment) == (5, "More forecasts")
    assert len(check_dms(sandbox, HEAD_OF_SALES)) == 1  # the owner is asked too
