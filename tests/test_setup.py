"""`/align setup` end to end: slash command → modal → submission → stored → confirmed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sandbox.workspace import (
    ADMIN,
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETING_CHANNEL,
    OWNER,
    SALES_CHANNEL,
    SALESPEOPLE,
)
from storage.workspaces import load_config
from tests.conversation import (
    VALID_INPUTS,
    both_transports,
    command,
    open_modal,
    replies_to,
    row_counts,
    text_of,
)

TEAM_ID = "T0ACME001"


def open_setup(bot, driver, user_id: str) -> dict:
    return open_modal(bot, driver, user_id, "setup")


def stored_config(bot):
    with bot.database.session() as session:
        return load_config(session, TEAM_ID)


@both_transports
def test_admin_sets_up_the_workspace(bot, driver, sandbox):
    view = open_setup(bot, driver, OWNER)
    assert view["callback_id"] == "setup"
    assert sandbox.calls_to("views.open")[0].response["ok"] is True
    # The modal starts from the admin's own timezone (Olivia is in New York).
    timezone_block = next(b for b in view["blocks"] if b.get("block_id") == "timezone")
    assert timezone_block["element"]["initial_value"] == "America/New_York"

    response = driver.submit_view(OWNER, view, VALID_INPUTS)
    assert response.status == 200
    assert response.body == ""  # a plain ack closes the modal
    assert bot.wait_idle()

    config = stored_config(bot)
    assert config.sales_channels == (SALES_CHANNEL,)
    assert config.marketing_channels == (MARKETING_CHANNEL,)
    assert config.leadership_channel == LEADERSHIP_CHANNEL
    assert config.timezone == "Europe/Berlin"
    assert config.anonymity_threshold == 5
    assert config.admins == (HEAD_OF_SALES,)

    confirmation = sandbox.dms_to(OWNER)
    assert len(confirmation) == 1
    assert "alignbot is set up" in text_of({"blocks": confirmation[0].blocks})
    assert f"<#{SALES_CHANNEL}>" in text_of({"blocks": confirmation[0].blocks})


def test_setup_warns_about_channels_the_bot_is_not_in(bot, driver, sandbox):
    view = open_setup(bot, driver, OWNER)
    driver.submit_view(OWNER, view, {**VALID_INPUTS, "leadership_channel": "C0GENERAL"})
    assert bot.wait_idle()
    text = text_of({"blocks": sandbox.dms_to(OWNER)[0].blocks})
    assert "/invite @alignbot" in text
    assert "<#C0GENERAL>" in text


def test_the_modal_reopens_with_the_saved_configuration(bot, driver, sandbox):
    driver.submit_view(OWNER, open_setup(bot, driver, OWNER), VALID_INPUTS)
    assert bot.wait_idle()
    view = open_setup(bot, driver, ADMIN)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["sales_channels"]["element"]["initial_conversations"] == [SALES_CHANNEL]
    assert blocks["timezone"]["element"]["initial_value"] == "Europe/Berlin"
    assert blocks["admins"]["element"]["initial_users"] == [HEAD_OF_SALES]


def test_a_configured_admin_may_change_the_setup(bot, driver, sandbox):
    driver.submit_view(OWNER, open_setup(bot, driver, OWNER), VALID_INPUTS)
    assert bot.wait_idle()
    view = open_setup(bot, driver, HEAD_OF_SALES)
    driver.submit_view(HEAD_OF_SALES, view, {**VALID_INPUTS, "anonymity_threshold": "7"})
    assert bot.wait_idle()
    assert stored_config(bot).anonymity_threshold == 7


def test_a_member_is_refused_and_nothing_changes(bot, driver, sandbox):
    replies = command(bot, driver, SALESPEOPLE[0], "setup")
    assert len(replies) == 1
    assert replies[0]["response_type"] == "ephemeral"
    assert "Only Slack workspace admins and owners" in text_of(replies[0])
    assert sandbox.calls_to("views.open") == []
    assert row_counts(bot)["workspaces"] == 0


def test_a_forged_submission_from_a_member_changes_nothing(bot, driver, sandbox):
    """A member replaying an admin's modal as their own gets a refusal, never a config change."""
    view = open_setup(bot, driver, OWNER)
    response = driver.submit_view(SALESPEOPLE[1], view, VALID_INPUTS)
    assert response.status == 200
    assert bot.wait_idle()
    assert row_counts(bot)["workspaces"] == 0
    refusal = sandbox.dms_to(SALESPEOPLE[1])
    assert len(refusal) == 1
    assert "Nothing was changed" in text_of({"blocks": refusal[0].blocks})


@pytest.mark.parametrize(
    ("inputs", "fields"),
    [
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"anonymity_threshold": "2"}, {"anonymity_threshold"}),
        ({"anonymity_threshold": "11"}, {"anonymity_threshold"}),
        ({"timezone": "Nowhere", "anonymity_threshold": "abc"}, {"timezone", "anonymity_threshold"}),
        ({"marketing_channels": [SALES_CHANNEL]}, {"marketing_channels"}),
        ({"sales_channels": []}, {"sales_channels"}),
    ],
)
def test_invalid_input_comes_back_as_field_errors_and_nothing_is_stored(bot, driver, sandbox, inputs, fields):
    view = open_setup(bot, driver, OWNER)
    response = driver.submit_view(OWNER, view, {**VALID_INPUTS, **inputs})
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == fields
    assert all(answer["errors"].values())
    assert bot.wait_idle()
    assert row_counts(bot)["workspaces"] == 0
    assert sandbox.dms_to(OWNER) == []


def test_the_modal_and_its_errors_speak_the_admins_language(bot, driver, sandbox):
    command(bot, driver, OWNER, "language fa")
    view = open_setup(bot, driver, OWNER)
    assert view["title"]["text"] == "تنظیمات alignbot"
    answer = driver.submit_view(OWNER, view, {**VALID_INPUTS, "timezone": "Mars/Olympus"}).json()
    assert answer["errors"]["timezone"].startswith("این یک منطقهٔ زمانی IANA نیست")


def test_a_double_submission_is_stored_and_confirmed_once(bot, driver, sandbox):
    view = open_setup(bot, driver, OWNER)
    first = driver.submit_view(OWNER, view, VALID_INPUTS)
    second = driver.submit_view(OWNER, view, {**VALID_INPUTS, "anonymity_threshold": "9"})
    assert first.status == second.status == 200
    assert bot.wait_idle()
    assert len(sandbox.dms_to(OWNER)) == 1
    assert stored_config(bot).anonymity_threshold == 5


def test_a_late_request_whose_trigger_expired_gets_a_clear_message(bot, driver, sandbox, sandbox_clock):
    stale_trigger = sandbox.issue_trigger_id(OWNER)
    sandbox_clock.advance(4)  # Slack's trigger ids live 3 seconds
    response = driver.slash_command(OWNER, "setup", trigger_id=stale_trigger)
    assert bot.wait_idle()
    assert sandbox.calls_to("views.open")[0].response["error"] == "expired_trigger_id"
    (reply,) = replies_to(sandbox, response)
    assert "Please try again" in text_of(reply)
    assert "expired_trigger_id" in text_of(reply)


def test_a_slack_server_error_is_retried_and_the_modal_opens_once(bot, driver, sandbox):
    sandbox.inject_fault("views.open", "server_error", status=503)
    view = open_setup(bot, driver, OWNER)
    assert view["callback_id"] == "setup"
    statuses = [call.http_status for call in sandbox.calls_to("views.open")]
    assert statuses == [503, 200]


def test_a_rate_limited_call_waits_for_retry_after_and_succeeds(bot, driver, sandbox):
    sandbox.inject_fault("users.info", "rate_limited", retry_after=1)
    (reply,) = command(bot, driver, OWNER, "status")
    assert "alignbot status" in text_of(reply)
    assert [call.http_status for call in sandbox.calls_to("users.info")] == [429, 200]


def threshold_notices(sandbox) -> dict[str, list[str]]:
    return {
        channel: [text_of({"blocks": m.blocks}) for m in sandbox.messages_in(channel)]
        for channel in (SALES_CHANNEL, MARKETING_CHANNEL)
    }


def test_both_teams_hear_once_when_the_threshold_changes(bot, driver, sandbox):
    driver.submit_view(OWNER, open_setup(bot, driver, OWNER), VALID_INPUTS)
    assert bot.wait_idle()
    assert threshold_notices(sandbox) == {SALES_CHANNEL: [], MARKETING_CHANNEL: []}  # set, not changed
    driver.submit_view(
        HEAD_OF_SALES, open_setup(bot, driver, HEAD_OF_SALES), {**VALID_INPUTS, "timezone": "UTC"}
    )
    assert bot.wait_idle()
    assert threshold_notices(sandbox) == {SALES_CHANNEL: [], MARKETING_CHANNEL: []}  # same threshold
    change = driver.submit_view(
        HEAD_OF_SALES, open_setup(bot, driver, HEAD_OF_SALES), {**VALID_INPUTS, "anonymity_threshold": "3"}
    )
    assert bot.wait_idle()
    assert driver.resend(change).status == 200
    assert bot.wait_idle()
    said = (
        f"The minimum group size changed from 5 to 3 by <@{HEAD_OF_SALES}>; "
        "it applies from the next closed round."
    )
    assert threshold_notices(sandbox) == {SALES_CHANNEL: [said], MARKETING_CHANNEL: [said]}


def test_the_threshold_change_is_told_in_the_workspaces_language(bot, driver, sandbox):
    driver.submit_view(OWNER, open_setup(bot, driver, OWNER), {**VALID_INPUTS, "default_language": "fa"})
    assert bot.wait_idle()
    view = open_setup(bot, driver, OWNER)
    driver.submit_view(OWNER, view, {**VALID_INPUTS, "default_language": "fa", "anonymity_threshold": "7"})
    assert bot.wait_idle()
    (told,) = threshold_notices(sandbox)[MARKETING_CHANNEL]
    assert "از ۵ به ۷" in told and f"<@{OWNER}>" in told


def test_status_says_who_changed_the_threshold_and_when(bot, driver, sandbox, clock):
    driver.submit_view(OWNER, open_setup(bot, driver, OWNER), VALID_INPUTS)
    assert bot.wait_idle()
    (first,) = command(bot, driver, HEAD_OF_SALES, "status")
    assert f"The minimum group size was set to 5 by <@{OWNER}>" in text_of(first)
    clock.advance(timedelta(days=2))
    changed_at = clock.now()
    driver.submit_view(
        HEAD_OF_SALES, open_setup(bot, driver, HEAD_OF_SALES), {**VALID_INPUTS, "anonymity_threshold": "3"}
    )
    assert bot.wait_idle()
    (status,) = command(bot, driver, HEAD_OF_SALES, "status")
    said = text_of(status)
    assert f"changed from 5 to 3 by <@{HEAD_OF_SALES}>" in said
    assert f"<!date^{int(changed_at.timestamp())}^" in said
    assert "from the first round closed after that" in said
