"""Several workspaces in one sandbox, and Slack's OAuth install flow and token rotation, through a real
slack_sdk WebClient."""

from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient

from bot.sandbox import workspace as acme
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import (
    GLOBEX_OWNER,
    GLOBEX_SALES_CHANNEL,
    SandboxWorkspace,
    default_workspace,
    globex_workspace,
)
from tests.conversation import FakeClock, slack_error

ACME = "T0ACME001"


@pytest.fixture
def globex(sandbox: SlackSandbox) -> SandboxWorkspace:
    return sandbox.add_workspace(globex_workspace())


@pytest.fixture
def app(sandbox: SlackSandbox) -> WebClient:
    """The app itself, before it has any token: what calls oauth.v2.access."""
    return WebClient(base_url=sandbox.api_url)


def authorize_url(sandbox: SlackSandbox, **query: str) -> str:
    defaults = {"client_id": sandbox.oauth.client_id, "scope": "chat:write,users:read", "state": "s-1"}
    return f"https://slack.com/oauth/v2/authorize?{urlencode({**defaults, **query})}"


def install(sandbox: SlackSandbox, app: WebClient, team_id: str = ACME) -> dict:
    approved = sandbox.approve_install(authorize_url(sandbox), team_id)
    return app.oauth_v2_access(
        client_id=sandbox.oauth.client_id, client_secret=sandbox.oauth.client_secret, code=approved["code"]
    ).data


# ----- several workspaces ------------------------------------------------------------------------


def test_a_token_acts_in_its_own_workspace_only(sandbox, client, globex):
    theirs = WebClient(token=globex.bot_token, base_url=sandbox.api_url)
    assert theirs.auth_test()["team_id"] == globex.team_id
    assert {m["id"] for m in theirs.users_list()["members"]} == {u.id for u in globex.users}
    assert theirs.conversations_members(channel=GLOBEX_SALES_CHANNEL)["ok"]
    assert slack_error(lambda: theirs.conversations_info(channel=acme.SALES_CHANNEL)) == "channel_not_found"
    assert (
        slack_error(lambda: theirs.conversations_members(channel=acme.SALES_CHANNEL)) == "channel_not_found"
    )
    assert slack_error(lambda: theirs.chat_postMessage(channel=acme.OWNER, text="hi")) == "channel_not_found"
    assert slack_error(lambda: theirs.users_info(user=acme.OWNER)) == "user_not_found"
    assert slack_error(lambda: client.users_info(user=GLOBEX_OWNER)) == "user_not_found"
    trigger = sandbox.issue_trigger_id(acme.OWNER)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
    assert slack_error(lambda: theirs.views_open(trigger_id=trigger, view=modal)) == "invalid_trigger_id"
    assert {call.team_id for call in sandbox.calls} == {globex.team_id, ACME}
    assert sandbox.calls_in(ACME) == [sandbox.calls[-2]]  # Acme's users.info of Globex's owner


def test_hosted_workspaces_share_no_ids(sandbox):
    with pytest.raises(ValueError, match="shares ids"):
        sandbox.add_workspace(default_workspace())


def test_rate_limits_are_counted_per_workspace(sandbox, client, globex):
    sandbox.enable_rate_limits({"users.list": 1})
    theirs = WebClient(token=globex.bot_token, base_url=sandbox.api_url)
    assert client.users_list()["ok"]
    assert slack_error(client.users_list) == "ratelimited"
    assert theirs.users_list()["ok"]


# ----- installing (OAuth) ------------------------------------------------------------------------


def test_an_install_exchanges_a_code_for_a_bot_token_shaped_like_slacks(sandbox, app):
    answer = install(sandbox, app)
    assert {key: answer[key] for key in ("ok", "app_id", "token_type", "scope", "bot_user_id")} == {
        "ok": True,
        "app_id": "A0ALIGNBOT",
        "token_type": "bot",
        "scope": "chat:write,users:read",
        "bot_user_id": "U0ALIGNBOT",
    }
    assert answer["team"] == {"id": ACME, "name": "Acme"} and answer["enterprise"] is None
    assert answer["authed_user"] == {"id": acme.OWNER} and answer["is_enterprise_install"] is False
    assert "refresh_token" not in answer and "expires_in" not in answer
    assert WebClient(token=answer["access_token"], base_url=sandbox.api_url).auth_test()["team_id"] == ACME


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "1.2"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "bad_client_secret"),
        ({"code": "1.forged"}, "invalid_code"),
        ({"redirect_uri": "https://elsewhere.example/back"}, "bad_redirect_uri"),
    ],
)
def test_a_bad_exchange_gets_slacks_error(sandbox, app, change, error):
    url = authorize_url(sandbox, redirect_uri="https://alignbot.example/slack/oauth_redirect")
    approved = sandbox.approve_install(url, ACME)
    exchange = {
        "client_id": sandbox.oauth.client_id,
        "client_secret": sandbox.oauth.client_secret,
        "code": approved["code"],
        "redirect_uri": "https://alignbot.example/slack/oauth_redirect",
        **change,
    }
    assert slack_error(lambda: app.oauth_v2_access(**exchange)) == error


def test_a_code_is_good_once_and_for_ten_minutes(sandbox, app, clock: FakeClock):
    credentials = {"client_id": sandbox.oauth.client_id, "client_secret": sandbox.oauth.client_secret}
    first = sandbox.approve_install(authorize_url(sandbox), ACME)["code"]
    assert app.oauth_v2_access(**credentials, code=first)["ok"]
    assert slack_error(lambda: app.oauth_v2_access(**credentials, code=first)) == "code_already_used"
    late = sandbox.approve_install(authorize_url(sandbox), ACME)["code"]
    clock.advance(601)
    assert slack_error(lambda: app.oauth_v2_access(**credentials, code=late)) == "invalid_code"


def test_only_slacks_authorize_page_for_this_app_can_be_approved(sandbox):
    with pytest.raises(ValueError, match="authorize page"):
        sandbox.approve_install("https://slack.example/oauth/v2/authorize?client_id=x", ACME)
    with pytest.raises(ValueError, match="invalid_client_id"):
        sandbox.approve_install(authorize_url(sandbox, client_id="1.2"), ACME)


def test_with_token_rotation_tokens_expire_and_each_refresh_token_works_once(sandbox, app, clock: FakeClock):
    sandbox.oauth.token_rotation = True
    answer = install(sandbox, app)
    assert answer["expires_in"] == 12 * 3600
    assert answer["access_token"].startswith("xoxe.xoxb-") and answer["refresh_token"].startswith("xoxe-1-")
    token = WebClient(token=answer["access_token"], base_url=sandbox.api_url)
    assert token.auth_test()["ok"]
    clock.advance(12 * 3600)
    assert slack_error(token.auth_test) == "token_expired"
    refresh = {
        "client_id": sandbox.oauth.client_id,
        "client_secret": sandbox.oauth.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": answer["refresh_token"],
    }
    refreshed = app.oauth_v2_access(**refresh)
    assert (refreshed["token_type"], refreshed["team"]["id"], refreshed["scope"]) == (
        "bot",
        ACME,
        answer["scope"],
    )
    assert refreshed["refresh_token"] != answer["refresh_token"]
    assert WebClient(token=refreshed["access_token"], base_url=sandbox.api_url).auth_test()["team_id"] == ACME
    assert slack_error(lambda: app.oauth_v2_access(**refresh)) == "invalid_refresh_token"


def test_uninstalling_revokes_the_workspaces_tokens_only(sandbox, app, globex):
    sandbox.oauth.token_rotation = True
    acme_answer, globex_answer = install(sandbox, app), install(sandbox, app, globex.team_id)
    sandbox.uninstall(ACME)
    revoked = WebClient(token=acme_answer["access_token"], base_url=sandbox.api_url)
    assert slack_error(revoked.auth_test) == "token_revoked"
    assert WebClient(token=globex_answer["access_token"], base_url=sandbox.api_url).auth_test()["ok"]
    refresh = {
        "client_id": sandbox.oauth.client_id,
        "client_secret": sandbox.oauth.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": acme_answer["refresh_token"],
    }
    assert slack_error(lambda: app.oauth_v2_access(**refresh)) == "invalid_refresh_token"
    again = install(sandbox, app)
    assert WebClient(token=again["access_token"], base_url=sandbox.api_url).auth_test()["team_id"] == ACME
    assert slack_error(revoked.auth_test) == "token_revoked"
