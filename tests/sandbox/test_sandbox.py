"""The sandbox through a real slack_sdk WebClient / WebhookClient: shapes, errors, limits and faults."""

import json
import threading
import urllib.request
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from bot.sandbox import workspace as acme
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import SandboxChannel, default_workspace
from tests.conversation import TOKEN, FakeClock, slack_error

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Weekly *pulse*"}}
MODAL = {
    "type": "modal",
    "callback_id": "pulse",
    "title": {"type": "plain_text", "text": "Pulse"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "mood",
            "label": {"type": "plain_text", "text": "How is it going?"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}
HOME = {"type": "home", "blocks": [SECTION]}


# ----- transport and auth ------------------------------------------------------------------------


def test_auth_test_reports_the_bot_identity(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == "U0ALIGNBOT"
    assert answer["bot_id"] == "B0ALIGNBOT"
    assert answer["team_id"] == "T0ACME001"
    assert answer["is_enterprise_install"] is False


def test_missing_wrong_token_and_unknown_method(sandbox: SlackSandbox, client: WebClient) -> None:
    assert slack_error(WebClient(base_url=sandbox.api_url).auth_test) == "not_authed"
    assert slack_error(WebClient(token="xoxb-wrong", base_url=sandbox.api_url).auth_test) == "invalid_auth"
    assert slack_error(lambda: client.api_call("chat.scheduleTeleport")) == "unknown_method"
    assert [c.response["error"] for c in sandbox.calls] == ["not_authed", "invalid_auth", "unknown_method"]
    assert all(c.http_status == 200 for c in sandbox.calls)


def test_form_encoded_post_and_get_with_token_param(sandbox: SlackSandbox) -> None:
    blocks = json.dumps([SECTION])
    form = urlencode({"token": TOKEN, "channel": acme.SALES_CHANNEL, "text": "hi", "blocks": blocks}).encode()
    with urllib.request.urlopen(f"{sandbox.api_url}chat.postMessage", data=form) as answer:
        assert json.load(answer)["ok"] is True
    query = urlencode({"token": TOKEN, "user": acme.OWNER})
    with urllib.request.urlopen(f"{sandbox.api_url}users.info?{query}") as answer:
        assert json.load(answer)["user"]["real_name"] == "Olivia Owner"
    posted = sandbox.calls_to("chat.postMessage")[0]
    assert posted.params["blocks"] == blocks  # kept as given
    assert posted.body == form
    assert sandbox.messages_in(acme.SALES_CHANNEL)[0].blocks == [SECTION]


def test_calls_are_recorded_with_the_clock(
    sandbox: SlackSandbox, client: WebClient, clock: FakeClock
) -> None:
    client.auth_test()
    clock.advance(5)
    client.users_info(user=acme.OWNER)
    assert [c.method for c in sandbox.calls] == ["auth.test", "users.info"]
    assert sandbox.calls[1].received_at == sandbox.calls[0].received_at + 5
    assert sandbox.calls[1].headers["Authorization"] == f"Bearer {TOKEN}"
    sandbox.clear()
    assert sandbox.calls == []


def test_concurrent_posts_get_unique_increasing_ts(sandbox: SlackSandbox, client: WebClient) -> None:
    threads = [
        threading.Thread(
            target=client.chat_postMessage, kwargs={"channel": acme.SALES_CHANNEL, "text": str(n)}
        )
        for n in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m.ts for m in sandbox.messages_in(acme.SALES_CHANNEL)]
    assert len(set(stamps)) == 12
    assert stamps == sorted(stamps, key=float)


def test_a_bolt_app_runs_against_the_sandbox(sandbox: SlackSandbox) -> None:
    App(signing_secret="sandbox-secret", client=WebClient(token=TOKEN, base_url=sandbox.api_url))
    assert [c.method for c in sandbox.calls] == ["auth.test"]  # Bolt verifies its token at start
    respond = Respond(response_url=sandbox.issue_response_url(acme.SALES_CHANNEL, acme.OWNER))
    assert respond(text="done", blocks=[SECTION]).status_code == 200
    assert sandbox.ephemerals_to(acme.OWNER)[0].blocks == [SECTION]


# ----- chat ---------------------------------------------------------------------------------------


def test_post_message_to_channel_user_and_thread(sandbox: SlackSandbox, client: WebClient) -> None:
    first = client.chat_postMessage(channel=acme.SALES_CHANNEL, text="Pulse time", blocks=[SECTION])
    assert first["channel"] == acme.SALES_CHANNEL
    assert first["message"]["bot_id"] == "B0ALIGNBOT"
    assert first["message"]["blocks"] == [SECTION]
    reply = client.chat_postMessage(channel=acme.SALES_CHANNEL, text="in thread", thread_ts=first["ts"])
    assert float(reply["ts"]) > float(first["ts"])
    assert sandbox.messages_in(acme.SALES_CHANNEL)[1].thread_ts == first["ts"]

    dm = client.chat_postMessage(channel=acme.SALESPEOPLE[1], text="سلام")
    assert dm["channel"] == sandbox.dm_channel_for(acme.SALESPEOPLE[1]) == "D0SALES02"
    client.chat_postMessage(channel="D0SALES02", text="again")
    assert [m.text for m in sandbox.dms_to(acme.SALESPEOPLE[1])] == ["سلام", "again"]


def test_post_message_errors(sandbox: SlackSandbox, client: WebClient) -> None:
    sandbox.workspace.channel(acme.RANDOM_CHANNEL).is_archived = True
    assert slack_error(lambda: client.chat_postMessage(channel="C0NOWHERE", text="x")) == "channel_not_found"
    assert slack_error(lambda: client.chat_postMessage(channel="U0NOBODY0", text="x")) == "channel_not_found"
    assert (
        slack_error(lambda: client.chat_postMessage(channel=acme.GENERAL_CHANNEL, text="x"))
        == "not_in_channel"
    )
    assert (
        slack_error(lambda: client.chat_postMessage(channel=acme.RANDOM_CHANNEL, text="x")) == "is_archived"
    )
    assert slack_error(lambda: client.chat_postMessage(channel=acme.OTHER_BOT, text="x")) == "cannot_dm_bot"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns first, the sandbox then refuses
        assert slack_error(lambda: client.chat_postMessage(channel=acme.SALES_CHANNEL)) == "no_text"
    long_text = "x" * 40_001
    assert (
        slack_error(lambda: client.chat_postMessage(channel=acme.SALES_CHANNEL, text=long_text))
        == "msg_too_long"
    )
    assert sandbox.messages == {}


def test_post_message_to_deactivated_user_succeeds_like_slack(
    sandbox: SlackSandbox, client: WebClient
) -> None:
    client.chat_postMessage(channel=acme.DEACTIVATED, text="anyone there?")
    assert len(sandbox.dms_to(acme.DEACTIVATED)) == 1


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "3000"),
        ([{"type": "carousel_of_doom"}], "unknown block type"),
        ([{"type": "divider"}] * 51, "51 blocks"),
        ([{"type": "section", "text": "a bare string"}], "must be an object"),
        ([{**SECTION, "colour": "red"}], "colour"),
    ],
)
def test_invalid_blocks_are_rejected(
    sandbox: SlackSandbox, client: WebClient, blocks: list, problem: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=acme.SALES_CHANNEL, text="x", blocks=blocks)
    answer = raised.value.response
    assert answer["error"] == "invalid_blocks"
    assert any(problem in e for e in answer["errors"])
    assert answer["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert sandbox.messages_in(acme.SALES_CHANNEL) == []
    [(call, problems)] = sandbox.invalid_payloads()
    assert call.method == "chat.postMessage"
    assert problems == answer["errors"]


def test_valid_traffic_leaves_no_invalid_payloads(sandbox: SlackSandbox, client: WebClient) -> None:
    client.chat_postMessage(channel=acme.SALES_CHANNEL, text="x", blocks=[SECTION])
    client.views_publish(user_id=acme.OWNER, view=HOME)
    assert sandbox.invalid_payloads() == []


def test_chat_update_edits_the_stored_message(sandbox: SlackSandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=acme.SALES_CHANNEL, text="draft", blocks=[SECTION])
    updated = client.chat_update(channel=acme.SALES_CHANNEL, ts=posted["ts"], text="final")
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "final"
    [message] = sandbox.messages_in(acme.SALES_CHANNEL)
    assert (message.text, message.blocks) == ("final", [SECTION])  # blocks kept when not given
    assert message.edited_ts is not None
    client.chat_update(channel=acme.SALES_CHANNEL, ts=posted["ts"], text="final", blocks=[])
    assert sandbox.messages_in(acme.SALES_CHANNEL)[0].blocks == []


def test_chat_update_errors(sandbox: SlackSandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=acme.SALES_CHANNEL, text="draft")
    human = sandbox.add_user_message(acme.SALES_CHANNEL, acme.SALESPEOPLE[0], "my own words")
    ts = posted["ts"]
    assert slack_error(lambda: client.chat_update(channel=acme.SALES_CHANNEL, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    assert slack_error(lambda: client.chat_update(channel=acme.SALES_CHANNEL, ts=human.ts, text="x")) == (
        "cant_update_message"
    )
    bad = [{"type": "nope"}]
    assert (
        slack_error(lambda: client.chat_update(channel=acme.SALES_CHANNEL, ts=ts, text="x", blocks=bad))
        == "invalid_blocks"
    )
    assert sandbox.messages_in(acme.SALES_CHANNEL)[0].text == "draft"


def test_post_ephemeral(sandbox: SlackSandbox, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel=acme.SALES_CHANNEL, user=acme.SALESPEOPLE[0], text="psst")
    assert answer["message_ts"]
    [ephemeral] = sandbox.ephemerals_to(acme.SALESPEOPLE[0])
    assert (ephemeral.channel, ephemeral.text) == (acme.SALES_CHANNEL, "psst")
    assert sandbox.messages_in(acme.SALES_CHANNEL) == []
    outsider = acme.MARKETERS[0]
    assert slack_error(
        lambda: client.chat_postEphemeral(channel=acme.SALES_CHANNEL, user=outsider, text="x")
    ) == ("user_not_in_channel")


# ----- conversations and users --------------------------------------------------------------------


def test_conversations_open(client: WebClient) -> None:
    first = client.conversations_open(users=acme.HEAD_OF_SALES)
    assert first["channel"]["id"] == "D0SALESHD"
    assert "already_open" not in first
    again = client.conversations_open(users=acme.HEAD_OF_SALES)
    assert again["channel"]["id"] == "D0SALESHD"
    assert again["already_open"] is True
    assert slack_error(lambda: client.conversations_open(users="U0NOBODY0")) == "user_not_found"
    assert slack_error(lambda: client.conversations_open(users=acme.OTHER_BOT)) == "cannot_dm_bot"
    assert slack_error(lambda: client.conversations_open(users=acme.DEACTIVATED)) == "user_disabled"


def test_conversations_members_paginates(client: WebClient) -> None:
    members, cursor, pages = [], None, 0
    while True:
        answer = client.conversations_members(channel=acme.MARKETING_CHANNEL, limit=3, cursor=cursor)
        members += answer["members"]
        pages += 1
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert members == default_workspace().channel(acme.MARKETING_CHANNEL).members
    assert acme.DEACTIVATED in members  # Slack still lists deactivated members
    assert slack_error(lambda: client.conversations_members(channel="C0NOWHERE")) == "channel_not_found"
    bad_cursor = "bm9wZQ=="
    assert slack_error(
        lambda: client.conversations_members(channel=acme.SALES_CHANNEL, cursor=bad_cursor)
    ) == ("invalid_cursor")


def test_private_channel_without_the_bot() -> None:
    workspace = default_workspace()
    workspace.channels.append(SandboxChannel("C0SECRET1", "secret", is_private=True, members=[acme.OWNER]))
    with SlackSandbox(workspace) as sandbox:
        client = WebClient(token=TOKEN, base_url=sandbox.api_url)
        assert slack_error(lambda: client.conversations_members(channel="C0SECRET1")) == "not_in_channel"
        assert slack_error(lambda: client.conversations_info(channel="C0SECRET1")) == "channel_not_found"


def test_conversations_info(client: WebClient) -> None:
    sales = client.conversations_info(channel=acme.SALES_CHANNEL)["channel"]
    assert (sales["name"], sales["is_channel"], sales["is_private"], sales["is_member"]) == (
        "sales",
        True,
        False,
        True,
    )
    assert sales["num_members"] == len(default_workspace().channel(acme.SALES_CHANNEL).members)
    leadership = client.conversations_info(channel=acme.LEADERSHIP_CHANNEL)["channel"]
    assert leadership["is_private"] is True
    assert client.conversations_info(channel=acme.GENERAL_CHANNEL)["channel"]["is_member"] is False
    assert slack_error(lambda: client.conversations_info(channel="C0NOWHERE")) == "channel_not_found"


def test_users_info_with_and_without_locale(client: WebClient, clock: FakeClock) -> None:
    plain = client.users_info(user=acme.HEAD_OF_MARKETING)["user"]
    assert "locale" not in plain
    assert (plain["real_name"], plain["tz"], plain["tz_offset"]) == ("Sara Ahmadi", "Asia/Tehran", 12_600)
    assert plain["profile"]["display_name"] == "Sara"
    with_locale = client.users_info(user=acme.HEAD_OF_MARKETING, include_locale=True)["user"]
    assert with_locale["locale"] == "fa-IR"
    owner = client.users_info(user=acme.OWNER)["user"]
    assert (owner["is_owner"], owner["is_admin"], owner["tz_offset"]) == (True, True, -5 * 3600)  # November
    clock.advance(200 * 24 * 3600)  # into June: daylight saving time
    assert client.users_info(user=acme.OWNER)["user"]["tz_offset"] == -4 * 3600
    assert client.users_info(user=acme.DEACTIVATED)["user"]["deleted"] is True
    assert client.users_info(user=acme.GUEST)["user"]["is_restricted"] is True
    assert slack_error(lambda: client.users_info(user="U0NOBODY0")) == "user_not_found"


def test_users_list_paginates(sandbox: SlackSandbox, client: WebClient) -> None:
    everyone = client.users_list()["members"]
    assert [u["id"] for u in everyone] == [u.id for u in sandbox.workspace.users]
    paged = []
    for page in client.users_list(limit=5):  # SlackResponse follows next_cursor
        paged += page["members"]
    assert [u["id"] for u in paged] == [u["id"] for u in everyone]


# ----- views ------------------------------------------------------------------------------------


def test_views_open_answers_the_stored_view(sandbox: SlackSandbox, client: WebClient) -> None:
    trigger = sandbox.issue_trigger_id(acme.OWNER)
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["state"] == {"values": {}}
    assert (view["app_id"], view["bot_id"], view["team_id"]) == ("A0ALIGNBOT", "B0ALIGNBOT", "T0ACME001")
    assert view["blocks"] == MODAL["blocks"]
    latest = sandbox.latest_view_for(acme.OWNER)
    assert latest is not None and latest.view == view


def test_trigger_ids_work_once_and_expire(sandbox: SlackSandbox, client: WebClient, clock: FakeClock) -> None:
    trigger = sandbox.issue_trigger_id(acme.OWNER)
    client.views_open(trigger_id=trigger, view=MODAL)
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=MODAL)) == "expired_trigger_id"
    stale = sandbox.issue_trigger_id(acme.OWNER)
    clock.advance(3.5)
    assert slack_error(lambda: client.views_open(trigger_id=stale, view=MODAL)) == "expired_trigger_id"
    assert (
        slack_error(lambda: client.views_open(trigger_id="123.456.abc", view=MODAL)) == "invalid_trigger_id"
    )


def test_invalid_view_is_refused_without_using_the_trigger(sandbox: SlackSandbox, client: WebClient) -> None:
    trigger = sandbox.issue_trigger_id(acme.OWNER)
    no_submit = {**MODAL, "title": {"type": "plain_text", "text": "A title far too long for Slack"}}
    no_submit.pop("submit")
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=trigger, view=no_submit)
    assert raised.value.response["error"] == "invalid_arguments"
    messages = raised.value.response["response_metadata"]["messages"]
    assert any("submit" in m for m in messages)
    assert any("title" in m for m in messages)
    assert client.views_open(trigger_id=trigger, view=MODAL)["ok"]


def test_views_update_push_and_hash(sandbox: SlackSandbox, client: WebClient) -> None:
    opened = client.views_open(
        trigger_id=sandbox.issue_trigger_id(acme.OWNER), view={**MODAL, "external_id": "e1"}
    )
    opened_view = opened["view"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Pulse (2/2)"}}
    updated = client.views_update(view_id=opened_view["id"], hash=opened_view["hash"], view=changed)["view"]
    assert updated["id"] == opened_view["id"]
    assert updated["hash"] != opened_view["hash"]
    stale = opened_view["hash"]
    assert slack_error(lambda: client.views_update(view_id=opened_view["id"], hash=stale, view=MODAL)) == (
        "hash_conflict"
    )
    assert client.views_update(external_id="e1", view=MODAL)["view"]["id"] == opened_view["id"]
    assert slack_error(lambda: client.views_update(view_id="V9999999999", view=MODAL)) == "not_found"
    assert len(sandbox.views[opened_view["id"]].history) == 3

    pushed = client.views_push(trigger_id=sandbox.issue_trigger_id(acme.OWNER), view=MODAL)["view"]
    assert pushed["previous_view_id"] == opened_view["id"]
    assert pushed["root_view_id"] == opened_view["id"]
    assert sandbox.latest_view_for(acme.OWNER).id == pushed["id"]


def test_views_publish_home_per_user(sandbox: SlackSandbox, client: WebClient) -> None:
    first = client.views_publish(user_id=acme.HEAD_OF_SALES, view=HOME)["view"]
    second = client.views_publish(user_id=acme.HEAD_OF_SALES, view={"type": "home", "blocks": [SECTION] * 1})
    assert second["view"]["id"] == first["id"]
    assert sandbox.home_views[acme.HEAD_OF_SALES].view["type"] == "home"
    assert slack_error(lambda: client.views_publish(user_id="U0NOBODY0", view=HOME)) == "user_not_found"
    with_submit = {**HOME, "submit": {"type": "plain_text", "text": "Go"}}
    assert (
        slack_error(lambda: client.views_publish(user_id=acme.OWNER, view=with_submit)) == "invalid_arguments"
    )
    assert slack_error(lambda: client.views_publish(user_id=acme.OWNER, view=MODAL)) == "invalid_arguments"


# ----- files ------------------------------------------------------------------------------------


def test_files_upload_v2_end_to_end(sandbox: SlackSandbox, client: WebClient) -> None:
    answer = client.files_upload_v2(
        channel=acme.SALES_CHANNEL, content=b"\x89PNG fake", filename="x.png", initial_comment="Chart"
    )
    file_id = answer["file"]["id"]
    assert answer["file"]["name"] == "x.png"
    stored = sandbox.files[file_id]
    assert (stored.content, stored.title, stored.channel) == (b"\x89PNG fake", "x.png", acme.SALES_CHANNEL)
    [message] = sandbox.messages_in(acme.SALES_CHANNEL)
    assert (message.text, message.files) == ("Chart", [file_id])


def test_complete_upload_needs_the_bytes(client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="a.csv", length=3)["file_id"]
    files = [{"id": file_id, "title": "a"}]
    assert slack_error(lambda: client.files_completeUploadExternal(files=files)) == "file_not_found"


# ----- response_url -------------------------------------------------------------------------------


def test_response_url_posts_are_recorded_and_limited(sandbox: SlackSandbox, clock: FakeClock) -> None:
    url = sandbox.issue_response_url(acme.SALES_CHANNEL, acme.SALESPEOPLE[0])
    webhook = WebhookClient(url)
    assert webhook.send(text="only you see this").body == "ok"
    assert webhook.send(text="everyone sees this", response_type="in_channel").status_code == 200
    for _ in range(3):
        webhook.send(text="more", replace_original=True)
    sixth = webhook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    assert [e.text for e in sandbox.ephemerals_to(acme.SALESPEOPLE[0])][0] == "only you see this"
    assert [m.text for m in sandbox.messages_in(acme.SALES_CHANNEL)] == ["everyone sees this"]
    posts = sandbox.response_url_posts
    assert len(posts) == 6
    assert posts[2].body["replace_original"] is True
    assert (posts[0].channel_id, posts[0].user_id) == (acme.SALES_CHANNEL, acme.SALESPEOPLE[0])

    late = WebhookClient(sandbox.issue_response_url(acme.SALES_CHANNEL, acme.SALESPEOPLE[0]))
    clock.advance(30 * 60 + 1)
    assert late.send(text="too late").body == "expired_url"


def test_response_url_rejects_invalid_blocks(sandbox: SlackSandbox) -> None:
    webhook = WebhookClient(sandbox.issue_response_url(acme.SALES_CHANNEL, acme.OWNER))
    answer = webhook.send(text="x", blocks=[{"type": "section"}])
    assert (answer.status_code, answer.body) == (400, "invalid_blocks")
    [(post, problems)] = sandbox.invalid_payloads()
    assert post is sandbox.response_url_posts[0]
    assert problems


# ----- rate limits --------------------------------------------------------------------------------


@pytest.fixture
def sleep_on_fake_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """RateLimitErrorRetryHandler sleeps Retry-After seconds; let it move the fake clock instead."""
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=clock.advance))


def test_tier_limit_answers_429_with_retry_after(sandbox: SlackSandbox, client: WebClient) -> None:
    sandbox.enable_rate_limits({"users.info": 2})
    client.users_info(user=acme.OWNER)
    client.users_info(user=acme.OWNER)
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user=acme.OWNER)
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "60"
    assert raised.value.response["error"] == "ratelimited"
    assert sandbox.rate_limited_calls == 1


@pytest.mark.usefixtures("sleep_on_fake_clock")
def test_rate_limit_retry_handler_recovers(sandbox: SlackSandbox, clock: FakeClock) -> None:
    sandbox.enable_rate_limits({"users.list": 1})
    client = WebClient(token=TOKEN, base_url=sandbox.api_url, retry_handlers=[RateLimitErrorRetryHandler(2)])
    client.users_list()
    assert client.users_list()["ok"]
    assert [c.http_status for c in sandbox.calls] == [200, 429, 200]
    assert sandbox.rate_limited_calls == 1


def test_post_message_is_limited_per_channel(
    sandbox: SlackSandbox, client: WebClient, clock: FakeClock
) -> None:
    sandbox.enable_rate_limits()
    for n in range(3):  # the burst
        client.chat_postMessage(channel=acme.SALES_CHANNEL, text=str(n))
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=acme.SALES_CHANNEL, text="too fast")
    assert raised.value.response.headers["Retry-After"] == "1"
    client.chat_postMessage(channel=acme.MARKETING_CHANNEL, text="other channel")
    clock.advance(1)
    client.chat_postMessage(channel=acme.SALES_CHANNEL, text="after a second")
    assert len(sandbox.messages_in(acme.SALES_CHANNEL)) == 4


def test_rate_limits_are_off_by_default(client: WebClient) -> None:
    for _ in range(30):
        client.users_list()


# ----- faults -----------------------------------------------------------------------------------


def test_server_error_fault_and_retry(sandbox: SlackSandbox, client: WebClient) -> None:
    sandbox.inject_fault("chat.postMessage", "server_error", status=503)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=acme.SALES_CHANNEL, text="x")
    assert raised.value.response.status_code == 503
    assert sandbox.messages_in(acme.SALES_CHANNEL) == []

    sandbox.inject_fault("chat.postMessage", "server_error")
    retrying = WebClient(
        token=TOKEN,
        base_url=sandbox.api_url,
        retry_handlers=[ServerErrorRetryHandler(1, FixedValueRetryIntervalCalculator(0.01))],
    )
    assert retrying.chat_postMessage(channel=acme.SALES_CHANNEL, text="x")["ok"]
    assert [(c.http_status, c.fault) for c in sandbox.calls] == [
        (503, "server_error"),
        (500, "server_error"),
        (200, None),
    ]


def test_rate_limited_fault_on_any_method(sandbox: SlackSandbox, client: WebClient) -> None:
    sandbox.inject_fault("*", "rate_limited", times=2, retry_after=7)
    for call in (client.auth_test, lambda: client.users_info(user=acme.OWNER)):
        with pytest.raises(SlackApiError) as raised:
            call()
        assert raised.value.response.headers["Retry-After"] == "7"
    assert client.auth_test()["ok"]
    assert sandbox.rate_limited_calls == 0  # faults are flagged, not counted as limiter hits
    assert [c.fault for c in sandbox.calls] == ["rate_limited", "rate_limited", None]


def test_timeout_fault(sandbox: SlackSandbox) -> None:
    sandbox.inject_fault("users.info", "timeout", delay=1.5)
    impatient = WebClient(token=TOKEN, base_url=sandbox.api_url, timeout=1)
    with pytest.raises(TimeoutError):
        impatient.users_info(user=acme.OWNER)
    [call] = sandbox.calls
    assert (call.fault, call.http_status, call.response) == ("timeout", None, None)
    assert impatient.users_info(user=acme.OWNER)["ok"]


def test_clear_faults(sandbox: SlackSandbox, client: WebClient) -> None:
    sandbox.inject_fault("auth.test", "server_error", times=5)
    sandbox.clear_faults()
    assert client.auth_test()["ok"]


# ----- message metadata, history, and responses lost after processing --------------------------


def test_history_returns_messages_newest_first_with_metadata_on_request(client: WebClient) -> None:
    metadata = {"event_type": "alignbot_pulse", "event_payload": {"delivery": 7}}
    first = client.chat_postMessage(channel=acme.SALESPEOPLE[0], text="one", metadata=metadata)
    client.chat_postMessage(channel=acme.SALESPEOPLE[0], text="two")
    dm = first["channel"]
    history = client.conversations_history(channel=dm, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["two", "one"]
    assert history["messages"][1]["metadata"] == metadata
    plain = client.conversations_history(channel=dm)
    assert "metadata" not in plain["messages"][1]
    newer = client.conversations_history(channel=dm, oldest=first["ts"])
    assert [m["text"] for m in newer["messages"]] == ["two"]


def test_history_of_a_channel_the_bot_is_not_in_is_refused(client: WebClient) -> None:
    assert slack_error(lambda: client.conversations_history(channel=acme.GENERAL_CHANNEL)) == "not_in_channel"


def test_malformed_metadata_is_refused(client: WebClient) -> None:
    def post() -> Any:
        return client.chat_postMessage(channel=acme.SALES_CHANNEL, text="x", metadata={"a": 1})

    assert slack_error(post) == "invalid_metadata_format"


def test_a_lost_response_still_posts_the_message(sandbox: SlackSandbox) -> None:
    sandbox.inject_fault("chat.postMessage", "lost_response", delay=0.2)
    # No retry handlers: slack_sdk's default connection-error retry would post the message twice.
    impatient = WebClient(token=TOKEN, base_url=sandbox.api_url, timeout=1, retry_handlers=[])
    with pytest.raises(Exception):  # noqa: B017 - the connection is dropped: urllib raises whatever it raises
        impatient.chat_postMessage(channel=acme.SALES_CHANNEL, text="did it arrive?")
    assert [m.text for m in sandbox.messages_in(acme.SALES_CHANNEL)] == ["did it arrive?"]
    assert sandbox.calls_to("chat.postMessage")[0].fault == "lost_response"
