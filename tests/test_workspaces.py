"""Many workspaces (OAuth): the install flow, each workspace's own token (refreshed before it expires),
nothing of one workspace ever reaching another whatever ids a payload carries, and uninstalling, which
stops everything for that workspace at once — the bot over HTTP against the sandbox, on both stores."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select, update

from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import (
    GLOBEX_BOT_USER_ID,
    GLOBEX_LEADERSHIP_CHANNEL,
    GLOBEX_MARKETERS,
    GLOBEX_MARKETING_CHANNEL,
    GLOBEX_OWNER,
    GLOBEX_SALES_CHANNEL,
    GLOBEX_SALESPEOPLE,
    LEADERSHIP_CHANNEL,
    OWNER,
    SALES_CHANNEL,
    SALESPEOPLE,
    SandboxWorkspace,
    globex_workspace,
)
from bot.slack import manifest
from bot.slack.installations import INSTALL_STATE_SECONDS
from storage.installations import APP_UNINSTALLED
from storage.models import (
    SLACK_BOTS,
    SLACK_INSTALLATIONS,
    SLACK_OAUTH_STATES,
    Answer,
    Base,
    Comment,
    Delivery,
    DigestPost,
    PostStatus,
    Workspace,
)
from tests.conversation import (
    ELIGIBLE,
    FIRST_ROUND,
    MARKETING_TEAM,
    MEETING_INPUTS,
    MONDAY_9_BERLIN,
    PULSE_INPUTS,
    ROUND_CLOSES,
    SALES_TEAM,
    answer_round,
    command,
    oauth_settings,
    open_home,
    open_modal,
    pulse_dms,
    run_at,
    set_up_workspace,
    text_of,
)

ACME, GLOBEX = "T0ACME001", "T1GLOBEX1"
GLOBEX_PEOPLE = (*GLOBEX_SALESPEOPLE, *GLOBEX_MARKETERS)
GLOBEX_SETUP = {
    "sales_channels": [GLOBEX_SALES_CHANNEL],
    "marketing_channels": [GLOBEX_MARKETING_CHANNEL],
    "leadership_channel": GLOBEX_LEADERSHIP_CHANNEL,
    "timezone": "Europe/Paris",
    "anonymity_threshold": "3",
}
#: Tuesdays at 10:00 in Paris: the same instant as Acme's pulse (10:00 in Berlin).
GLOBEX_PULSE = {**PULSE_INPUTS, "timezone": "Europe/Paris"}
#: Thursdays at 10:00 in Paris, reminded 24 h and 15 min before: first reminder Wed 4 March, 09:00 UTC.
GLOBEX_MEETING = {
    **MEETING_INPUTS,
    "timezone": "Europe/Paris",
    "channels": [GLOBEX_SALES_CHANNEL, GLOBEX_MARKETING_CHANNEL],
    "owner": GLOBEX_SALESPEOPLE[0],
}
#: Parameters naming a person or a conversation in the Web API methods the bot calls.
ID_PARAMS = ("channel", "channel_id", "channels", "user", "users", "user_id")


@pytest.fixture
def settings(sandbox: SlackSandbox, database_url: str) -> Settings:
    return oauth_settings(sandbox, database_url)


@pytest.fixture
def globex(sandbox: SlackSandbox) -> SandboxWorkspace:
    return sandbox.add_workspace(globex_workspace())


@pytest.fixture
def acme(driver: SlackDriver) -> SlackDriver:
    """Acme's people, once Acme's owner installed the app."""
    assert driver.install().status == 200
    return driver


@pytest.fixture
def globex_driver(driver: SlackDriver, globex: SandboxWorkspace) -> SlackDriver:
    """Globex's people, once Globex's owner installed the app."""
    installed = driver.for_workspace(globex)
    assert installed.install().status == 200
    return installed


def installations(bot, table: str = SLACK_INSTALLATIONS) -> list[dict[str, Any]]:
    with bot.database.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(Base.metadata.tables[table])).mappings()]


def rows_of(bot, team_id: str) -> dict[str, list[str]]:
    """Every row the database holds for one workspace, table by table."""
    with bot.database.session() as session:
        return {
            table.name: sorted(
                repr(tuple(row)) for row in session.execute(select(table).where(table.c.team_id == team_id))
            )
            for table in Base.metadata.sorted_tables
            if "team_id" in table.c
        }


def named_ids(call) -> list[str]:
    return [value for key in ID_PARAMS for value in str(call.params.get(key) or "").split(",") if value]


def belongs(workspace: SandboxWorkspace, some_id: str) -> bool:
    """Whether a person or conversation (a DM's id stands for its person) is in the workspace."""
    person = "U" + some_id[1:] if some_id.startswith("D") else some_id
    return workspace.user(person) is not None or workspace.channel(some_id) is not None


def assert_each_call_stays_in_its_workspace(sandbox: SlackSandbox) -> None:
    """Every call made with a workspace's token names only that workspace's people and channels."""
    for call in sandbox.calls:
        if call.method == "oauth.v2.access":
            continue  # the app's own credentials, no workspace's token
        workspace = sandbox.workspaces[call.team_id]
        assert all(belongs(workspace, some_id) for some_id in named_ids(call)), (call.method, call.params)
        assert (call.response or {}).get("error") not in ("channel_not_found", "user_not_found"), call


def set_up_both(bot, acme: SlackDriver, globex_driver: SlackDriver) -> None:
    """Acme (threshold 5, Berlin) and Globex (threshold 3, Paris) set up, each with a weekly pulse."""
    set_up_workspace(bot, acme)
    set_up_workspace(bot, globex_driver, admin=GLOBEX_OWNER, **GLOBEX_SETUP)
    for driver, admin, inputs in ((acme, OWNER, PULSE_INPUTS), (globex_driver, GLOBEX_OWNER, GLOBEX_PULSE)):
        response = driver.submit_view(admin, open_modal(bot, driver, admin, "pulse add"), inputs)
        assert response.status == 200 and response.body == "", response.body
    assert bot.wait_idle()


# ----- installing ----------------------------------------------------------------------------------


def test_installing_stores_the_installation_in_the_bots_own_tables(bot, driver, sandbox):
    start = driver.browse("/slack/install")
    assert start.status == 302
    authorize = urlsplit(start.headers["Location"])
    assert (authorize.netloc, authorize.path) == ("slack.com", "/oauth/v2/authorize")
    query = parse_qs(authorize.query)
    assert query["client_id"] == [sandbox.oauth.client_id]
    assert query["scope"][0].split(",") == manifest.bot_scopes()
    approved = sandbox.approve_install(start.headers["Location"], ACME)
    assert approved["state"] == query["state"][0]
    done = driver.browse(f"/slack/oauth_redirect?{urlencode(approved)}", cookie=start.headers["Set-Cookie"])
    assert done.status == 200 and "Thank you!" in done.body
    (exchange,) = sandbox.calls_to("oauth.v2.access")
    (installed,) = installations(bot)
    assert (installed["team_id"], installed["user_id"], installed["bot_user_id"]) == (
        ACME,
        OWNER,
        "U0ALIGNBOT",
    )
    assert installed["bot_token"] == exchange.response["access_token"]
    assert installed["bot_refresh_token"] is None and installed["bot_token_expires_at"] is None
    assert [bot_row["team_id"] for bot_row in installations(bot, SLACK_BOTS)] == [ACME]
    assert "what you can do" in text_of(command(bot, driver, SALESPEOPLE[0], "help")[0])
    assert {call.team_id for call in sandbox.calls_to("users.info")} == {ACME}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda approved, cookie: ({**approved, "state": "forged"}, cookie), id="unknown state"),
        pytest.param(lambda approved, cookie: (approved, None), id="state from another browser"),
        pytest.param(lambda approved, cookie: ({**approved, "code": "123.forged"}, cookie), id="bad code"),
    ],
)
def test_a_bad_state_or_code_is_refused_and_stores_nothing(bot, driver, sandbox, tamper):
    start = driver.browse("/slack/install")
    approved = sandbox.approve_install(start.headers["Location"], ACME)
    query, cookie = tamper(approved, start.headers["Set-Cookie"])
    refused = driver.browse(f"/slack/oauth_redirect?{urlencode(query)}", cookie=cookie)
    assert refused.status in (400, 401)
    assert "Thank you!" not in refused.body
    assert installations(bot) == [] and installations(bot, SLACK_BOTS) == []
    assert driver.slash_command(SALESPEOPLE[0], "help").status == 200  # Bolt: no installation, no listener
    assert bot.wait_idle()
    assert sandbox.calls_to("users.info") == []


def test_an_install_cannot_be_replayed(bot, driver, sandbox):
    start = driver.browse("/slack/install")
    approved = sandbox.approve_install(start.headers["Location"], ACME)
    redirect = f"/slack/oauth_redirect?{urlencode(approved)}"
    assert driver.browse(redirect, cookie=start.headers["Set-Cookie"]).status == 200
    assert driver.browse(redirect, cookie=start.headers["Set-Cookie"]).status == 401  # the state is used up
    assert len(installations(bot)) == 1


@pytest.mark.parametrize(
    ("waited", "status"),
    [
        pytest.param(timedelta(seconds=INSTALL_STATE_SECONDS - 1), 200, id="within ten minutes"),
        pytest.param(timedelta(seconds=INSTALL_STATE_SECONDS), 401, id="after ten minutes"),
    ],
)
def test_an_install_state_lasts_ten_minutes(bot, driver, sandbox, clock, waited, status):
    start = driver.browse("/slack/install")
    approved = sandbox.approve_install(start.headers["Location"], ACME)
    clock.advance(waited)
    done = driver.browse(f"/slack/oauth_redirect?{urlencode(approved)}", cookie=start.headers["Set-Cookie"])
    assert done.status == status
    assert len(installations(bot)) == (status == 200)


def test_a_flood_of_install_requests_leaves_only_the_states_of_the_last_ten_minutes(bot, driver, clock):
    issued: list[datetime] = []  # when each state was issued
    for _wave in range(5):  # 500 requests nobody completes, 100 every 4 minutes
        for _ in range(100):
            assert driver.browse("/slack/install").status == 302
        issued += [clock.now()] * 100
        last_ten_minutes = [
            at for at in issued if at > clock.now() - timedelta(seconds=INSTALL_STATE_SECONDS)
        ]
        assert len(installations(bot, SLACK_OAUTH_STATES)) == len(last_ten_minutes)
        clock.advance(timedelta(minutes=4))
    assert len(last_ten_minutes) == 300


# ----- two workspaces ------------------------------------------------------------------------------


def test_two_workspaces_each_see_only_their_own(bot, sandbox, clock, acme, globex_driver):
    set_up_both(bot, acme, globex_driver)
    report = run_at(bot, clock, FIRST_ROUND)
    assert report.rounds_started == 2 and report.sent == len(ELIGIBLE) + len(GLOBEX_PEOPLE)
    answer_round(bot, acme, sandbox, SALES_TEAM, score=2)
    answer_round(bot, acme, sandbox, MARKETING_TEAM, score=4)
    answer_round(bot, globex_driver, sandbox, GLOBEX_SALESPEOPLE, score=5)
    answer_round(bot, globex_driver, sandbox, GLOBEX_MARKETERS, score=3)
    run_at(bot, clock, ROUND_CLOSES)  # both rounds close: figures count them from now on

    acme_preview = text_of(command(bot, acme, OWNER, "digest preview")[0])
    globex_preview = text_of(command(bot, globex_driver, GLOBEX_OWNER, "digest preview")[0])
    assert "score 60 of 100" in acme_preview and "score 80 of 100" in globex_preview

    command(bot, acme, OWNER, "export")
    command(bot, globex_driver, GLOBEX_OWNER, "export")
    exports = {f.channels[0]: f for f in sandbox.files.values() if f.name.endswith(".csv")}
    for admin, everyone in ((OWNER, "60.0"), (GLOBEX_OWNER, "80.0")):
        rows = csv.DictReader(io.StringIO(exports[sandbox.dm_channel_for(admin)].content.decode("utf-8-sig")))
        overall = {
            r["group"]: r["score"] for r in rows if r["level"] == "overall" and r["week"] == "2026-03-05"
        }
        assert overall["everyone"] == everyone

    open_home(bot, acme, SALESPEOPLE[0])
    open_home(bot, globex_driver, GLOBEX_SALESPEOPLE[0])
    assert "60 of 100" in text_of(sandbox.home_views[SALESPEOPLE[0]].view)
    assert "80 of 100" in text_of(sandbox.home_views[GLOBEX_SALESPEOPLE[0]].view)

    clock.set(MONDAY_9_BERLIN)  # 09:00 in Paris too: both digests at once
    assert bot.digests.run_due() == 2
    for channel, score in (
        (LEADERSHIP_CHANNEL, "score 60 of 100"),
        (GLOBEX_LEADERSHIP_CHANNEL, "score 80 of 100"),
    ):
        (digest,) = [m for m in sandbox.messages_in(channel) if m.thread_ts is None]
        assert score in text_of({"blocks": digest.blocks})

    with bot.database.session() as session:
        for model in (Delivery, Answer):
            for row in session.scalars(select(model)):
                assert row.team_id == sandbox.workspace_of_user(row.user_id).team_id
        posts = {(p.team_id, p.destination) for p in session.scalars(select(DigestPost))}
    assert posts == {(ACME, LEADERSHIP_CHANNEL), (GLOBEX, GLOBEX_LEADERSHIP_CHANNEL)}
    assert_each_call_stays_in_its_workspace(sandbox)


def test_a_payload_from_one_workspace_naming_another_changes_and_reveals_nothing(
    bot, sandbox, clock, acme, globex_driver
):
    set_up_both(bot, acme, globex_driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, acme, sandbox, SALES_TEAM, score=2)
    answer_round(bot, acme, sandbox, MARKETING_TEAM, score=4)
    run_at(bot, clock, ROUND_CLOSES)  # figures count a round once it closes: Monday's digest has nudges
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    (digest,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    nudge = next(
        e for b in digest.blocks if b.get("block_id", "").startswith("nudge:") for e in b["elements"]
    )
    run_at(bot, clock, FIRST_ROUND + timedelta(weeks=1))  # the next round, open while the attack runs
    victim, attacker = SALESPEOPLE[0], GLOBEX_SALESPEOPLE[0]
    dm = pulse_dms(sandbox, victim)[-1]
    comment_button = next(
        e
        for b in dm.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "pulse_comment"
    )
    acme.click(victim, "pulse_comment", comment_button["value"], message={"ts": dm.ts, "channel": dm.channel})
    assert bot.wait_idle()
    secret = "ACME-ONLY: our discount policy is a mess"
    assert acme.submit_view(victim, sandbox.latest_view_for(victim).view, {"comment": secret}).status == 200
    assert bot.wait_idle()
    dm = pulse_dms(sandbox, victim)[-1]
    rating = next(b for b in dm.blocks if b.get("block_id", "").startswith("item:"))
    acme_rows, acme_dm_version = rows_of(bot, ACME), dm.edited_ts
    round_id = int(comment_button["value"])
    sandbox.clear()

    def forged(payload: dict, user_id: str) -> None:
        """Globex's signed payload, its user id replaced by `user_id` (as though an attacker could)."""
        payload["user"]["id"] = user_id
        globex_driver.interaction(payload)  # its status depends on how soon the listener fails, after ack()
        assert bot.wait_idle()

    strongly_agree = rating["elements"][4]
    for user_id in (attacker, victim):
        tap_payload = globex_driver.button_payload(
            attacker, strongly_agree["action_id"], strongly_agree["value"], rating["block_id"]
        )
        forged(tap_payload, user_id)
        forged(globex_driver.button_payload(attacker, "pulse_department:marketing", str(round_id)), user_id)
        forged(globex_driver.button_payload(attacker, "pulse_comment", str(round_id)), user_id)
    modal = sandbox.latest_view_for(attacker).view
    assert secret not in json.dumps(modal)
    stolen = {
        **modal,
        "private_metadata": json.dumps({"round_id": round_id, "channel": dm.channel, "ts": dm.ts}),
    }
    forged(globex_driver.submission_payload(attacker, stolen, {"comment": "overwritten"}), victim)
    globex_driver.click(
        GLOBEX_OWNER, "nudge_snooze", nudge["value"], "nudge:1", channel_id=GLOBEX_LEADERSHIP_CHANNEL
    )
    assert bot.wait_idle()
    setup = open_modal(bot, globex_driver, GLOBEX_OWNER, "setup")
    hijack = {
        **GLOBEX_SETUP,
        "sales_channels": [SALES_CHANNEL],
        "leadership_channel": LEADERSHIP_CHANNEL,
        "admins": [OWNER],
    }
    assert globex_driver.submit_view(GLOBEX_OWNER, setup, hijack).status == 200
    assert globex_driver.event({"type": "app_home_opened", "user": victim, "tab": "home"}).status == 200
    assert bot.wait_idle()

    assert rows_of(bot, ACME) == acme_rows
    assert pulse_dms(sandbox, victim)[-1].edited_ts == acme_dm_version
    with bot.database.session() as session:
        assert session.get(Comment, (round_id, victim)).text == secret
    for call in sandbox.calls:
        assert call.team_id == GLOBEX, call
        if any(belongs(sandbox.workspace, some_id) for some_id in named_ids(call)):
            assert call.response["ok"] is False, (call.method, call.params)  # Slack: not found
    recorded = json.dumps([c.params for c in sandbox.calls] + [p.body for p in sandbox.response_url_posts])
    assert secret not in recorded


# ----- token rotation ------------------------------------------------------------------------------


def test_a_token_about_to_expire_is_refreshed_before_a_runner_posts(bot, driver, sandbox, clock):
    sandbox.oauth.token_rotation = True
    driver.install()
    (installed,) = installations(bot)
    first_token, first_refresh = installed["bot_token"], installed["bot_refresh_token"]
    assert first_token.startswith("xoxe.xoxb-") and first_refresh.startswith("xoxe-1-")
    set_up_workspace(bot, driver)
    response = driver.submit_view(OWNER, open_modal(bot, driver, OWNER, "pulse add"), PULSE_INPUTS)
    assert response.status == 200 and bot.wait_idle()
    assert len(sandbox.calls_to("oauth.v2.access")) == 1  # the install only: 12 hours left
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=10)
    table = Base.metadata.tables[SLACK_INSTALLATIONS]
    with bot.database.engine.begin() as connection:
        connection.execute(update(table).values(bot_token_expires_at=soon))
    before_the_round = len(sandbox.calls)

    assert run_at(bot, clock, FIRST_ROUND).sent == len(ELIGIBLE)

    refreshes = sandbox.calls_to("oauth.v2.access")[1:]
    assert len(refreshes) == 1  # once, though four threads were sending
    assert (refreshes[0].params["grant_type"], refreshes[0].params["refresh_token"]) == (
        "refresh_token",
        first_refresh,
    )
    new_token = refreshes[0].response["access_token"]
    (stored,) = installations(bot)
    assert (stored["bot_token"], stored["bot_refresh_token"]) == (
        new_token,
        refreshes[0].response["refresh_token"],
    )
    assert stored["bot_token_expires_at"] > soon + timedelta(hours=11)
    posts = [call for call in sandbox.calls[before_the_round:] if call.method == "chat.postMessage"]
    assert posts and {c.headers["Authorization"] for c in posts} == {f"Bearer {new_token}"}
    assert "what you can do" in text_of(command(bot, driver, SALESPEOPLE[0], "help")[0])
    assert sandbox.calls_to("users.info")[-1].headers["Authorization"] == f"Bearer {new_token}"


# ----- uninstalling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "farewell",
    [
        pytest.param({"type": "app_uninstalled"}, id="app_uninstalled"),
        pytest.param(
            {"type": "tokens_revoked", "tokens": {"bot": [GLOBEX_BOT_USER_ID]}}, id="tokens_revoked"
        ),
    ],
)
def test_uninstalling_stops_everything_for_that_workspace_at_once(
    bot, sandbox, clock, acme, globex_driver, farewell
):
    set_up_both(bot, acme, globex_driver)
    modal = open_modal(bot, globex_driver, GLOBEX_OWNER, "meeting add")
    assert globex_driver.submit_view(GLOBEX_OWNER, modal, GLOBEX_MEETING).status == 200
    run_at(bot, clock, FIRST_ROUND)  # both rounds go out
    command(bot, globex_driver, GLOBEX_OWNER, "pulse now Weekly")
    bot.runner.stopping.set()  # Globex's extra round: its people are written down, nothing sent yet
    run_at(bot, clock, FIRST_ROUND + timedelta(minutes=5))
    bot.runner.stopping.clear()

    sandbox.uninstall(GLOBEX)
    assert globex_driver.event(farewell).status == 200
    assert bot.wait_idle()
    assert {row["team_id"] for row in installations(bot)} == {ACME}
    assert {row["team_id"] for row in installations(bot, SLACK_BOTS)} == {ACME}
    with bot.database.session() as session:
        assert session.get(Workspace, GLOBEX).uninstalled_at == clock.now()
        assert session.get(Workspace, ACME).uninstalled_at is None
    after_uninstall = len(sandbox.calls)

    assert run_at(bot, clock, FIRST_ROUND + timedelta(minutes=5)).sent == 0
    assert run_at(bot, clock, FIRST_ROUND + timedelta(days=1, minutes=1)).reminders == len(ELIGIBLE)
    assert bot.meetings.run_due().reminders == 0  # Globex's first reminder was due now
    assert run_at(bot, clock, FIRST_ROUND + timedelta(days=2, minutes=1)).rounds_closed == 1
    clock.set(MONDAY_9_BERLIN)
    assert bot.digests.run_due() == 1
    assert {call.team_id for call in sandbox.calls[after_uninstall:]} == {ACME}
    assert all(len(pulse_dms(sandbox, person)) == 1 for person in GLOBEX_PEOPLE)  # the first round only
    with bot.database.session() as session:
        waiting = session.scalars(
            select(Delivery).where(Delivery.team_id == GLOBEX, Delivery.sent_at.is_(None))
        )
        assert {(d.status, d.error) for d in waiting} == {(PostStatus.FAILED, APP_UNINSTALLED)}

    assert globex_driver.install().status == 200
    with bot.database.session() as session:
        assert session.get(Workspace, GLOBEX).uninstalled_at is None
    run_at(bot, clock, FIRST_ROUND + timedelta(days=7))
    assert all(
        len(pulse_dms(sandbox, person)) == 2 for person in GLOBEX_PEOPLE
    )  # and next week's, not the dropped
    assert all(len(pulse_dms(sandbox, person)) == 3 for person in ELIGIBLE)  # two rounds and a reminder


def test_revoking_only_user_tokens_leaves_the_workspace_installed(bot, sandbox, acme):
    assert acme.event({"type": "tokens_revoked", "tokens": {"oauth": [OWNER]}}).status == 200
    assert bot.wait_idle()
    assert [row["team_id"] for row in installations(bot)] == [ACME]


def test_a_workspace_whose_installation_vanished_holds_up_no_other(bot, sandbox, clock, acme, globex_driver):
    set_up_both(bot, acme, globex_driver)
    bot.services.installations.store.delete_all(enterprise_id=None, team_id=GLOBEX)  # its event was lost
    report = run_at(bot, clock, FIRST_ROUND)
    assert report.sent == len(ELIGIBLE)
    refused = {
        call.response["error"]
        for call in sandbox.calls
        if call.team_id is None and call.method != "oauth.v2.access"
    }
    assert refused == {"not_authed"}  # Globex's calls, without a token: its round waits for an installation
