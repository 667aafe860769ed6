"""Many workspaces: Slack's OAuth install flow, each workspace's own bot token (refreshed before it
expires when the app rotates tokens), and uninstalling, which stops everything for that workspace.

Installations and install states live in slack_sdk's SQLAlchemy stores on the bot's own database,
in tables our migrations create (see `storage.models`). Listeners and runners get their tokens the
same way, from `bot_installation`, so a token is refreshed in one place, by one process at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

from slack_bolt import BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.domain.clock import Clock
from bot.slack.manifest import bot_scopes
from storage import installations as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import SLACK_OAUTH_STATES

logger = logging.getLogger(__name__)

#: A rotating token is refreshed this long before it expires (Bolt's own default).
REFRESH_MINUTES_BEFORE_EXPIRY = 120
#: How long an installer has between /slack/install and Slack sending them back.
INSTALL_STATE_SECONDS = 600


class Installations:
    """The app's installations, one per workspace; `client_for` is the runners' per-workspace client."""

    def __init__(
        self,
        credentials: tuple[str, str, str | None],
        database: Database,
        clock: Clock,
        new_client: Callable[[str | None], WebClient],
    ) -> None:
        """`credentials` are the app's client id, client secret and redirect URI; `new_client(token)` builds
        a Web API client like the app's own (its API URL, retries, metrics)."""
        self.client_id, self.client_secret, self.redirect_uri = credentials
        self.database = database
        self.clock = clock
        self.new_client = new_client
        self.store = store.InstallationStore(self.client_id, database.engine)
        self.states = InstallStates(database, clock)
        self.rotator = TokenRotator(
            client_id=self.client_id, client_secret=self.client_secret, client=new_client(None)
        )
        self._refreshing = threading.Lock()

    # ----- tokens ------------------------------------------------------------------------------------

    def bot_installation(self, team_id: str) -> Installation | None:
        """The workspace's installation, its bot token refreshed first if it is about to expire.

        A refresh that fails leaves the current token, which is still valid for up to two hours.
        """
        installation = store.latest_installation(self.database.engine, self.client_id, team_id)
        if installation is None or not _expiring(installation):
            return installation
        with self._refreshing, store.token_refresh_lock(self.database.engine, team_id):
            installation = store.latest_installation(self.database.engine, self.client_id, team_id)
            if installation is None or not _expiring(installation):
                return installation  # refreshed meanwhile, by another thread or replica
            try:
                refreshed = self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=REFRESH_MINUTES_BEFORE_EXPIRY
                )
            except SlackTokenRotationError as error:
                logger.error("workspace %s: refreshing the bot token failed: %s", team_id, error.api_error)
                return installation
            if refreshed is None:
                return installation
            self.store.save(refreshed)
            logger.info("workspace %s: bot token refreshed", team_id)
            return refreshed

    def client_for(self, team_id: str) -> WebClient:
        """A client with the workspace's bot token. Without an installation it has no token, so each
        call fails with Slack's `not_authed`, recorded like any refusal, and other workspaces go on."""
        installation = self.bot_installation(team_id)
        if installation is None:
            logger.warning("workspace %s has no installation: its messages fail with not_authed", team_id)
        return self.new_client(installation.bot_token if installation else None)

    # ----- installing and uninstalling ---------------------------------------------------------------

    def oauth_settings(self, installed: Callable[[], None]) -> OAuthSettings:
        """Bolt's install flow on our stores: /slack/install redirects to Slack's authorize page; Slack
        sends the installer back to /slack/oauth_redirect. `installed` runs after each installation."""

        def success(args: SuccessArgs) -> BoltResponse:
            with self.database.session() as session:
                workspace_store.set_uninstalled(session, args.installation.team_id, None)
            logger.info("installed in workspace %s", args.installation.team_id)
            installed()
            return args.default.success(args)

        def failure(args: FailureArgs) -> BoltResponse:
            logger.warning("an installation was refused: %s", args.reason)
            return args.default.failure(args)

        return OAuthSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=bot_scopes(),
            user_scopes=[],
            redirect_uri=self.redirect_uri,
            install_page_rendering_enabled=False,
            installation_store=self.store,
            state_store=self.states,
            state_expiration_seconds=INSTALL_STATE_SECONDS,
            callback_options=CallbackOptions(success=success, failure=failure),
        )

    def uninstall(self, enterprise_id: str | None, team_id: str) -> None:
        """The app was uninstalled, or its bot token revoked: every runner skips the workspace from now
        on, what it was still to get is dropped, and its installation is forgotten."""
        with self.database.session() as session:
            store.uninstalled(session, team_id, self.clock.now())
        self.store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        logger.info("uninstalled from workspace %s: its schedules stopped", team_id)

    def authorize(self) -> Authorize:
        """Bolt's authorization of each request from Slack, with the token `bot_installation` gives."""
        return _InstallationAuthorize(self)


class InstallStates(SQLAlchemyOAuthStateStore):
    """slack_sdk's install states on the bot's clock. Each new state deletes a batch of expired ones,
    so however often /slack/install is called, by whom and on which replica, the table holds only
    the states of the last INSTALL_STATE_SECONDS; an expired state is refused at the callback."""

    def __init__(self, database: Database, clock: Clock) -> None:
        super().__init__(INSTALL_STATE_SECONDS, database.engine, table_name=SLACK_OAUTH_STATES)
        self.clock = clock

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = str(uuid4())
        now = self.clock.now()
        store.issue_state(self.engine, state, now, now + timedelta(seconds=self.expiration_seconds))
        return state

    def consume(self, state: str) -> bool:
        return store.consume_state(self.engine, state, self.clock.now())


class _InstallationAuthorize(Authorize):
    def __init__(self, installations: Installations) -> None:
        super().__init__()
        self.installations = installations

    def __call__(
        self, *, context: Any, enterprise_id: str | None, team_id: str | None, user_id: str | None, **_
    ) -> AuthorizeResult | None:
        installation = self.installations.bot_installation(team_id) if team_id else None
        if installation is None or installation.bot_token is None:
            return None
        return AuthorizeResult(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            team=installation.team_name,
            bot_user_id=installation.bot_user_id,
            bot_id=installation.bot_id,
            bot_token=installation.bot_token,
            bot_scopes=installation.bot_scopes,
            user_id=user_id,
        )


def _expiring(installation: Installation) -> bool:
    """Whether a rotating bot token is within the refresh margin of its expiry (a lasting one never is)."""
    expires_at = installation.bot_token_expires_at
    return expires_at is not None and expires_at <= time.time() + REFRESH_MINUTES_BEFORE_EXPIRY * 60
