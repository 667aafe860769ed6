"""A listener that fails still answers Slack at once: with the acknowledgement it already sent, or, when
it failed before acknowledging, a 200 with nothing; never a 5xx, never Bolt's 3 s wait and a 404."""

from __future__ import annotations

import logging

import handlers.align_command
from bot.sandbox.workspace import OWNER
from tests.conversation import VALID_INPUTS, open_modal


def fail(*_args, **_kwargs):
    raise RuntimeError("the listener broke")


def test_a_listener_that_raises_after_its_ack_answers_with_that_ack(bot, driver, monkeypatch, caplog):
    monkeypatch.setattr(handlers.align_command, "fetch_user", fail)  # called right after ack()
    with caplog.at_level(logging.ERROR):
        for _attempt in range(5):  # Bolt lost the ack whenever the failure beat its 10 ms poll
            response = driver.slash_command(OWNER, "help")
            assert (response.status, response.body) == (200, "")
            bot.wait_idle()
    assert "the listener broke" in caplog.text


def test_a_listener_that_raises_before_its_ack_answers_200_with_nothing(bot, driver, monkeypatch):
    view = open_modal(bot, driver, OWNER, "setup")
    monkeypatch.setattr(bot.services.workspaces, "save_setup", fail)  # called before ack()
    response = driver.submit_view(OWNER, view, VALID_INPUTS)
    assert (response.status, response.body) == (200, "")
    bot.wait_idle()
