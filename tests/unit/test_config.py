import pytest

from bot.runtime.settings import ConfigError, Settings


def test_defaults_need_no_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("data/alignbot.db")
    assert settings.slack_api_url == "https://slack.com/api/"


def test_a_malformed_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError) as error:
        Settings(_env_file=None)
    assert str(error.value) == "DEFAULT_TIMEZONE is invalid: expected an IANA timezone such as Europe/Berlin"


def test_api_url_gets_a_trailing_slash(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    assert Settings(_env_file=None).slack_api_url == "http://127.0.0.1:9999/api/"


def test_missing_credentials_are_named():
    settings = Settings(_env_file=None, slack_bot_token=None)
    with pytest.raises(ConfigError, match="^SLACK_BOT_TOKEN is not set"):
        settings.require("slack_bot_token")


def test_env_file_is_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DEFAULT_LANGUAGE=fa\nLOG_LEVEL=debug\n")
    settings = Settings()
    assert settings.default_language == "fa"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize("months, accepted", [("0", True), ("6", True), ("3", False), ("-1", False)])
def test_retention_keeps_at_least_what_the_digest_reads(monkeypatch, months, accepted):
    monkeypatch.setenv("RETENTION_MONTHS", months)
    if accepted:
        assert Settings(_env_file=None).retention_months == int(months)
    else:
        with pytest.raises(ConfigError, match="^RETENTION_MONTHS is invalid: expected 0"):
            Settings(_env_file=None)


def test_http_mode_needs_the_bot_token_or_else_the_apps_client_id_and_secret():
    one_workspace = Settings(_env_file=None, slack_signing_secret="s", slack_bot_token="xoxb-1")
    one_workspace.require_http_mode()
    assert not one_workspace.oauth
    many = Settings(_env_file=None, slack_signing_secret="s", slack_client_id="1.2", slack_client_secret="x")
    many.require_http_mode()
    assert many.oauth
    half = Settings(_env_file=None, slack_signing_secret="s", slack_bot_token="xoxb-1", slack_client_id="1.2")
    with pytest.raises(ConfigError, match="^SLACK_CLIENT_SECRET is not set"):
        half.require_http_mode()
