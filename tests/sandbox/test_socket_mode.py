"""The sandbox's Socket Mode, through a bare WebSocket client: tokens, tickets, hello, envelopes and
their acks, retries of unacked events, disconnect requests and dropped connections."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bot.sandbox.server import SlackSandbox
from tests.conversation import TOKEN, slack_error

TEAM = "T0ACME001"


@pytest.fixture
def app_client(sandbox: SlackSandbox) -> WebClient:
    return WebClient(base_url=sandbox.api_url)


@pytest.fixture
def link(sandbox: SlackSandbox, app_client: WebClient):
    """A connection opened as an app opens one; its `hello` already read."""
    url = app_client.apps_connections_open(app_token=sandbox.workspace.app_token)["url"]
    with connect(url) as connection:
        hello = json.loads(connection.recv(timeout=5))
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": sandbox.workspace.app_id}
        yield connection


def received(connection: ClientConnection) -> dict:
    return json.loads(connection.recv(timeout=5))


def test_only_an_app_level_token_opens_a_connection(sandbox, app_client):
    assert slack_error(lambda: app_client.apps_connections_open(app_token=TOKEN)) == "not_allowed_token_type"
    assert (
        slack_error(lambda: app_client.apps_connections_open(app_token="xapp-1-A0-forged")) == "invalid_auth"
    )
    assert slack_error(lambda: app_client.api_call("apps.connections.open")) == "not_authed"
    url = app_client.apps_connections_open(app_token=sandbox.workspace.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url


def test_a_ticket_opens_one_connection(sandbox, app_client):
    url = app_client.apps_connections_open(app_token=sandbox.workspace.app_token)["url"]
    with connect(url) as first:
        assert received(first)["type"] == "hello"
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(url.replace("ticket=", "ticket=forged"))


def test_envelopes_carry_their_kind_and_acks_their_payload(sandbox, link):
    socket_mode = sandbox.socket_mode
    command = socket_mode.deliver(TEAM, "slash_commands", {"command": "/align", "text": "help"})
    sent = received(link)
    assert sent == {
        "envelope_id": command.envelope_id,
        "type": "slash_commands",
        "payload": {"command": "/align", "text": "help"},
        "accepts_response_payload": True,
    }
    link.send(json.dumps({"envelope_id": sent["envelope_id"], "payload": {"text": "Here is help"}}))
    assert socket_mode.wait_for_ack(command).payload == {"text": "Here is help"}

    event = socket_mode.deliver(
        TEAM, "events_api", {"type": "event_callback"}, retry_attempt=1, retry_reason="timeout"
    )
    assert received(link) | {"envelope_id": "?"} == {
        "envelope_id": "?",
        "type": "events_api",
        "payload": {"type": "event_callback"},
        "accepts_response_payload": False,
        "retry_attempt": 1,
        "retry_reason": "timeout",
    }
    link.send(json.dumps({"envelope_id": event.envelope_id}))
    link.send(json.dumps({"envelope_id": event.envelope_id}))  # twice: the second is a stray
    then = socket_mode.deliver(TEAM, "interactive", {"type": "block_actions"})
    link.send(json.dumps({"envelope_id": received(link)["envelope_id"]}))
    assert socket_mode.wait_for_ack(then) is not None  # acks are read in order: the stray came before
    assert socket_mode.wait_for_ack(event).payload is None
    assert [ack.envelope_id for ack in socket_mode.stray_acks] == [event.envelope_id]


def test_an_unacked_event_is_retried_and_an_interaction_is_not(sandbox, link):
    socket_mode = sandbox.socket_mode
    socket_mode.ack_deadline = 0.1  # Slack's is 3 s; the waiting is what is tested here, not its length
    sent = socket_mode.request(TEAM, "events_api", {"type": "event_callback"})
    assert [(e.retry_attempt, e.retry_reason) for e in sent] == [
        (0, ""),
        (1, "timeout"),
        (2, "timeout"),
        (3, "timeout"),
    ]
    assert [received(link)["retry_attempt"] for _ in sent] == [0, 1, 2, 3]
    assert len(socket_mode.request(TEAM, "interactive", {"type": "block_actions"})) == 1


@pytest.mark.parametrize("reason", ["refresh_requested", "warning", "link_disabled"])
def test_a_connection_asked_to_go_gets_no_more_envelopes(sandbox, link, reason):
    (open_link,) = sandbox.socket_mode.open_links()
    sandbox.socket_mode.disconnect(open_link, reason)
    assert received(link) == {
        "type": "disconnect",
        "reason": reason,
        "debug_info": {"host": "sandbox-socket-mode"},
    }
    assert sandbox.socket_mode.wait_for_links(timeout=0.1) == []
    if reason == "link_disabled":  # Slack closes it itself, with a close frame
        with pytest.raises(ConnectionClosed):
            link.recv(timeout=5)
        assert sandbox.socket_mode.open_links() == []
        assert open_link.ended == "closed"


def test_a_dropped_connection_ends_without_a_close_frame(sandbox, link):
    (open_link,) = sandbox.socket_mode.open_links()
    sandbox.socket_mode.drop(open_link)
    with pytest.raises(ConnectionClosed) as ended:
        link.recv(timeout=5)
    assert ended.value.rcvd is None  # no close frame came
    assert open_link.ended == "dropped"
