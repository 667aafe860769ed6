"""The manifest declares what the listeners use: their command, events, and the scopes of what they call."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs.pulse_rounds import STALE_AFTER
from bot.sandbox.workspace import OWNER, SALES_CHANNEL, SALESPEOPLE
from bot.slack import manifest
from tests.conversation import FIRST_ROUND, MONDAY_9_BERLIN, VALID_INPUTS, command, create_pulse, run_at, tap


def exercise_every_surface(bot, driver, sandbox, clock) -> None:
    for text in ("help", "status", "language fa", "nonsense", "setup"):
        command(bot, driver, OWNER, text)
    driver.submit_view(OWNER, sandbox.latest_view_for(OWNER).view, VALID_INPUTS)
    dm = sandbox.dm_channel_for(OWNER)  # a CRM export shared in the bot's DM (files.info, its download)
    shared = sandbox.share_file(OWNER, "leads.csv", b"Lead ID,Created Date\nL1,2026-03-02\n", channel_id=dm)
    driver.event({"type": "file_shared", "file_id": shared["id"], "user_id": OWNER, "channel_id": dm})
    driver.event({"type": "app_home_opened", "user": OWNER, "tab": "home"})
    driver.click(OWNER, "open_setup", block_id="home_admin", view=sandbox.home_views.get(OWNER, {"id": "V"}))
    assert bot.wait_idle()
    # A pulse round: sent, one response lost (so history is read), tapped, closed (so messages are updated).
    create_pulse(bot, driver)
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.1, when={"channel": SALESPEOPLE[1]})
    run_at(bot, clock, FIRST_ROUND)
    run_at(bot, clock, FIRST_ROUND + STALE_AFTER + timedelta(seconds=1))
    tap(bot, driver, sandbox, SALESPEOPLE[0], score=4)
    run_at(bot, clock, FIRST_ROUND + timedelta(days=2))
    clock.set(MONDAY_9_BERLIN)  # the weekly digest, with its chart uploaded
    bot.digests.run_due()


def test_every_method_called_is_declared_with_its_scopes(bot, driver, sandbox, clock):
    exercise_every_surface(bot, driver, sandbox, clock)
    called = {call.method for call in sandbox.calls}
    undeclared = called - set(manifest.METHOD_SCOPES)
    assert undeclared == set(), f"add these methods and their scopes to bot/manifest.py: {undeclared}"
    declared = set(manifest.manifest()["oauth_config"]["scopes"]["bot"])
    for method in called:
        assert set(manifest.METHOD_SCOPES[method]) <= declared
    unused = set(manifest.METHOD_SCOPES) - called
    assert unused == set(), f"declared but never called (remove them or exercise them here): {unused}"


def test_declared_events_and_command_are_handled_and_nothing_else_is(bot, driver, sandbox):
    document = manifest.manifest()
    for event_type in document["settings"]["event_subscriptions"]["bot_events"]:
        assert driver.event({"type": event_type, "user": SALESPEOPLE[0], "tab": "home"}).status == 200
    for declared in document["features"]["slash_commands"]:
        assert driver.slash_command(SALESPEOPLE[0], "help", command=declared["command"]).status == 200
    assert driver.slash_command(SALESPEOPLE[0], "", command="/other").status == 404
    undeclared_event = {"type": "message", "channel": SALES_CHANNEL, "user": SALESPEOPLE[0], "text": "hi"}
    assert driver.event(undeclared_event).status == 404
    assert bot.wait_idle()
