"""The sandbox at Slack's pace: a round trip per request, the workspace-wide cap on posting, the
distributed-app limit on conversations.history, and response_url posts that replace or delete the
message they came from; and the sandbox as a process of its own."""

import json
import subprocess
import sys

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox import http as sandbox_http
from bot.sandbox import workspace as acme
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import globex_workspace
from tests.conversation import FakeClock, slack_error

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Weekly *pulse*"}}


def test_every_kind_of_request_takes_the_round_trip(
    sandbox: SlackSandbox, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(sandbox_http.time, "sleep", waits.append)
    sandbox.set_round_trip(100)
    client.auth_test()
    WebhookClient(sandbox.issue_response_url(acme.SALES_CHANNEL, acme.OWNER)).send(text="hi")
    assert waits == [0.05] * 4  # half on the way in, half on the way out, for each request
    sandbox.set_round_trip(0)
    client.auth_test()
    assert len(waits) == 4


def test_workspace_cap_answers_rate_limited_at_http_200(
    sandbox: SlackSandbox, client: WebClient, clock: FakeClock
) -> None:
    globex = sandbox.add_workspace(globex_workspace())
    sandbox.enable_rate_limits(workspace_cap=120)  # two a second, a burst of two
    people = acme.SALESPEOPLE
    client.chat_postMessage(channel=people[0], text="1")
    client.chat_postMessage(channel=people[1], text="2")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=people[2], text="3")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "rate_limited"
    assert "Retry-After" not in raised.value.response.headers
    other = WebClient(token=globex.bot_token, base_url=sandbox.api_url)
    assert other.chat_postMessage(channel=acme.GLOBEX_SALESPEOPLE[0], text="its own cap")["ok"]
    clock.advance(0.5)
    assert client.chat_postMessage(channel=people[2], text="3")["ok"]
    assert sandbox.rate_limited_calls == 1
    assert [len(sandbox.dms_to(person)) for person in people[:3]] == [1, 1, 1]


def test_the_refused_post_keeps_its_channel_allowance(
    sandbox: SlackSandbox, client: WebClient, clock: FakeClock
) -> None:
    sandbox.enable_rate_limits(message_burst=1, workspace_cap=60)
    client.chat_postMessage(channel=acme.SALES_CHANNEL, text="1")
    clock.advance(1)
    client.chat_postMessage(channel=acme.MARKETING_CHANNEL, text="takes the workspace's token")
    assert (
        slack_error(lambda: client.chat_postMessage(channel=acme.SALES_CHANNEL, text="2")) == "rate_limited"
    )
    clock.advance(1)
    assert client.chat_postMessage(channel=acme.SALES_CHANNEL, text="2")["ok"]


def test_distributed_app_reads_history_once_a_minute_fifteen_at_a_time(
    sandbox: SlackSandbox, client: WebClient, clock: FakeClock
) -> None:
    for n in range(20):
        sandbox.add_user_message(acme.SALES_CHANNEL, acme.OWNER, f"message {n}")
        clock.advance(0.001)
    sandbox.enable_rate_limits(distributed_app=True)
    page = client.conversations_history(channel=acme.SALES_CHANNEL, limit=200)
    assert len(page["messages"]) == 15
    assert page["has_more"]
    with pytest.raises(SlackApiError) as raised:
        client.conversations_history(channel=acme.SALES_CHANNEL)
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "60"
    clock.advance(60)
    assert client.conversations_history(channel=acme.SALES_CHANNEL)["ok"]


def test_replace_original_replaces_the_message_the_person_sees(
    sandbox: SlackSandbox, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel=acme.OWNER, text="How was your week?")
    dm = posted["channel"]
    url = sandbox.issue_response_url(dm, acme.OWNER, posted["ts"])
    WebhookClient(url).send(text="Thanks!", blocks=[SECTION], replace_original=True)
    [message] = sandbox.dms_to(acme.OWNER)
    assert (message.ts, message.text, message.blocks) == (posted["ts"], "Thanks!", [SECTION])
    assert message.edited_ts is not None
    assert sandbox.ephemerals == []


def test_delete_original_deletes_it(sandbox: SlackSandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=acme.OWNER, text="Delete me")
    url = sandbox.issue_response_url(posted["channel"], acme.OWNER, posted["ts"])
    assert WebhookClient(url).send_dict({"delete_original": True}).status_code == 200
    assert sandbox.dms_to(acme.OWNER) == []


def test_replace_original_without_a_message_answers_as_a_new_ephemeral(sandbox: SlackSandbox) -> None:
    url = sandbox.issue_response_url(acme.SALES_CHANNEL, acme.OWNER)  # a slash command's
    WebhookClient(url).send(text="Saved", replace_original=True)
    assert [e.text for e in sandbox.ephemerals_to(acme.OWNER)] == ["Saved"]


def test_the_sandbox_runs_as_a_process_of_its_own() -> None:
    command = [sys.executable, "-m", "bot.sandbox", "--workspaces", "2", "--members", "3", "--rtt-ms", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        listening = json.loads(process.stdout.readline())
        tokens = listening["workspaces"]
        assert sorted(tokens) == ["T0BENCH000", "T0BENCH001"]
        for team, token in tokens.items():
            assert WebClient(token=token, base_url=listening["api_url"]).auth_test()["team_id"] == team
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
