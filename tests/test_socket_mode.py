"""Socket Mode's own deadlines, end to end: the bot acks within Slack's 3 s right after a reconnect Slack
asked for, is back within 5 s after its connection drops without a close frame, answers a retried
event once, serves its probes over HTTP, and runs as several replicas on one database.

(The scenarios themselves run over both transports where they live: `both_transports`.)"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request

import pytest

from bot.runtime.process import BotRuntime
from bot.sandbox.driver import SocketModeDriver
from bot.sandbox.workspace import OWNER, SALESPEOPLE
from tests.conversation import Person
from tests.processes import SERVE_SOCKET_MODE, BotProcess, bot_environment, readiness

over_socket_mode = pytest.mark.parametrize("transport", ["socket"], indirect=True)

#: Slack's limits: an ack within 3 s of the envelope, and (what the issue asks) back within 5 s of a drop.
ACK_DEADLINE = 3.0
RECONNECT_DEADLINE = 5.0
MEMBER = SALESPEOPLE[0]


def connected(sandbox):
    """The bot's one serving connection, once it has opened it."""
    (link,) = sandbox.socket_mode.wait_for_links()
    return link


def acked_command(person, sandbox):
    """`/align help` as `person`; the envelope it travelled in (acked, or the test fails)."""
    assert "/align" in json.dumps(person.types("/align help"))
    envelope = sandbox.socket_mode.envelopes[-1]
    assert envelope.type == "slash_commands" and envelope.ack is not None
    return envelope


@over_socket_mode
@pytest.mark.parametrize("reason", ["refresh_requested", "warning", "link_disabled"])
def test_right_after_slack_asks_for_a_new_connection_the_ack_is_within_3_s(bot, sandbox, person, reason):
    old = connected(sandbox)
    asked_at = time.monotonic()
    sandbox.socket_mode.disconnect(old, reason)
    envelope = acked_command(person(OWNER), sandbox)  # sent as soon as the new connection is there
    assert envelope.link_id != old.id
    assert envelope.ack_seconds <= ACK_DEADLINE  # Slack's deadline, from the envelope on the new connection
    assert envelope.ack.received_at - asked_at <= RECONNECT_DEADLINE  # reconnecting included
    assert sandbox.socket_mode.stray_acks == []


@over_socket_mode
def test_after_an_abrupt_drop_the_bot_is_back_within_5_s(bot, sandbox, person):
    old = connected(sandbox)
    dropped_at = time.monotonic()
    sandbox.socket_mode.drop(old)
    new = connected(sandbox)
    assert new.id != old.id and old.ended == "dropped"
    assert new.opened_at - dropped_at <= RECONNECT_DEADLINE
    assert acked_command(person(OWNER), sandbox).ack_seconds <= ACK_DEADLINE


@over_socket_mode
def test_an_event_lost_with_its_connection_is_handled_when_slack_retries_it(bot, sandbox, driver):
    """Slack sent the event down a connection that died: no ack, so 3 s later it sends it again,
    marked as a retry, on the connection the bot has opened since."""
    old = connected(sandbox)
    sandbox.socket_mode.drop(old)
    event = {"type": "app_home_opened", "user": MEMBER, "tab": "home"}
    lost = sandbox.socket_mode.deliver(old.team_id, "events_api", driver.event_payload(event), link=old)
    assert sandbox.socket_mode.wait_for_ack(lost) is None
    retried = driver.event(event, event_id=lost.payload["event_id"], retry_num=1, retry_reason="timeout")
    assert retried.status == 200
    assert bot.wait_idle()
    assert len(sandbox.calls_to("views.publish")) == 1


@over_socket_mode
def test_health_readiness_and_metrics_are_served_over_http(bot, sandbox, person):
    acked_command(person(OWNER), sandbox)
    assert _get(bot.url + "/healthz") == (200, {"status": "ok", "database": bot.database.backend})
    assert _get(bot.url + "/readyz") == (200, {"status": "ready", "leader": False})
    status, metrics = _get(bot.url + "/metrics")
    assert status == 200
    assert 'alignbot_slack_requests_total{kind="slash_command",status="200"} 1.0' in metrics
    assert 'alignbot_slack_ack_seconds_count{kind="slash_command"} 1.0' in metrics
    assert _get(bot.url + "/slack/events")[0] == 404  # Slack's requests come over the socket alone


@over_socket_mode
def test_replicas_share_the_envelopes_and_a_retry_on_another_is_handled_once(bot, settings, clock, sandbox):
    """Slack spreads an app's envelopes over its connections (up to 10): each replica gets some, and a
    retry may reach another replica than the first attempt; the database's keys keep it exactly once."""
    with BotRuntime(settings, clock=clock, scheduler=False, socket_mode=True) as other:
        first, second = sandbox.socket_mode.wait_for_links(2)
        driver = SocketModeDriver(sandbox)
        for _ in range(4):
            Person(OWNER, bot, driver).types("/align help")
        assert {e.link_id for e in sandbox.socket_mode.envelopes} == {first.id, second.id}

        event = {"type": "app_home_opened", "user": MEMBER, "tab": "home"}
        payload = driver.event_payload(event)
        for attempt, link in enumerate((first, second)):
            envelope = sandbox.socket_mode.deliver(
                link.team_id, "events_api", payload, retry_attempt=attempt, link=link
            )
            assert sandbox.socket_mode.wait_for_ack(envelope) is not None
        assert bot.wait_idle() and other.wait_idle()
        assert len(sandbox.calls_to("views.publish")) == 1


def test_serve_socket_connects_serves_its_probes_and_stops_on_sigterm(sandbox, database_url, tmp_path):
    environment = bot_environment(sandbox, database_url, slack_app_token=sandbox.workspace.app_token)
    environment.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs none
    bot = BotProcess(SERVE_SOCKET_MODE, environment, tmp_path / "bot")
    try:
        url = bot.wait_listening()
        assert readiness(url)[0] == 200
        connected(sandbox)
        assert SocketModeDriver(sandbox).slash_command(OWNER, "help").status == 200  # acked
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit(timeout=30) == 0
    finally:
        bot.stop()
    assert "alignbot connected to Slack over Socket Mode" in [e["message"] for e in bot.log_entries()]


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = answer.read().decode()
            status = answer.status
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    return status, json.loads(body) if body.startswith("{") else body
