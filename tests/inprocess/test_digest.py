"""The digest's listeners in process: the schedule modal, and leaders acting on or snoozing a nudge
(refused to members), the act modal refusing an empty note."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.workspace import HEAD_OF_SALES, MARKETING_CHANNEL, OWNER, SALES_CHANNEL
from storage.models import DigestSettings, NudgeState
from tests.conversation import SALES_TEAM, create_pulse, digest_with_a_gap, text_of

MEMBER = SALES_TEAM[1]


@pytest.fixture
def digest_post(bot, driver, sandbox, clock):
    """This week's digest in the leadership channel, with its nudges' buttons."""
    return digest_with_a_gap(bot, driver, sandbox, clock)


def test_the_schedule_is_saved_from_its_modal_and_going_nowhere_refused(bot, driver, person):
    create_pulse(bot, driver)
    owner = person(OWNER)
    owner.opens("/align digest schedule")
    answer = owner.submits("digest_schedule", {"options": [], "leaders": []})
    assert set(answer["errors"]) == {"leaders"}
    inputs = {"weekday": "4", "local_time": "16:30", "leaders": [HEAD_OF_SALES]}
    assert owner.submits("digest_schedule", inputs) is None
    with bot.database.session() as session:
        settings = session.get(DigestSettings, "T0ACME001")
    assert (settings.weekday, settings.local_time, settings.leaders) == (4, "16:30", [HEAD_OF_SALES])
    assert "schedule is saved" in text_of({"blocks": owner.dms()[-1].blocks})


def test_a_leader_acts_on_a_nudge_and_both_teams_hear_of_it(bot, sandbox, person, digest_post):
    owner = person(OWNER)
    assert owner.taps("nudge_act", on=digest_post) == []
    assert set(owner.submits("nudge_act", {"note": " "})["errors"]) == {"note"}
    assert owner.submits("nudge_act", {"note": "We agree lead rules on Thursday"}) is None
    for channel in (SALES_CHANNEL, MARKETING_CHANNEL):
        said = [
            m for m in sandbox.messages_in(channel) if "You said, we did" in text_of({"blocks": m.blocks})
        ]
        assert len(said) == 1
    with bot.database.session() as session:
        state = session.scalars(select(NudgeState)).one()
    assert (state.status, state.updated_by) == ("in_progress", OWNER)


def test_a_member_cannot_act_on_a_nudge(sandbox, person, digest_post):
    modals_opened = len(sandbox.calls_to("views.open"))
    (refused,) = person(MEMBER).taps("nudge_act", on=digest_post)
    assert "Only Slack workspace admins" in text_of(refused)
    assert len(sandbox.calls_to("views.open")) == modals_opened


def test_a_leader_snoozes_a_nudge_and_a_member_may_not(bot, person, digest_post):
    (refused,) = person(MEMBER).taps("nudge_snooze", on=digest_post)
    assert "Only Slack workspace admins" in text_of(refused)
    (snoozed,) = person(OWNER).taps("nudge_snooze", on=digest_post)
    assert "Snoozed" in text_of(snoozed)
    with bot.database.session() as session:
        assert session.scalars(select(NudgeState.updated_by)).one() == OWNER
