"""The sandbox's side of Slack's OAuth v2 install flow and token rotation.

An install is driven by the test, as a person in a browser would: the bot's /slack/install
redirects to Slack's authorize page; `approve` plays the person approving it for a chosen
workspace and returns what Slack would put in the redirect back to the bot (a code and the
state); the bot exchanges the code at `oauth.v2.access`. With token rotation on, bot tokens
expire and come with a refresh token, used once to get the next pair.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.workspace import SandboxWorkspace

AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
CODE_TTL_SECONDS = 600
DEFAULT_TOKEN_LIFETIME_SECONDS = 12 * 3600


class OAuthError(Exception):
    """A Slack error code answered by oauth.v2.access (or a token check)."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


@dataclass
class _Code:
    team_id: str
    installer: str
    scopes: str
    redirect_uri: str | None
    issued_at: float
    used: bool = False


@dataclass
class _Token:
    team_id: str
    expires_at: float | None
    """None: a token that lasts until the app is uninstalled (token rotation off)."""
    revoked: bool = False


class SandboxOAuth:
    """The app's client credentials and every token its installations were given.

    `token_rotation` and `token_lifetime_seconds` are the app's settings; change them at any time
    (they apply to the next token issued).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.client_id = "1234567890.0987654321"
        self.client_secret = "sandbox-client-secret"
        self.token_rotation = False
        self.token_lifetime_seconds = DEFAULT_TOKEN_LIFETIME_SECONDS
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, str] = {}
        """Unused refresh token -> team id; using one revokes it."""
        self._scopes_of: dict[str, str] = {}
        """The scopes each workspace granted, for the tokens refreshed later."""
        self._numbers = itertools.count(1)

    def approve(self, authorize_url: str, workspace: SandboxWorkspace, installer: str) -> dict[str, str]:
        """A person approves the install shown at `authorize_url` for `workspace`: the query (code and
        state) Slack's redirect back to the app carries. Raises ValueError for a URL Slack would not
        show, as its authorize page would refuse it."""
        url = urlsplit(authorize_url)
        if f"{url.scheme}://{url.netloc}{url.path}" != AUTHORIZE_URL:
            raise ValueError(f"not Slack's authorize page: {authorize_url}")
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if query.get("client_id") != self.client_id:
            raise ValueError("invalid_client_id")
        if workspace.user(installer) is None:
            raise ValueError(f"{installer} is not in {workspace.team_id}")
        code = f"{next(self._numbers)}.{secrets.token_hex(12)}"
        self._codes[code] = _Code(
            workspace.team_id, installer, query.get("scope", ""), query.get("redirect_uri"), self.clock()
        )
        return {"code": code, "state": query.get("state", "")}

    def access(
        self,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        workspaces: Mapping[str, SandboxWorkspace],
    ) -> dict[str, Any]:
        """oauth.v2.access: a code exchanged for an installation, or a refresh token for new tokens."""
        client_id, client_secret = _client_credentials(params, headers)
        if client_id != self.client_id:
            raise OAuthError("invalid_client_id")
        if client_secret != self.client_secret:
            raise OAuthError("bad_client_secret")
        grant_type = params.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return self._refresh(str(params.get("refresh_token") or ""), workspaces)
        if grant_type != "authorization_code":
            raise OAuthError("invalid_grant_type")
        code = self._codes.get(str(params.get("code") or ""))
        if code is None or self.clock() - code.issued_at > CODE_TTL_SECONDS:
            raise OAuthError("invalid_code")
        if code.used:
            raise OAuthError("code_already_used")
        if code.redirect_uri and params.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("bad_redirect_uri")
        code.used = True
        workspace = workspaces[code.team_id]
        return {
            **self._bot_token(workspace, code.scopes),
            "authed_user": {"id": code.installer},
        }

    def _refresh(self, refresh_token: str, workspaces: Mapping[str, SandboxWorkspace]) -> dict[str, Any]:
        team_id = self._refresh_tokens.pop(refresh_token, None)
        if team_id is None:
            raise OAuthError("invalid_refresh_token")
        workspace = workspaces[team_id]
        return self._bot_token(workspace, self._scopes_of.get(team_id, ""))

    def _bot_token(self, workspace: SandboxWorkspace, scopes: str) -> dict[str, Any]:
        """A new bot token for `workspace`, in the fields both kinds of oauth.v2.access answer share."""
        number = next(self._numbers)
        self._scopes_of[workspace.team_id] = scopes
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": workspace.app_id,
            "scope": scopes,
            "token_type": "bot",
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if not self.token_rotation:
            token = f"xoxb-{workspace.team_id.lower()}-{number}-{secrets.token_hex(8)}"
            self._tokens[token] = _Token(workspace.team_id, None)
            return {**answer, "access_token": token}
        token = f"xoxe.xoxb-1-{number}-{secrets.token_hex(12)}"
        refresh_token = f"xoxe-1-{number}-{secrets.token_hex(12)}"
        self._tokens[token] = _Token(workspace.team_id, self.clock() + self.token_lifetime_seconds)
        self._refresh_tokens[refresh_token] = workspace.team_id
        return {
            **answer,
            "access_token": token,
            "refresh_token": refresh_token,
            "expires_in": self.token_lifetime_seconds,
        }

    def team_of(self, token: str) -> str | None:
        """The workspace an issued token acts for; None for a token never issued. Raises OAuthError
        for one revoked (`token_revoked`) or expired (`token_expired`)."""
        issued = self._tokens.get(token)
        if issued is None:
            return None
        if issued.revoked:
            raise OAuthError("token_revoked")
        if issued.expires_at is not None and self.clock() >= issued.expires_at:
            raise OAuthError("token_expired")
        return issued.team_id

    def revoke(self, team_id: str) -> None:
        """The app was uninstalled from the workspace: every token and refresh token issued there stops
        working (a workspace's own `bot_token`, for the single-token mode, is not an OAuth token)."""
        for token in self._tokens.values():
            token.revoked = token.revoked or token.team_id == team_id
        for refresh_token, team in list(self._refresh_tokens.items()):
            if team == team_id:
                del self._refresh_tokens[refresh_token]


def _client_credentials(params: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
    """The client id and secret, from HTTP Basic auth (as slack_sdk sends them) or the parameters."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return "", ""
        return client_id, client_secret
    return str(params.get("client_id") or ""), str(params.get("client_secret") or "")
