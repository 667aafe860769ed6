"""Members' pulse listeners in process: a rating tapped (and one for a round not sent to them), the
department chosen, a tap on a preview, and the comment button and modal."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.workspace import MARKETERS, OWNER, SALES_AND_MARKETING, SALESPEOPLE
from storage.models import Answer, Comment
from tests.conversation import FIRST_ROUND, create_pulse, pulse_dms, row_counts, run_at, text_of


def first_rating(dm, score: int) -> tuple[str, str]:
    """The action id and value of the `score` button of the first statement in a pulse DM."""
    row = next(b for b in dm.blocks if b.get("block_id", "").startswith("item:"))
    button = row["elements"][score - 1]
    return button["action_id"], button["value"]


def test_a_rating_is_stored_and_shown_in_place(bot, driver, sandbox, clock, person):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    dm = pulse_dms(sandbox, SALESPEOPLE[0])[0]
    (shown,) = person(SALESPEOPLE[0]).taps(*first_rating(dm, 4), on=dm)
    assert shown["replace_original"] is True
    assert "Answered 1 of 4" in text_of(shown)
    with bot.database.session() as session:
        stored = session.scalars(select(Answer)).one()
    assert (stored.user_id, stored.department, stored.score) == (SALESPEOPLE[0], "sales", 4)


def test_a_rating_from_someone_not_asked_is_refused(bot, driver, sandbox, clock, person):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    action_id, value = first_rating(pulse_dms(sandbox, SALESPEOPLE[0])[0], 5)
    (reply,) = person(OWNER).taps(action_id, value, channel_id=sandbox.dm_channel_for(OWNER))
    assert reply["response_type"] == "ephemeral"
    assert row_counts(bot)["pulse_answers"] == 0


def test_someone_in_both_teams_chooses_their_department_in_the_dm(bot, driver, sandbox, clock, person):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    dm = pulse_dms(sandbox, SALES_AND_MARKETING)[0]
    (shown,) = person(SALES_AND_MARKETING).taps("pulse_department:marketing", on=dm)
    assert not any(b.get("block_id") == "department" for b in shown["blocks"])
    (stranger,) = person(MARKETERS[0]).taps("pulse_department:sales", "0", channel_id=dm.channel)
    assert stranger["response_type"] == "ephemeral"


def test_a_tap_on_a_preview_records_nothing(bot, driver, person):
    create_pulse(bot, driver)
    owner = person(OWNER)
    (preview,) = owner.types("/align pulse preview")
    row = next(b for b in preview["blocks"] if b.get("block_id", "").startswith("item:"))
    before = row_counts(bot)
    (reply,) = owner.taps(row["elements"][0]["action_id"], on=preview)
    assert "taps are not recorded" in text_of(reply)
    assert row_counts(bot) == {
        **before,
        "handled_requests": before["handled_requests"] + 1,
    }  # its trigger id, kept against replays


def test_a_comment_is_written_in_its_modal_and_an_empty_one_refused(bot, driver, sandbox, clock, person):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    marketer = person(MARKETERS[1])
    dm = pulse_dms(sandbox, MARKETERS[1])[0]
    assert marketer.taps("pulse_comment", on=dm) == []
    assert set(marketer.submits("pulse_comment", {"comment": "  "})["errors"]) == {"comment"}
    assert marketer.submits("pulse_comment", {"comment": "Share the lead list earlier"}) is None
    with bot.database.session() as session:
        comment = session.scalars(select(Comment)).one()
    assert (comment.department, comment.text) == ("marketing", "Share the lead list earlier")
    assert "your comment is saved" in text_of({"blocks": marketer.dms()[-1].blocks})
