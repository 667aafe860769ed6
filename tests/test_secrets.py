"""Slack's bot and refresh tokens are stored encrypted with ALIGNBOT_SECRET_KEYS: unreadable in the
database and in a backup without the key; a key rotated with `alignbot secrets rotate`; a wrong key or
none stops the bot with one line and exit code 2; and neither the keys nor the client secret are logged."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from bot.runtime.logs import REDACTED, redactor_for
from bot.runtime.process import BotRuntime
from bot.runtime.settings import ConfigError
from bot.sandbox.workspace import SALESPEOPLE
from storage.backup import backup
from storage.db import Database
from storage.models import Base
from storage.secrets import SEALED, SecretBox, stored_secrets
from tests.conversation import SECRET_KEY, command, oauth_settings, text_of
from tests.processes import alignbot, bot_environment

NEW_KEY = SecretBox.new_key()


@pytest.fixture
def settings(sandbox, database_url):
    return oauth_settings(sandbox, database_url)


def as_stored(database_url: str) -> list[str]:
    """Every token the database holds, as it holds them."""
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            return [value for _column, _key, value in stored_secrets(connection, Base.metadata.sorted_tables)]
    finally:
        database.dispose()


def install_with_rotating_tokens(driver, sandbox) -> list[str]:
    """Acme installs the app, which rotates its tokens: a bot token and a refresh token, in plain text."""
    sandbox.oauth.token_rotation = True
    assert driver.install().status == 200
    (exchange,) = sandbox.calls_to("oauth.v2.access")
    return [exchange.response["access_token"], exchange.response["refresh_token"]]


def serve(tmp_path, sandbox, database_url: str, **settings: str):
    return alignbot(
        "serve", "--http", "--port", "0", cwd=tmp_path, env=bot_environment(sandbox, database_url, **settings)
    )


def the_line(result) -> str:
    assert result.returncode == 2, result.stderr
    [entry] = [json.loads(line) for line in result.stderr.splitlines()]
    return entry["message"]


def test_tokens_are_unreadable_in_the_database_and_in_a_backup_without_the_key(
    bot, driver, sandbox, database_url, tmp_path
):
    tokens = install_with_rotating_tokens(driver, sandbox)
    stored = as_stored(database_url)
    assert len(stored) == 4  # bot and refresh token, in the installation and in the bot's row
    assert all(value.startswith(SEALED) for value in stored)
    assert not any(token in value for token in tokens for value in stored)
    assert "what you can do" in text_of(command(bot, driver, SALESPEOPLE[0], "help")[0])  # read back

    database = Database(database_url)  # as `alignbot db backup` opens it: no key
    try:
        backup(database, tmp_path / "backup.jsonl.gz")
    finally:
        database.dispose()
    written = gzip.decompress((tmp_path / "backup.jsonl.gz").read_bytes()).decode()
    assert written.count(SEALED) == 4
    assert not any(token in written for token in tokens)


def test_a_wrong_key_or_none_stops_the_bot_with_one_line(bot, driver, sandbox, database_url, tmp_path):
    install_with_rotating_tokens(driver, sandbox)
    assert the_line(serve(tmp_path, sandbox, database_url, alignbot_secret_keys=NEW_KEY)) == (
        "ALIGNBOT_SECRET_KEYS is invalid: none of the keys decrypts the secrets stored in the database "
        "(is the key they were encrypted with missing?)"
    )
    assert the_line(serve(tmp_path, sandbox, database_url)) == (
        "ALIGNBOT_SECRET_KEYS is not set: the database holds Slack tokens encrypted with a key"
    )
    assert the_line(serve(tmp_path, sandbox, database_url, alignbot_secret_keys="not-a-key")).startswith(
        "ALIGNBOT_SECRET_KEYS is invalid: expected Fernet keys"
    )


def test_rotating_the_key(settings, sandbox, database_url, tmp_path, clock):
    with BotRuntime(settings, clock=clock, scheduler=False) as bot:
        from bot.sandbox.driver import SlackDriver  # noqa: PLC0415
        from tests.conversation import SIGNING_SECRET  # noqa: PLC0415 - only here

        tokens = install_with_rotating_tokens(SlackDriver(bot.url, SIGNING_SECRET, sandbox), sandbox)
    before = as_stored(database_url)

    keys = f"{NEW_KEY},{SECRET_KEY}"  # the new one first
    rotate = alignbot(
        "secrets", "rotate", cwd=tmp_path, env={"DATABASE_URL": database_url, "ALIGNBOT_SECRET_KEYS": keys}
    )
    assert (rotate.returncode, rotate.stdout) == (0, "encrypted 4 stored tokens with the first key\n")
    after = as_stored(database_url)
    assert all(value.startswith(SEALED) for value in after) and set(after).isdisjoint(before)
    assert sorted(SecretBox([NEW_KEY]).open(value) for value in after) == sorted(tokens * 2)

    with BotRuntime(replace(settings, alignbot_secret_keys=NEW_KEY), clock=clock, scheduler=False):
        pass  # starts: every token reads with the new key alone
    with pytest.raises(ConfigError, match="none of the keys decrypts"):
        BotRuntime(settings, clock=clock, scheduler=False)  # the old key alone no longer does


def test_neither_the_keys_nor_the_client_secret_are_logged(settings):
    keyed = replace(settings, alignbot_secret_keys=f"{NEW_KEY},{SECRET_KEY}")
    redact = redactor_for(keyed)
    line = redact(f"client secret {keyed.slack_client_secret}, keys {NEW_KEY} and {SECRET_KEY}")
    assert line == f"client secret {REDACTED}, keys {REDACTED} and {REDACTED}"


def test_a_new_key_is_printed_even_while_the_keys_set_are_malformed(tmp_path):
    printed = alignbot("secrets", "new-key", cwd=tmp_path, env={"ALIGNBOT_SECRET_KEYS": "not-a-key"})
    assert printed.returncode == 0
    SecretBox([printed.stdout.strip()])  # a valid Fernet key
