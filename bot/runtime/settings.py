"""Settings from environment variables and an optional `.env` file.

A missing or malformed setting is reported as one line naming the variable
(see `load_settings`), so an operator never has to read a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.vocabulary import SUPPORTED_LANGUAGES
from storage.secrets import SecretBox

SLACK_API_URL = "https://slack.com/api/"
LOG_FORMATS = ("text", "json")
#: A dead leader's session ends within ~20 s (see bot.runtime.leadership);
#: this bound keeps a takeover within 30 s.
MAX_LEADER_CHECK_SECONDS = 10.0
#: Listener threads at most: each may hold a database connection while it works.
MAX_LISTENER_THREADS = 256


#: The digest's trend reaches 19 weeks back (12 points over 8-week windows): keep at least that.
MIN_RETENTION_MONTHS = 6
MAX_RETENTION_MONTHS = 120


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    """With the client id, many workspaces install the bot through Slack's OAuth flow (see `oauth`)."""
    slack_redirect_uri: str | None = None
    """Where Slack sends the installer back (`…/slack/oauth_redirect`); needed only when the app has
    more than one redirect URL."""
    slack_api_url: str = SLACK_API_URL
    hubspot_api_url: str = "https://api.hubapi.com"
    """Where HubSpot's CRM API is (the sandbox's stand-in in tests and the demo)."""
    database_url: str | None = None
    data_dir: Path = Path("data")
    default_language: str = "en"
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    log_format: str = "text"
    leader_check_seconds: float = 5.0
    alignbot_secret_keys: str | None = None
    """Fernet keys, newest first, separated by commas: Slack tokens are stored encrypted with the first."""
    retention_months: int = 0
    """Answers, comments and deliveries older than this many months are deleted, their per-round
    counts kept; 0 keeps everything."""
    away_statuses: str = ""
    """Slack statuses that mean away, comma-separated: `:emoji:` codes and words (empty: the defaults of
    `bot.domain.availability`)."""

    @field_validator("hubspot_api_url")
    @classmethod
    def _hubspot_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.hubapi.com")
        return value.rstrip("/")

    slack_posts_per_minute: int = 300
    """chat.postMessage a minute per workspace the outbox keeps to (Slack's unpublished cap)."""
    slack_distributed_app: bool = False
    """A commercially distributed app outside the Marketplace: conversations.history once a minute."""
    slack_pace_ahead: bool = True
    """Keep to Slack's limits before it complains; off only against a sandbox without limits (tests):
    the outbox then slows down only when told to."""
    listener_threads: int = 64
    """Threads Bolt runs listeners on after `ack()`. Their work is mostly waiting (the database, Slack's
    Web API), not CPU, so many more than the cores: a thread waiting on a round trip costs memory only."""

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError(
                "expected an app-level token (xapp-…) with connections:write, from the app's Basic "
                "Information page; the bot token (xoxb-…) goes in SLACK_BOT_TOKEN"
            )
        return value

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "expected an http(s) URL such as https://alignbot.example.com/slack/oauth_redirect"
            )
        return value

    @field_validator("alignbot_secret_keys")
    @classmethod
    def _secret_keys(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            SecretBox(value.split(","))
        except ValueError:
            raise ValueError(
                "expected Fernet keys (32 url-safe base64-encoded bytes each), newest first, separated by "
                "commas; `alignbot secrets new-key` makes one"
            ) from None
        return value

    @property
    def secret_box(self) -> SecretBox | None:
        """What the tokens stored in the database are encrypted with; None without keys."""
        return SecretBox(self.alignbot_secret_keys.split(",")) if self.alignbot_secret_keys else None

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA timezone such as Europe/Berlin") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("retention_months")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value != 0 and not MIN_RETENTION_MONTHS <= value <= MAX_RETENTION_MONTHS:
            raise ValueError(
                f"expected 0 (keep everything) or {MIN_RETENTION_MONTHS}–{MAX_RETENTION_MONTHS} months; "
                "the digest and its trend read the last five months"
            )
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in LOG_FORMATS:
            raise ValueError("expected text or json")
        return value.lower()

    @field_validator("slack_posts_per_minute")
    @classmethod
    def _posts_per_minute(cls, value: int) -> int:
        if value < 1:
            raise ValueError("expected a positive number of messages a minute")
        return value

    @field_validator("listener_threads")
    @classmethod
    def _listener_threads(cls, value: int) -> int:
        if not 1 <= value <= MAX_LISTENER_THREADS:
            raise ValueError(f"expected a number of threads between 1 and {MAX_LISTENER_THREADS}")
        return value

    @field_validator("leader_check_seconds")
    @classmethod
    def _leader_check_seconds(cls, value: float) -> float:
        if not 0 < value <= MAX_LEADER_CHECK_SECONDS:
            raise ValueError(f"expected seconds between 0 and {MAX_LEADER_CHECK_SECONDS:g}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("expected sqlite:///path/to/file.db or postgresql+psycopg://user@host/db")
        return value

    @property
    def oauth(self) -> bool:
        """Many workspaces, each installed through Slack's OAuth flow, instead of one bot token."""
        return bool(self.slack_client_id or self.slack_client_secret)

    def require_http_mode(self) -> None:
        """What HTTP mode needs: the signing secret, and either the app's client id and secret (OAuth,
        many workspaces) or the bot token (one workspace)."""
        credentials = ("slack_client_id", "slack_client_secret") if self.oauth else ("slack_bot_token",)
        self.require(*credentials, "slack_signing_secret")

    def require_socket_mode(self) -> None:
        """What Socket Mode needs: the bot token and the app-level token; OAuth needs HTTP mode."""
        if self.oauth:
            raise ConfigError(
                "SLACK_CLIENT_ID / SLACK_CLIENT_SECRET are set: many workspaces (OAuth) need `serve --http`; "
                "unset them for Socket Mode"
            )
        self.require("slack_bot_token", "slack_app_token")

    def server_secret(self, socket_mode: bool) -> str:
        """A secret only this bot's replicas share (what modal metadata is signed with): the signing
        secret over HTTP; in Socket Mode, which needs none, the app-level token (or the client secret)."""
        if socket_mode:
            return self.slack_app_token or self.slack_client_secret or ""
        return self.slack_signing_secret or ""

    @property
    def effective_database_url(self) -> str:
        """The configured database, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'alignbot.db').resolve()}"

    def require(self, *names: str) -> None:
        """Fail with one line per missing credential, before anything starts."""
        for name in names:
            if not getattr(self, name):
                raise ConfigError(f"{name.upper()} is not set: {_EXPECTED[name]}")


_EXPECTED = {
    "slack_bot_token": "expected the bot token (xoxb-…) from the app's OAuth & Permissions page",
    "slack_signing_secret": "expected the signing secret from the app's Basic Information page",
    "slack_app_token": "expected an app-level token (xapp-…) with connections:write, for Socket Mode",
    "slack_client_id": "expected the app's client id (Basic Information page); OAuth needs id and secret",
    "slack_client_secret": "expected the app's client secret (Basic Information page); OAuth needs both",
}


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{name} is invalid: {message}")
        raise ConfigError("\n".join(lines)) from None
