"""The digest's listeners in process: the schedule modal, and leaders taking on or snoozing a nudge
and closing the action item (refused to members), the act modal refusing an empty note."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.workspace import HEAD_OF_SALES, MARKETING_CHANNEL, OWNER, SALES_CHANNEL
from storage.models import ActionItem, DigestSettings, NudgeState
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


def test_a_leader_takes_a_nudge_on_and_marking_it_done_tells_both_teams(bot, sandbox, person, digest_post):
    owner = person(OWNER)
    assert owner.taps("nudge_act", on=digest_post) == []
    assert set(owner.submits("nudge_act", {"note": " ", "owner": None})["errors"]) == {"note", "owner"}
    assert owner.submits("nudge_act", {"note": "We agree lead rules on Thursday"}) is None
    with bot.database.session() as session:
        state = session.scalars(select(NudgeState)).one()
        item = session.scalars(select(ActionItem)).one()
    assert (state.status, state.updated_by) == ("in_progress", OWNER)
    assert (item.owner, item.status) == (OWNER, "open")
    home = owner.opens_home()
    owner.taps("action_item_done", str(item.id), view=home, block_id=f"action_item:{item.id}")
    for channel in (SALES_CHANNEL, MARKETING_CHANNEL):
        said = [
            m for m in sandbox.messages_in(channel) if "You said, we did" in text_of({"blocks": m.blocks})
        ]
        assert len(said) == 1 and "lead rules" in text_of({"blocks": said[0].blocks})


def test_a_leader_drops_an_action_item_without_telling_the_teams_and_a_member_may_not(
    bot, sandbox, person, digest_post
):
    owner, member = person(OWNER), person(MEMBER)
    owner.taps("nudge_act", on=digest_post)
    owner.submits("nudge_act", {"note": "Cross-training in May"})
    with bot.database.session() as session:
        item_id = session.scalars(select(ActionItem.id)).one()
    home = owner.opens_home()
    member.taps("action_item_drop", str(item_id), view=home, block_id=f"action_item:{item_id}")
    assert "Only leaders can do that" in text_of({"blocks": member.dms()[-1].blocks})
    owner.taps("action_item_drop", str(item_id), view=home, block_id=f"action_item:{item_id}")
    with bot.database.session() as session:
        assert session.get(ActionItem, item_id).status == "dropped"
        assert session.scalars(select(NudgeState.status)).one() == "dropped"  # it may come back
    assert not any(
        "You said, we did" in text_of({"blocks": m.blocks}) for m in sandbox.messages_in(SALES_CHANNEL)
    )


def test_a_member_cannot_act_on_a_nudge(sandbox, person, digest_post):
    modals_opened = len(sandbox.calls_to("views.open"))
    (refused,) = person(MEMBER).taps("nudge_act", on=digest_post)
    assert "Only leaders can do that" in text_of(refused)
    assert len(sandbox.calls_to("views.open")) == modals_opened


def test_a_leader_snoozes_a_nudge_and_a_member_may_not(bot, person, digest_post):
    (refused,) = person(MEMBER).taps("nudge_snooze", on=digest_post)
    assert "Only leaders can do that" in text_of(refused)
    (snoozed,) = person(OWNER).taps("nudge_snooze", on=digest_post)
    assert "Snoozed" in text_of(snoozed)
    with bot.database.session() as session:
        assert session.scalars(select(NudgeState.updated_by)).one() == OWNER
