"""Requests that Slack did not sign, or signed too long ago, are refused and change nothing."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest

from bot.runtime.process import BotRuntime
from bot.sandbox.driver import sign
from bot.sandbox.workspace import OWNER
from tests.conversation import SIGNING_SECRET, row_counts, slack_methods_called

EVENT = json.dumps(
    {
        "type": "event_callback",
        "team_id": "T0ACME001",
        "event_id": "Ev0000FORGED",
        "event": {"type": "app_home_opened", "user": OWNER, "tab": "home"},
    }
).encode()
COMMAND = urlencode(
    {"team_id": "T0ACME001", "user_id": OWNER, "command": "/align", "text": "setup", "trigger_id": "1.2.3"}
).encode()
BODIES = {
    "event": (EVENT, "application/json"),
    "command": (COMMAND, "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
@pytest.mark.parametrize(
    "forgery",
    ["wrong_secret", "tampered_body", "stale_timestamp", "future_timestamp", "no_signature", "no_timestamp"],
)
def test_unsigned_or_stale_requests_get_401_and_store_nothing(bot, driver, sandbox, kind, forgery):
    body, content_type = BODIES[kind]
    now = int(time.time())
    options: dict = {}
    if forgery == "wrong_secret":
        options["signature"] = sign("not-the-secret", now, body)
    elif forgery == "tampered_body":
        options["signature"] = sign(SIGNING_SECRET, now, body)
        body = body.replace(b"setup", b"status").replace(b"FORGED", b"FORGED2")
    elif forgery == "stale_timestamp":
        options["timestamp"] = now - 6 * 60
    elif forgery == "future_timestamp":
        options["timestamp"] = now + 6 * 60
    elif forgery == "no_signature":
        options["omit"] = ("X-Slack-Signature",)
    else:
        options["omit"] = ("X-Slack-Request-Timestamp",)
    response = driver.post(body, content_type, **options)
    assert response.status == 401
    assert bot.wait_idle()
    assert set(row_counts(bot).values()) == {0}
    assert slack_methods_called(sandbox) == []


def test_a_properly_signed_request_within_five_minutes_is_accepted(bot, driver, sandbox):
    body, content_type = BODIES["event"]
    response = driver.post(body, content_type, timestamp=int(time.time()) - 4 * 60)
    assert response.status == 200
    assert bot.wait_idle()
    assert "views.publish" in slack_methods_called(sandbox)


def test_socket_mode_takes_unsigned_requests_and_needs_no_signing_secret(settings, clock, sandbox):
    """Socket Mode requests arrive over the connection the bot opened with its app-level token."""
    socket_settings = replace(
        settings, slack_signing_secret=None, slack_app_token="xapp-1-A0SANDBOX-1-secret"
    )
    runtime = BotRuntime(socket_settings, clock=clock, scheduler=False, socket_mode=True)
    try:
        response = runtime.app.dispatch(BoltRequest(body=json.loads(EVENT), mode="socket_mode"))
        assert response.status == 200
        assert runtime.wait_idle()
        assert "views.publish" in slack_methods_called(sandbox)
    finally:
        runtime.stop()
