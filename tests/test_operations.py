"""Running the bot in production: /metrics, /readyz, JSON logs without secrets, a graceful SIGTERM."""

from __future__ import annotations

import gc
import io
import json
import logging
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, make_url, text

from bot.runtime.logs import REDACTED, JsonFormatter, Redactor, TextFormatter, configure_logging
from bot.runtime.process import BotRuntime, set_start_up_aside
from bot.runtime.server import request_kind
from bot.runtime.settings import ConfigError, Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.workspace import SALESPEOPLE
from storage.db import normalise_url
from tests.conversation import (
    ELIGIBLE,
    FIRST_ROUND,
    POSTGRES_URL,
    SIGNING_SECRET,
    create_pulse,
    pulse_dms,
    replies_to,
)
from tests.processes import BotProcess, bot_environment, metrics_of, readiness, scratch_postgres, wait_until

TOKEN = "xoxb-1234567890-abcdefABCDEF"
#: One of each kind of Slack token, written as Slack writes them.
SLACK_TOKENS = {
    "bot": "xoxb-1234567890-1234567890123-abcdefABCDEF",
    "user": "xoxp-1234567890-1234567890-1234567890123-0123456789abcdef",
    "workspace app": "xoxa-2-1234567890-abcdefABCDEF",
    "legacy": "xoxs-1234567890-abcdefABCDEF",
    "legacy refresh": "xoxr-1234567890-abcdefABCDEF",
    "session": "xoxc-1234567890-1234567890-abcdefABCDEF",
    "cookie": "xoxd-abc%2Bdef%2Fghi%3D",
    "refresh": "xoxe-1-My0xLTEyMzQ1Njc4OTAtYWJjZGVm",
    "rotated bot": "xoxe.xoxb-1-MS0yLTEyMzQ1Njc4OTAtYWJjZGVm",
    "rotated user": "xoxe.xoxp-1-MS0yLTEyMzQ1Njc4OTAtYWJjZGVm",
    "app-level": "xapp-1-A0123456789-1234567890123-abcdefABCDEF",
}


@pytest.fixture
def scheduling_bot(settings: Settings, clock) -> Iterator[BotRuntime]:
    """The bot with its scheduler, as `alignbot serve` runs it (the `bot` fixture has none)."""
    with BotRuntime(settings, clock=clock) as running:
        yield running


def test_metrics_count_requests_slack_calls_and_a_scheduled_round(scheduling_bot, sandbox, clock):
    bot = scheduling_bot
    driver = SlackDriver(bot.url, SIGNING_SECRET, sandbox)
    create_pulse(bot, driver)
    sandbox.inject_fault("chat.postMessage", "rate_limited", times=1, retry_after=0)
    clock.set(FIRST_ROUND + timedelta(seconds=30))
    bot.scheduler.scheduler.get_job("safety").modify(next_run_time=datetime.now(UTC))  # the minute tick, now
    sent = ("alignbot_pulse_deliveries_total", (("outcome", "sent"),))
    wait_until(
        lambda: metrics_of(bot.url).get(sent) == len(ELIGIBLE), 90, "the scheduler never sent the round"
    )
    assert all(len(pulse_dms(sandbox, person)) == 1 for person in ELIGIBLE)

    metrics = metrics_of(bot.url)
    assert metrics[("alignbot_slack_requests_total", (("kind", "slash_command"), ("status", "200")))] == 2
    assert metrics[("alignbot_slack_requests_total", (("kind", "view_submission"), ("status", "200")))] >= 2
    assert metrics[("alignbot_slack_ack_seconds_count", (("kind", "slash_command"),))] >= 2
    assert metrics[("alignbot_slack_api_calls_total", (("method", "views.open"), ("outcome", "ok")))] >= 2
    posted = (("method", "chat.postMessage"), ("outcome", "ok"))
    assert metrics[("alignbot_slack_api_calls_total", posted)] >= len(ELIGIBLE)
    assert (
        metrics[("alignbot_slack_api_calls_total", (("method", "chat.postMessage"), ("outcome", "429")))] == 1
    )
    assert metrics[("alignbot_slack_api_retries_total", (("method", "chat.postMessage"),))] == 1
    assert metrics[("alignbot_pulse_rounds_total", (("event", "started"),))] == 1
    assert metrics[("alignbot_pulse_deliveries_total", (("outcome", "failed"),))] == 0
    assert ("alignbot_pulse_reminders_total", ()) in metrics
    assert ("alignbot_digest_posts_total", ()) in metrics
    assert metrics[("alignbot_scheduler_runs_total", (("outcome", "ok"), ("runner", "PulseRunner")))] >= 2
    assert metrics[("alignbot_scheduler_lag_seconds_count", ())] >= 2
    assert metrics[("alignbot_scheduler_leader", ())] == 1
    assert readiness(bot.url) == (200, {"status": "ready", "leader": True})


def test_requests_are_told_apart_by_what_slack_sent():
    assert request_kind(b"command=%2Falign&text=help", "application/x-www-form-urlencoded") == "slash_command"
    payload = b"payload=" + json.dumps({"type": "block_actions"}).encode()
    assert request_kind(payload, "application/x-www-form-urlencoded") == "block_actions"
    assert request_kind(b'{"type": "event_callback"}', "application/json") == "event_callback"
    assert request_kind(b"\xff not a form", "application/x-www-form-urlencoded") == "other"


def test_unknown_request_kinds_share_one_series(bot):
    for kind in ("x" * 20, "y" * 20):
        bot.metrics.observe_request(kind, 401, 0.01)
    metrics = metrics_of(bot.url)
    assert metrics[("alignbot_slack_requests_total", (("kind", "other"), ("status", "401")))] == 2


def test_ready_when_the_database_answers_at_the_current_schema(bot, monkeypatch):
    assert readiness(bot.url) == (200, {"status": "ready", "leader": False})

    with bot.database.session() as session:
        head = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    status, body = readiness(bot.url)
    assert status == 503
    assert body == {"status": "not ready", "leader": False, "reason": f"schema at older, expected {head}"}
    with bot.database.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})

    def unreachable():
        raise ConnectionError("database went away")

    monkeypatch.setattr(bot.database, "ping", unreachable)
    assert readiness(bot.url) == (
        503,
        {"status": "not ready", "leader": False, "reason": "database unreachable"},
    )


def test_not_ready_while_postgresql_refuses_connections(sandbox, clock):
    with scratch_postgres() as url:
        name = make_url(url).database
        settings = Settings(
            _env_file=None,
            slack_bot_token=sandbox.workspace.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=sandbox.api_url,
            database_url=url,
        )
        admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with BotRuntime(settings, clock=clock, scheduler=False) as bot, admin.connect() as connection:
            assert readiness(bot.url)[0] == 200
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
            try:
                assert readiness(bot.url) == (
                    503,
                    {"status": "not ready", "leader": False, "reason": "database unreachable"},
                )
            finally:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            assert readiness(bot.url)[0] == 200
        admin.dispose()


# ----- logs -----------------------------------------------------------------------------------------


def log_line(formatter: logging.Formatter, message: str, *args, exc_info=None, **extra) -> str:
    record = logging.LogRecord("bot.example", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return formatter.format(record)


def test_json_log_lines_carry_time_level_logger_message_and_extras_without_secrets():
    redact = Redactor(["a-signing-secret-value", 'pass"word\\1'])
    try:
        raise RuntimeError(f"Slack refused {TOKEN}")
    except RuntimeError:
        failure = sys.exc_info()
    line = log_line(
        JsonFormatter(redact),
        "calling Slack with %s and xapp-1-A0-123-abc, secret %s",
        TOKEN,
        "a-signing-secret-value",
        exc_info=failure,
        round_id=7,
        database='postgresql://u:pass"word\\1@db/x',
    )
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "round_id", "database", "exception"}
    assert (entry["level"], entry["logger"], entry["round_id"]) == ("WARNING", "bot.example", 7)
    assert entry["message"] == "calling Slack with [redacted] and [redacted], secret [redacted]"
    assert entry["database"] == "postgresql://u:[redacted]@db/x"
    assert "RuntimeError: Slack refused [redacted]" in entry["exception"]
    assert "xox" not in line and "secret-value" not in line


def test_text_log_lines_are_redacted_too():
    line = log_line(TextFormatter(Redactor()), "token %s", TOKEN)
    assert line.endswith("WARNING bot.example: token [redacted]")


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter], ids=["text", "json"])
@pytest.mark.parametrize("token", SLACK_TOKENS.values(), ids=SLACK_TOKENS.keys())
def test_every_kind_of_slack_token_is_redacted_in_the_message_its_arguments_and_extras(formatter, token):
    message = f"stored {token.replace('%', '%%')}, refreshed %s"  # a literal % is written %% in a message
    line = log_line(formatter(Redactor()), message, token, installation={"token": token})
    assert "stored [redacted], refreshed [redacted]" in line
    assert token[-8:] not in line and "xox" not in line and "xapp" not in line
    if formatter is JsonFormatter:
        assert json.loads(line)["installation"] == {"token": REDACTED}


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_log_format_is_one_setting_and_debug_never_shows_slack_payloads(root_logging, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(Settings(_env_file=None, log_format="json", log_level="DEBUG", slack_bot_token=TOKEN))
    logging.getLogger("bot.example").debug("using %s", TOKEN, extra={"team_id": "T1"})
    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - body_params: {'score': 5}")
    logging.getLogger("slack_bolt.App").debug('Responding with status: 200 body: "score 5"')
    logging.getLogger("slack_bolt.App").warning("Unhandled request")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("bot.example", "using [redacted]"),
        ("slack_bolt.App", "Unhandled request"),
    ]
    assert lines[0]["team_id"] == "T1"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_client_secret_and_the_signing_secret_are_redacted_wherever_they_appear(
    root_logging, monkeypatch, log_format
):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    client_secret, signing_secret = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
    configure_logging(
        Settings(
            _env_file=None,
            log_format=log_format,
            slack_client_id="1234567890.1234567890",
            slack_client_secret=client_secret,
            slack_signing_secret=signing_secret,
        )
    )
    logging.getLogger("bot.example").warning(
        f"client secret {client_secret}, signing secret %s",
        signing_secret,
        extra={"credentials": [client_secret, signing_secret]},
    )
    line = stream.getvalue()
    assert "client secret [redacted], signing secret [redacted]" in line
    assert client_secret not in line and signing_secret not in line
    if log_format == "json":
        assert json.loads(line)["credentials"] == [REDACTED, REDACTED]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT is invalid: expected text or json"),
        ("LEADER_CHECK_SECONDS", "60", "LEADER_CHECK_SECONDS is invalid: expected seconds between 0 and 10"),
    ],
)
def test_operations_settings_are_checked(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        Settings(_env_file=None)
    assert str(error.value) == problem


# ----- processes ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'alignbot.db'}"


def test_sigterm_finishes_the_work_in_flight_and_exits_0(sandbox, sqlite_url, tmp_path):
    bot = BotProcess.serve(bot_environment(sandbox, sqlite_url), tmp_path / "bot")
    try:
        url = bot.wait_listening()
        sandbox.inject_fault("users.info", "rate_limited", times=1, retry_after=2)
        response = SlackDriver(url, SIGNING_SECRET, sandbox).slash_command(SALESPEOPLE[0], "help")
        assert response.status == 200  # acknowledged; the answer comes after users.info
        wait_until(lambda: sandbox.calls_to("users.info"), 10, "the listener never called users.info")
        asked_to_stop = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit(timeout=20) == 0
        assert time.monotonic() - asked_to_stop < 10
    finally:
        bot.stop()
    assert [c.http_status for c in sandbox.calls_to("users.info")] == [429, 200]
    assert replies_to(sandbox, response), "the reply in flight was lost"
    messages = [entry["message"] for entry in bot.log_entries()]
    assert "SIGTERM received: shutting down" in messages
    assert sandbox.workspace.bot_token not in bot.log()


def test_what_start_up_built_is_set_aside_from_full_collections():
    """`serve` freezes what start-up built, so full collections under load do not walk it again."""
    try:
        set_start_up_aside()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
