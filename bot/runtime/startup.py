"""What stops the bot at start-up, said in one line naming the setting (exit code 2); and Slack's API,
checked with the bot token until it answers.

A database that cannot be opened, a folder that cannot be written, a token Slack rejects: none of these
gets better by trying again, so each is a `ConfigError`. Slack's API out of reach may be a network
blip or an outage: the bot keeps trying, with back-off, and `/readyz` says why it is not ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.settings import ConfigError, Settings
from storage.db import Database, describe_failure
from storage.models import Base
from storage.secrets import SecretsError, check_readable, use_keys

logger = logging.getLogger(__name__)

#: What auth.test answers for a token Slack will not accept however often it is asked.
REJECTED_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
        "enterprise_is_restricted",
    }
)
CHECK_TIMEOUT_SECONDS = 10
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0


@contextmanager
def database_faults_explained(settings: Settings) -> Iterator[None]:
    """Turn a database that cannot be opened (its file, its folder, its server, its name, its user)
    into one line naming the setting that points at it."""
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        setting = "DATABASE_URL" if settings.database_url else "DATA_DIR"
        raise ConfigError(f"{setting}: {describe_failure(error, settings.effective_database_url)}") from None


def open_secrets(settings: Settings, database: Database) -> None:
    """Read and write the database's secrets with ALIGNBOT_SECRET_KEYS, after checking that every one
    stored can be read with them: a wrong key stops the bot here, not at the first Slack call."""
    box = settings.secret_box
    use_keys(database.engine, box)
    try:
        unencrypted = check_readable(database.engine, Base.metadata.sorted_tables, box)
    except SecretsError as error:
        if box is None:
            raise ConfigError(
                "ALIGNBOT_SECRET_KEYS is not set: the database holds Slack tokens encrypted with a key"
            ) from None
        raise ConfigError(
            f"ALIGNBOT_SECRET_KEYS is invalid: {error} (is the key they were encrypted with missing?)"
        ) from None
    if box is None and settings.oauth:
        logger.warning("ALIGNBOT_SECRET_KEYS is not set: Slack tokens are stored in the database unencrypted")
    elif box is not None and unencrypted:
        logger.warning(
            "%d Slack tokens are stored unencrypted: `alignbot secrets rotate` encrypts them", unencrypted
        )


class SlackAccess:
    """Whether Slack's API answers the bot token: `check()` asks once before the bot serves and raises
    `ConfigError` for a token Slack rejects; while Slack cannot be reached it asks again in the
    background, waiting twice as long each time (up to a minute), and `problem` says what is wrong
    (for /readyz). A token rejected later is handed to `rejected`, which stops the bot."""

    def __init__(self, token: str, api_url: str, rejected: Callable[[ConfigError], None]) -> None:
        self.api_url = api_url
        self.client = WebClient(
            token=token, base_url=api_url, timeout=CHECK_TIMEOUT_SECONDS, retry_handlers=[]
        )
        self.problem: str | None = "Slack's API has not been checked yet"
        self._rejected = rejected
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        if self._answers():
            return
        self._thread = threading.Thread(target=self._keep_trying, name="alignbot-slack-check", daemon=True)
        self._thread.start()

    def _keep_trying(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while not self._stopping.wait(delay):
            try:
                if self._answers():
                    logger.info("Slack's API answers: ready")
                    return
            except ConfigError as rejected:
                self._rejected(rejected)
                return
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def _answers(self) -> bool:
        try:
            self.client.auth_test()
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code in REJECTED_TOKEN_ERRORS:
                raise ConfigError(f"SLACK_BOT_TOKEN is invalid: Slack rejects it ({code})") from None
            problem = f"Slack's API at {self.api_url} answers {code or f'HTTP {error.response.status_code}'}"
        except (OSError, ValueError) as error:  # refused, unresolvable, timed out, not Slack's JSON
            reason = getattr(error, "reason", None) or error
            problem = f"Slack's API at {self.api_url} is unreachable: {reason}"
        else:
            self.problem = None
            return True
        if problem != self.problem:
            logger.warning("%s; trying again with back-off", problem)
        self.problem = problem
        return False

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=CHECK_TIMEOUT_SECONDS)
