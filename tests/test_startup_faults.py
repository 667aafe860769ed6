"""What cannot work stops the bot at start-up with one line naming the setting, and exit code 2 (a JSON
log entry under LOG_FORMAT=json); what may mend itself does not: while Slack's API is out of reach the
bot serves `/healthz` and keeps trying, and `/readyz` says why it is not ready, as it does while the
database refuses writes. Each is run as a real process."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.runtime.process import BotRuntime
from bot.runtime.startup import FIRST_RETRY_SECONDS
from bot.sandbox.server import SlackSandbox
from storage import migrate
from storage.db import Database, normalise_url
from tests.conversation import POSTGRES_URL
from tests.processes import (
    BotProcess,
    alignbot,
    bot_environment,
    readiness,
    scratch_postgres,
    wait_until,
)


def fatal_entries(result) -> list[dict]:
    """The process's stderr, every line a JSON log entry (one that is not fails the test here)."""
    return [json.loads(line) for line in result.stderr.splitlines()]


def stops_with(sandbox: SlackSandbox, tmp_path: Path, database_url: str | None, modes_bind=False, **settings):
    environment = bot_environment(sandbox, database_url or "", **settings)
    if database_url is None:
        del environment["DATABASE_URL"]
    result = alignbot("serve", "--http", "--port", "0", cwd=tmp_path, env=environment, modes_bind=modes_bind)
    assert result.returncode == 2, result.stderr
    [entry] = fatal_entries(result)  # one line, and JSON
    assert entry["level"] == "CRITICAL"
    return entry["message"]


def migrated_database(url: str) -> None:
    database = Database(url)
    migrate.upgrade(database.engine)
    database.dispose()


def migrated_sqlite_file(path: Path) -> Path:
    migrated_database(f"sqlite:///{path}")
    return path


def test_a_corrupt_sqlite_file(sandbox, tmp_path):
    corrupt = tmp_path / "alignbot.db"
    corrupt.write_bytes(b"not a database at all, but long enough to have a header" * 20)
    assert stops_with(sandbox, tmp_path, f"sqlite:///{corrupt}") == (
        f"DATABASE_URL: {corrupt} is not an SQLite database (corrupt, or another kind of file)"
    )


def test_an_unreadable_sqlite_file(sandbox, tmp_path):
    unreadable = migrated_sqlite_file(tmp_path / "alignbot.db")
    unreadable.chmod(0)
    message = stops_with(sandbox, tmp_path, f"sqlite:///{unreadable}", modes_bind=True)
    assert message == f"DATABASE_URL: cannot read {unreadable}: Permission denied"


def test_a_read_only_data_directory(sandbox, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    message = stops_with(sandbox, tmp_path, None, modes_bind=True, data_dir=str(data))
    assert message == (
        f"DATA_DIR: the folder {data} is not writable (Permission denied); SQLite writes its journal there"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/alignbot",
            "cannot reach PostgreSQL at 127.0.0.1:1: connection refused "
            "(is the server running, on that port?)",
        ),
        (
            "postgresql://postgres@no-such-host.invalid/alignbot",
            "unknown host 'no-such-host.invalid': no such name in DNS",
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/alignbot_no_such_database",
            "the database 'alignbot_no_such_database' does not exist on PostgreSQL at 127.0.0.1:5432: "
            "create it or fix the name",
        ),
        (
            "postgresql://no_such_user:secret-password@127.0.0.1:5432/postgres",
            "PostgreSQL at 127.0.0.1:5432 refused user 'no_such_user': no such role, or it may not log in",
        ),
    ],
    ids=["refused", "unknown-host", "missing-database", "wrong-credentials"],
)
def test_a_postgresql_that_cannot_be_used(sandbox, tmp_path, url, problem):
    with scratch_postgres():  # only where the tests have a PostgreSQL server
        assert stops_with(sandbox, tmp_path, url) == f"DATABASE_URL: {problem}"


def test_a_token_slack_rejects(sandbox, tmp_path):
    message = stops_with(
        sandbox, tmp_path, f"sqlite:///{tmp_path / 'alignbot.db'}", slack_bot_token="xoxb-revoked"
    )
    assert message == "SLACK_BOT_TOKEN is invalid: Slack rejects it (invalid_auth)"


def test_in_text_the_line_is_plain(sandbox, tmp_path):
    environment = bot_environment(
        sandbox, f"sqlite:///{tmp_path / 'alignbot.db'}", slack_bot_token="xoxb-revoked"
    )
    result = alignbot(
        "serve", "--http", "--port", "0", cwd=tmp_path, env={**environment, "LOG_FORMAT": "text"}
    )
    assert (result.returncode, result.stderr.splitlines()) == (
        2,
        ["alignbot: SLACK_BOT_TOKEN is invalid: Slack rejects it (invalid_auth)"],
    )


def test_while_slack_cannot_be_reached_the_bot_serves_its_probes_and_keeps_trying(sandbox, tmp_path):
    unreachable = "http://127.0.0.1:1/api/"
    environment = bot_environment(sandbox, f"sqlite:///{tmp_path / 'alignbot.db'}", slack_api_url=unreachable)
    bot = BotProcess.serve(environment, tmp_path / "bot")
    try:
        url = bot.wait_listening()
        with urllib.request.urlopen(url + "/healthz", timeout=10) as health:
            assert health.status == 200
        status, body = readiness(url)
        assert status == 503
        assert body["reason"].startswith(f"Slack's API at {unreachable} is unreachable: ")
        warnings = [e["message"] for e in bot.log_entries() if e["level"] == "WARNING"]
        assert warnings[0].endswith("trying again with back-off")
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit(timeout=20) == 0
    finally:
        bot.stop()


def test_slack_answering_again_makes_the_bot_ready(settings, sandbox, clock):
    sandbox.inject_fault("auth.test", "server_error", times=2)
    with BotRuntime(settings, clock=clock, scheduler=False) as bot:
        assert readiness(bot.url)[0] == 503
        wait_until(lambda: readiness(bot.url)[0] == 200, 10 * FIRST_RETRY_SECONDS, "never ready")
    assert [c.method for c in sandbox.calls].count("auth.test") >= 3


def test_a_read_only_sqlite_file_is_served_but_not_ready(sandbox, tmp_path):
    read_only = migrated_sqlite_file(tmp_path / "alignbot.db")
    read_only.chmod(0o444)
    bot = BotProcess.serve(
        bot_environment(sandbox, f"sqlite:///{read_only}"), tmp_path / "bot", modes_bind=True
    )
    try:
        status, body = readiness(bot.wait_listening())
        assert (status, body["reason"]) == (
            503,
            "the database refuses writes: attempt to write a readonly database",
        )
    finally:
        bot.stop()


def test_a_postgresql_in_read_only_mode_is_not_ready(sandbox, tmp_path):
    with scratch_postgres() as url:
        migrated_database(url)
        admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = url.rsplit("/", 1)[1]
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin.dispose()
        bot = BotProcess.serve(bot_environment(sandbox, url), tmp_path / "bot")
        try:
            status, body = readiness(bot.wait_listening())
            assert (status, body["reason"]) == (
                503,
                "the database refuses writes: cannot execute UPDATE in a read-only transaction",
            )
        finally:
            bot.stop()


def test_a_token_slack_rejects_once_it_answers_again_stops_the_bot(sandbox, tmp_path):
    sandbox.inject_fault("auth.test", "server_error")  # the first look finds Slack down
    environment = bot_environment(
        sandbox, f"sqlite:///{tmp_path / 'alignbot.db'}", slack_bot_token="xoxb-revoked"
    )
    bot = BotProcess.serve(environment, tmp_path / "bot")
    try:
        assert bot.wait_exit(timeout=60) == 2
        last = bot.log_entries()[-1]
        assert (last["level"], last["message"]) == (
            "CRITICAL",
            "SLACK_BOT_TOKEN is invalid: Slack rejects it (invalid_auth)",
        )
    finally:
        bot.stop()
