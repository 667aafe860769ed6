"""Settings from environment variables and an optional `.env` file.

A missing or malformed setting is reported as one line naming the variable, so an operator never
has to read a traceback. Read with python-dotenv and the standard library: pydantic-settings would
keep about 9 MB in a server whose whole budget is 100 MB (issue 13).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

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


_CHECKS: dict[str, Callable[[object], object]] = {}
"""Field name → what checks (and normalises) its value, raising ValueError with what was expected."""


def _check(name: str) -> Callable:
    def register(check: Callable) -> Callable:
        _CHECKS[name] = check
        return check

    return register


@_check("hubspot_api_url")
def _hubspot_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL such as https://api.hubapi.com")
    return value.rstrip("/")


@_check("slack_api_url")
def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


@_check("slack_app_token")
def _app_token(value: str | None) -> str | None:
    if value is not None and not value.startswith("xapp-"):
        raise ValueError(
            "expected an app-level token (xapp-…) with connections:write, from the app's Basic "
            "Information page; the bot token (xoxb-…) goes in SLACK_BOT_TOKEN"
        )
    return value


@_check("slack_redirect_uri")
def _redirect_uri(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL such as https://alignbot.example.com/slack/oauth_redirect")
    return value


@_check("alignbot_secret_keys")
def _secret_keys(value: str | None) -> str | None:
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


@_check("default_language")
def _language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise ValueError(f"expected one of {', '.join(SUPPORTED_LANGUAGES)}")
    return value


@_check("default_timezone")
def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA timezone such as Europe/Berlin") from None
    return value


@_check("log_level")
def _log_level(value: str) -> str:
    if value.upper() not in logging.getLevelNamesMapping():
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return value.upper()


@_check("retention_months")
def _retention(value: int) -> int:
    if value != 0 and not MIN_RETENTION_MONTHS <= value <= MAX_RETENTION_MONTHS:
        raise ValueError(
            f"expected 0 (keep everything) or {MIN_RETENTION_MONTHS}–{MAX_RETENTION_MONTHS} months; "
            "the digest and its trend read the last five months"
        )
    return value


@_check("log_format")
def _log_format(value: str) -> str:
    if value.lower() not in LOG_FORMATS:
        raise ValueError("expected text or json")
    return value.lower()


@_check("slack_posts_per_minute")
def _posts_per_minute(value: int) -> int:
    if value < 1:
        raise ValueError("expected a positive number of messages a minute")
    return value


@_check("listener_threads")
def _listener_threads(value: int) -> int:
    if not 1 <= value <= MAX_LISTENER_THREADS:
        raise ValueError(f"expected a number of threads between 1 and {MAX_LISTENER_THREADS}")
    return value


@_check("leader_check_seconds")
def _leader_check_seconds(value: float) -> float:
    if not 0 < value <= MAX_LEADER_CHECK_SECONDS:
        raise ValueError(f"expected seconds between 0 and {MAX_LEADER_CHECK_SECONDS:g}")
    return value


@_check("database_url")
def _database_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("sqlite", "postgresql")):
        raise ValueError("expected sqlite:///path/to/file.db or postgresql+psycopg://user@host/db")
    return value


_TRUE, _FALSE = {"1", "true", "t", "yes", "y", "on"}, {"0", "false", "f", "no", "n", "off"}


def _yes_or_no(text: str) -> bool:
    if text.strip().lower() not in _TRUE | _FALSE:
        raise ValueError("expected true or false")
    return text.strip().lower() in _TRUE


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number") from None


#: A field's annotation → how its text from the environment becomes its value.
_FROM_TEXT: dict[str, Callable[[str], object]] = {
    "Path": Path,
    "int": _whole_number,
    "float": _number,
    "bool": _yes_or_no,
}


def _typed(annotation: str, value: object) -> object:
    """Text from the environment as the field's type; a value given in code stays as it is."""
    return _FROM_TEXT[annotation](value) if isinstance(value, str) and annotation in _FROM_TEXT else value


def _variables(env_file: str | Path | None) -> dict[str, str]:
    """The variables by lowercase name: the process's environment over the `.env` file's."""
    found = {}
    if env_file is not None and Path(env_file).is_file():
        values = dotenv_values(env_file, encoding="utf-8")
        found = {name.lower(): value for name, value in values.items() if value is not None}
    return found | {name.lower(): value for name, value in os.environ.items()}


@dataclass(frozen=True, init=False)
class Settings:
    """Each field from the variable of its name in capitals (in any case), else from the `.env` file
    (`_env_file`; None reads none), else its default; keyword arguments come before all three."""

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

    slack_posts_per_minute: int = 300
    """chat.postMessage a minute per workspace the outbox keeps to (Slack's unpublished cap)."""
    slack_distributed_app: bool = False
    """A commercially distributed app outside the Marketplace: conversations.history once a minute."""
    slack_pace_ahead: bool = True
    """Keep to Slack's limits before it complains; off only against a sandbox without limits (tests):
    the outbox then slows down only when told to."""
    figures_apart: bool = True
    """Count the figures (digest, preview, trend, Home) in a process of their own, so that the server
    never holds numpy (`bot.runtime.counting`); off in most tests, where starting it would cost each
    bot half a second."""
    listener_threads: int = 64
    """Threads Bolt runs listeners on after `ack()`. Their work is mostly waiting (the database, Slack's
    Web API), not CPU, so many more than the cores: a thread waiting on a round trip costs memory only."""

    def __init__(self, _env_file: str | Path | None = ".env", **overrides: object) -> None:
        given = {**_variables(_env_file), **overrides}
        problems = []
        for field in fields(self):
            try:
                value = _typed(field.type, given.get(field.name, field.default))
                value = _CHECKS[field.name](value) if field.name in _CHECKS else value
            except ValueError as error:
                problems.append(f"{field.name.upper()} is invalid: {error}")
            else:
                object.__setattr__(self, field.name, value)
        if problems:
            raise ConfigError("\n".join(problems))

    @property
    def secret_box(self) -> SecretBox | None:
        """What the tokens stored in the database are encrypted with; None without keys."""
        return SecretBox(self.alignbot_secret_keys.split(",")) if self.alignbot_secret_keys else None

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
