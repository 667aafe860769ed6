"""The `alignbot` command line, run as a real process."""

from __future__ import annotations

import json

import pytest

from storage import migrate
from tests.processes import REPO, alignbot


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["db"], ["db", "upgrade"], ["db", "downgrade"], ["manifest"], ["demo"]]
)
def test_every_command_has_help(tmp_path, command):
    result = alignbot(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: alignbot" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve", "--http"], {}, "alignbot: SLACK_BOT_TOKEN is not set: expected the bot token"),
        (["serve", "--http"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "alignbot: SLACK_SIGNING_SECRET is not set"),
        (["serve", "--socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "alignbot: SLACK_APP_TOKEN is not set"),
        (
            ["serve", "--socket"],
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"},
            "alignbot: SLACK_APP_TOKEN is invalid: expected an app-level token (xapp-…)",
        ),
        (["serve", "--http"], {"SLACK_CLIENT_ID": "1.2"}, "alignbot: SLACK_CLIENT_SECRET is not set"),
        (
            ["serve", "--http"],
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"},
            "alignbot: SLACK_SIGNING_SECRET is not set",
        ),
        (
            ["serve", "--socket"],
            {"SLACK_CLIENT_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1"},
            "alignbot: SLACK_CLIENT_ID / SLACK_CLIENT_SECRET are set: many workspaces (OAuth) need",
        ),
        (
            ["manifest"],
            {"SLACK_REDIRECT_URI": "slack.com/back"},
            "alignbot: SLACK_REDIRECT_URI is invalid: expected an http(s) URL",
        ),
        (
            ["db", "upgrade"],
            {"DATABASE_URL": "mysql://db"},
            "alignbot: DATABASE_URL is invalid: expected sqlite",
        ),
        (
            ["manifest"],
            {"DEFAULT_LANGUAGE": "de"},
            "alignbot: DEFAULT_LANGUAGE is invalid: expected one of en, fa",
        ),
        (
            ["manifest"],
            {"SLACK_API_URL": "slack.com"},
            "alignbot: SLACK_API_URL is invalid: expected an http(s) URL",
        ),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_exit_code_2(tmp_path, args, env, message):
    result = alignbot(*args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("DEFAULT_TIMEZONE=Nowhere/Land\n")
    result = alignbot("manifest", cwd=tmp_path)
    assert result.returncode == 2
    assert "DEFAULT_TIMEZONE is invalid" in result.stderr


def test_db_upgrade_creates_the_default_sqlite_file(tmp_path):
    result = alignbot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"schema revision: {migrate.head_revision()}"
    assert (tmp_path / "data" / "alignbot.db").exists()
    downgraded = alignbot("db", "downgrade", "base", cwd=tmp_path)
    assert downgraded.stdout.strip() == "schema revision: empty"


def test_manifest_matches_the_copy_in_the_repo(tmp_path):
    result = alignbot("manifest", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == (REPO / "docs" / "slack-app-manifest.json").read_text()


def test_an_oauth_manifest_has_the_redirect_url_and_hears_uninstalls(tmp_path):
    url = "https://bot.example.com/slack/events"
    manifest = json.loads(alignbot("manifest", "--oauth", "--url", url, cwd=tmp_path).stdout)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
    assert alignbot("manifest", "--oauth", "--socket", cwd=tmp_path).returncode == 2  # OAuth is HTTP mode


def test_socket_mode_manifest_has_no_urls(tmp_path):
    manifest = json.loads(alignbot("manifest", "--socket", cwd=tmp_path).stdout)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in json.dumps(manifest)


def test_demo_runs_without_credentials_and_prints_a_transcript(tmp_path):
    out = tmp_path / "out"
    result = alignbot("demo", "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Olivia Owner (workspace owner) types /align setup" in result.stdout
    assert "alignbot is set up" in result.stdout
    assert "وضعیت alignbot" in result.stdout
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")
    assert transcript in result.stdout
    weeks = [line for line in transcript.splitlines() if line.startswith("  Week ")]
    assert len(weeks) == 11  # the first of the twelve weeks is told in full
    assert "Defined (sales" in weeks[0]
    # Twelve weeks take the company from Defined to Aligned; marketing still sees it rosier.
    digest = (out / "digest.txt").read_text(encoding="utf-8")
    assert "*Stage: Aligned*" in digest
    assert "Where sales and marketing see it differently" in digest
    persian = (out / "digest-fa.txt").read_text(encoding="utf-8")
    assert "*مرحله: همراستا*" in persian and "هفتهٔ ۴ خرداد ۱۴۰۵" in persian  # 25 May 2026, Jalali
    pictures = sorted(out.glob("*.png"))
    assert [p.name.split("-", 1)[0] + "-" + p.stem[-2:] for p in pictures] == [
        "alignment-en",
        "alignment-fa",
        "dimensions-en",
        "dimensions-fa",
    ]
    assert all(picture.read_bytes().startswith(b"\x89PNG") for picture in pictures)
    assert f"Digest written to {out / 'digest.txt'}, in Persian to {out / 'digest-fa.txt'}" in result.stdout
    for picture in pictures:
        assert f"Digest picture written to {picture}" in result.stdout
