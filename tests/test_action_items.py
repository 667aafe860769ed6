"""Leaders act on the digest: a leader who is not an admin takes a nudge on as an action item, it is
listed on the leaders' Home tab, marked done (both teams hear it, once), and followed up later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.sandbox.workspace import (
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETING_CHANNEL,
    SALES_CHANNEL,
    SALESPEOPLE,
)
from storage.models import ActionItem, NudgeState
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    MONDAY_9_BERLIN,
    ROUND_CLOSES,
    SALES_TEAM,
    answer_round,
    digest_with_a_gap,
    run_at,
    text_of,
)

TEAM = "T0ACME001"
TITLE = "Agree one <!channel> lead definition with both heads"


def said_in(sandbox, channel: str) -> list[str]:
    texts = [text_of({"blocks": m.blocks}) for m in sandbox.messages_in(channel)]
    return [t for t in texts if "You said, we did" in t]


def test_a_leader_takes_on_a_nudge_closes_it_and_a_later_digest_follows_it_up(
    bot, driver, sandbox, clock, person
):
    post = digest_with_a_gap(bot, driver, sandbox, clock)
    head, member = person(HEAD_OF_SALES), person(SALESPEOPLE[0])

    # The head of sales is in the leadership channel but no admin: he may read the preview.
    assert "Only" not in text_of(head.types("/align digest preview")[0])
    assert "Only Slack workspace admins" in text_of(member.types("/align digest preview")[0])

    # He takes the first nudge on; a member pressing the same button is refused.
    refused = member.taps("nudge_act", on=post, block_id="nudge:1")
    assert "Only leaders can do that" in text_of(refused[0])
    head.taps("nudge_act", on=post, block_id="nudge:1")
    modal = sandbox.latest_view_for(HEAD_OF_SALES).view
    assert modal["callback_id"] == "nudge_act"
    late = (MONDAY_9_BERLIN - timedelta(days=1)).date().isoformat()
    assert set(head.submits("nudge_act", {"note": TITLE, "due": late})["errors"]) == {"due"}
    assert head.submits("nudge_act", {"note": TITLE}) is None
    assert head.submits("nudge_act", {"note": TITLE}) is None  # Slack retried the submission
    with bot.database.session() as session:
        (item,) = session.scalars(select(ActionItem)).all()
        state = session.get(NudgeState, (TEAM, item.nudge_key))
    assert (item.owner, item.status, item.title, item.created_by) == (
        HEAD_OF_SALES,
        "open",
        TITLE,
        HEAD_OF_SALES,
    )
    assert item.due == (MONDAY_9_BERLIN + timedelta(weeks=4)).date()
    assert item.baseline == {"sales": 2.0, "marketing": 4.0, "everyone": 3.0}  # as the digest showed
    assert state.status == "in_progress"
    assert item.nudge_key not in str(head.types("/align digest preview"))  # not suggested again
    assert said_in(sandbox, SALES_CHANNEL) == []  # the teams hear when it is done, not before

    # It is on the leaders' Home tab, with its buttons; a member's Home tab has no action items.
    home = head.opens_home()
    assert "Action items" in text_of(home) and "lead definition" in text_of(home)
    assert "Action items" not in text_of(member.opens_home())

    # A member cannot close it; the leader marks it done, and both teams hear it once.
    member.taps("action_item_done", str(item.id), view=home, block_id=f"action_item:{item.id}")
    with bot.database.session() as session:
        assert session.get(ActionItem, item.id).status == "open"
    head.taps("action_item_done", str(item.id), view=home, block_id=f"action_item:{item.id}")
    head.taps("action_item_done", str(item.id), view=home, block_id=f"action_item:{item.id}")
    for channel in (SALES_CHANNEL, MARKETING_CHANNEL):
        (said,) = said_in(sandbox, channel)
        assert "lead definition" in said and "&lt;!channel&gt;" in said
    with bot.database.session() as session:
        closed = session.get(ActionItem, item.id)
        assert (closed.status, closed.closed_by) == ("done", HEAD_OF_SALES)
    dms = [text_of({"blocks": m.blocks}) for m in sandbox.dms_to(HEAD_OF_SALES)]
    assert any("already closed" in t for t in dms)
    assert "done on 2026-03-09" in text_of(head.opens_home())

    # A week later, after another round, the digest follows it up with figures it may show.
    run_at(bot, clock, FIRST_ROUND + timedelta(weeks=1))
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    run_at(bot, clock, ROUND_CLOSES + timedelta(weeks=1))
    clock.set(MONDAY_9_BERLIN + timedelta(weeks=1))
    bot.digests.run_due()
    latest = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None][-1]
    text = text_of({"blocks": latest.blocks})
    assert "week of 2026-03-16" in text
    assert f"On 2026-03-09 <@{HEAD_OF_SALES}> took on “Agree one &lt;!channel&gt; lead definition" in text
    assert "(done on 2026-03-09). Since then *" in text
    assert "from 2.0 to " in text and " in sales, 4.0 to 4.0 in marketing." in text
    with bot.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ActionItem)) == 1
