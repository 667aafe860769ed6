"""A listener's `respond()` goes out over the outbox's pooled connections (`bot.slack.respond`): what
Slack shows is as before, a post that fails is logged and never raised, and the bot is idle only once
its replies have landed."""

from __future__ import annotations

import logging

from bot.sandbox.workspace import MARKETERS
from tests.conversation import FIRST_ROUND, answers, create_pulse, pulse_dms, run_at, tap


def test_a_tap_redraws_the_dm_in_place_through_the_pooled_client(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    (dm,) = pulse_dms(sandbox, MARKETERS[0])
    tap(bot, driver, sandbox, MARKETERS[0], score=4)  # waits until idle: the post has landed
    (post,) = sandbox.response_url_posts
    assert post.http_status == 200
    assert post.body["replace_original"] is True
    (redrawn,) = pulse_dms(sandbox, MARKETERS[0])
    assert redrawn.ts == dm.ts and redrawn.blocks == post.body["blocks"]


def test_a_failed_response_url_post_is_logged_and_the_tap_is_kept(bot, driver, sandbox, clock, caplog):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    sandbox.inject_fault("response_url", "server_error", status=500)
    with caplog.at_level(logging.WARNING, logger="bot.slack.client"):
        tap(bot, driver, sandbox, MARKETERS[0], score=4)  # acknowledged with 200 all the same
    assert [a.score for a in answers(bot) if a.user_id == MARKETERS[0]] == [4]
    assert "a response_url post failed" in caplog.text
    assert "HTTP 500" in caplog.text
