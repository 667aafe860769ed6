"""Leaving a workspace in process (many workspaces, OAuth): installed through Bolt's OAuth flow, then
`app_uninstalled` or a revoked bot token forgets the installation; a revoked user token does not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime.settings import Settings
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import BOT_USER_ID, OWNER
from storage.models import SLACK_INSTALLATIONS, Base, Workspace
from tests.conversation import oauth_settings, set_up_workspace

ACME = "T0ACME001"


@pytest.fixture
def settings(sandbox: SlackSandbox, database_url: str) -> Settings:
    return oauth_settings(sandbox, database_url)


@pytest.fixture
def installed(bot, driver):
    assert driver.install().status == 200
    assert installed_teams(bot) == [ACME]


def installed_teams(bot) -> list[str]:
    with bot.database.engine.connect() as connection:
        return [row.team_id for row in connection.execute(select(Base.metadata.tables[SLACK_INSTALLATIONS]))]


@pytest.mark.parametrize(
    "farewell",
    [
        pytest.param({"type": "app_uninstalled"}, id="app_uninstalled"),
        pytest.param({"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}}, id="tokens_revoked"),
    ],
)
def test_leaving_forgets_the_installation_and_stops_the_workspace(
    bot, driver, sandbox, clock, installed, farewell
):
    set_up_workspace(bot, driver)
    sandbox.uninstall(ACME)
    assert driver.event(farewell).status == 200
    assert bot.wait_idle()
    assert installed_teams(bot) == []
    with bot.database.session() as session:
        assert session.get(Workspace, ACME).uninstalled_at == clock.now()


def test_revoking_only_user_tokens_leaves_the_workspace_installed(bot, driver, installed):
    assert driver.event({"type": "tokens_revoked", "tokens": {"oauth": [OWNER]}}).status == 200
    assert bot.wait_idle()
    assert installed_teams(bot) == [ACME]
