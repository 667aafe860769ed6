"""`/align forget-me` in process: confirming deletes what is stored about the clicker alone;
cancelling deletes nothing."""

from __future__ import annotations

from bot.sandbox.workspace import SALESPEOPLE
from tests.conversation import FIRST_ROUND, create_pulse, row_counts, run_at, tap, text_of


def test_confirming_forgets_the_clicker_only(bot, driver, sandbox, clock, person):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    for someone in SALESPEOPLE[:2]:
        tap(bot, driver, sandbox, someone, score=4)
    leaving = person(SALESPEOPLE[0])
    (question,) = leaving.types("/align forget-me")
    assert question["response_type"] == "ephemeral"
    (done,) = leaving.taps("forget_me_confirm", on=question)
    assert done["replace_original"] is True
    assert "1 answers" in text_of(done)
    assert row_counts(bot)["pulse_answers"] == 1  # the other person's


def test_cancelling_deletes_nothing(bot, person):
    member = person(SALESPEOPLE[0])
    (question,) = member.types("/align forget-me")
    before = row_counts(bot)
    (reply,) = member.taps("forget_me_cancel", on=question)
    assert "Nothing was deleted" in text_of(reply)
    assert row_counts(bot) == {
        **before,
        "handled_requests": before["handled_requests"] + 1,
    }  # its trigger id, kept against replays
