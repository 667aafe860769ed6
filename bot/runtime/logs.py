"""Log lines as text or JSON (LOG_FORMAT), never carrying a Slack token, a secret or an answer.

Every line passes through the redaction at the end of formatting, so tokens are caught wherever
they appear: the message, its arguments, an exception's text. Answers (scores, comments) are
never handed to a logger by the bot's own code; the Slack libraries log whole payloads at DEBUG,
so their DEBUG lines are dropped even when LOG_LEVEL is DEBUG.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from sqlalchemy import make_url

from bot.runtime.settings import Settings

#: Every kind of Slack token: bot, user, app-level, legacy workspace, session and cookie (xoxc, xoxd,
#: URL-encoded), refresh (xoxe-1-...) and rotated ones (xoxe.xoxb-1-...).
TOKEN = re.compile(r"\b(?:xox[abcdeoprs](?:\.xox[a-z])?|xapp)-[A-Za-z0-9%+/=-]+")
REDACTED = "[redacted]"
#: Shorter values are not secrets worth redacting (and would blank out ordinary words).
MIN_SECRET_LENGTH = 8
#: Libraries that log request and response bodies at DEBUG (Bolt sets its loggers' levels itself).
PAYLOAD_LOGGERS = ("slack_sdk", "slack_bolt")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Attributes every LogRecord has; anything else on a record came in through `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces Slack tokens, and the given secrets (as written and as escaped in JSON), with a marker."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        values |= {json.dumps(v)[1:-1] for v in values}
        alternatives = [TOKEN.pattern, *(re.escape(v) for v in sorted(values, key=len, reverse=True))]
        self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text)


def without_payloads(record: logging.LogRecord) -> bool:
    """A handler filter: the Slack libraries' DEBUG lines carry whole request and response bodies; and
    Bolt's warning that the client's token wins over SLACK_BOT_TOKEN, which it reads from the
    environment itself, misleads: they are the same token."""
    if record.msg == warning_client_prioritized_and_token_skipped():
        return False
    return record.levelno >= logging.INFO or not record.name.startswith(PAYLOAD_LOGGERS)


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, any `extra=` fields, the exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {key: value for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def redactor_for(settings: Settings) -> Redactor:
    """Every secret among the settings, besides the Slack tokens any line may carry."""
    return Redactor(
        [
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_client_secret,
            settings.slack_app_token,
            make_url(settings.effective_database_url).password,
            *(settings.alignbot_secret_keys or "").split(","),
        ]
    )


def fatal_lines(message: str, settings: Settings | None, log_format: str | None) -> list[str]:
    """What stops the bot, as its last words on stderr: `alignbot: …`, or, with LOG_FORMAT=json (read
    from `log_format` when the settings themselves could not be read), one JSON log entry per line."""
    if (settings.log_format if settings is not None else (log_format or "").strip().lower()) != "json":
        return [f"alignbot: {line}" for line in message.splitlines()]
    redact = redactor_for(settings) if settings is not None else Redactor()
    formatter = JsonFormatter(redact)
    return [
        formatter.format(logging.makeLogRecord({"name": "alignbot", "levelname": "CRITICAL", "msg": line}))
        for line in message.splitlines()
    ]


def configure_logging(settings: Settings) -> None:
    """Send every log line to stderr in the configured format, redacted; done once at start-up."""
    redact = redactor_for(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if settings.log_format == "json" else TextFormatter(redact))
    handler.addFilter(without_payloads)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    if settings.log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
