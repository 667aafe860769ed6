"""`alignbot demo`: the real bot against the local Slack sandbox, with a short story to watch.

No Slack credentials are needed. The bot runs over HTTP exactly as in production, on a fresh
SQLite database; a driver plays Slack, sending signed requests as people type and click.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from bot.runtime import BotRuntime
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.transcript import Transcript
from bot.sandbox.workspace import (
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETING_CHANNEL,
    OWNER,
    SALES_CHANNEL,
    SALESPEOPLE,
    default_workspace,
)


class DemoStory:
    """Plays steps one by one and writes down what each person saw after each step."""

    def __init__(self, bot: BotRuntime, driver: SlackDriver, sandbox: SlackSandbox) -> None:
        self.bot, self.driver, self.sandbox = bot, driver, sandbox
        self.transcript = Transcript(sandbox)
        self.lines: list[str] = []

    def step(self, narration: str, action: Callable[[], object]) -> None:
        action()
        if not self.bot.wait_idle(timeout=30):
            raise RuntimeError(f"the bot did not finish: {narration}")
        self.lines += ["", f"▶ {narration}", *self.transcript.new_entries()]

    def name(self, user_id: str) -> str:
        return self.sandbox.workspace.user(user_id).real_name

    def play(self) -> None:
        member, persian_member, owner = SALESPEOPLE[0], SALESPEOPLE[1], OWNER
        driver = self.driver
        self.step(f"{self.name(member)} (sales) types /align", lambda: driver.slash_command(member, ""))
        self.step(
            f"{self.name(member)} tries /align setup, but is not an admin",
            lambda: driver.slash_command(member, "setup"),
        )
        self.step(
            f"{self.name(owner)} (workspace owner) types /align setup",
            lambda: driver.slash_command(owner, "setup"),
        )
        form = self.sandbox.latest_view_for(owner).view
        choices = {
            "sales_channels": [SALES_CHANNEL],
            "marketing_channels": [MARKETING_CHANNEL],
            "leadership_channel": LEADERSHIP_CHANNEL,
            "timezone": "America/New_York",
            "default_language": "en",
            "anonymity_threshold": "5",
            "admins": [HEAD_OF_SALES],
        }
        rejected = {}

        def submit_with_mistakes() -> None:
            rejected["answer"] = driver.submit_view(
                owner, form, {**choices, "timezone": "Mars/Olympus", "anonymity_threshold": "2"}
            ).json()

        self.step(
            f"{self.name(owner)} submits with a made-up timezone and a threshold of 2", submit_with_mistakes
        )
        self.lines += [
            f"  ✗ the form stays open: {field}: {text}"
            for field, text in rejected["answer"]["errors"].items()
        ]
        self.step(
            f"{self.name(owner)} corrects both and saves", lambda: driver.submit_view(owner, form, choices)
        )
        self.step(
            f"{self.name(persian_member)} (Slack in Persian) types /align status",
            lambda: driver.slash_command(persian_member, "status"),
        )
        self.step(
            f"{self.name(member)} mistypes /align stauts", lambda: driver.slash_command(member, "stauts")
        )
        self.step(
            f"{self.name(member)} switches to Persian: /align language fa",
            lambda: driver.slash_command(member, "language fa"),
        )
        self.step(
            f"{self.name(owner)} opens alignbot's Home tab",
            lambda: driver.event({"type": "app_home_opened", "user": owner, "tab": "home"}),
        )


def run_demo(output: str, out: Callable[[str], object] = print) -> int:
    output_dir = Path(output)
    output_dir.mkdir(parents=True, exist_ok=True)
    database_file = output_dir / "alignbot-demo.db"
    for stale in output_dir.glob("alignbot-demo.db*"):
        stale.unlink()
    signing_secret = secrets.token_hex(16)
    with SlackSandbox(default_workspace()) as sandbox:
        settings = Settings(
            _env_file=None,
            slack_bot_token=sandbox.workspace.bot_token,
            slack_signing_secret=signing_secret,
            slack_api_url=sandbox.api_url,
            database_url=f"sqlite:///{database_file.resolve()}",
        )
        with BotRuntime(settings) as bot:
            story = DemoStory(bot, SlackDriver(bot.url, signing_secret, sandbox), sandbox)
            story.play()
        problems = sandbox.invalid_payloads()
    header = [
        "alignbot demo: the real bot, served over HTTP, against the local Slack sandbox (no Slack account).",
        f"Workspace: {sandbox.workspace.team_name}; database: {database_file}",
    ]
    transcript = "\n".join(header + story.lines) + "\n"
    (output_dir / "transcript.txt").write_text(transcript, encoding="utf-8")
    out(transcript)
    out(f"Transcript written to {output_dir / 'transcript.txt'}")
    if problems:
        print(f"invalid Block Kit was sent: {problems}", file=sys.stderr)
        return 1
    return 0
