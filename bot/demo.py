"""`alignbot demo`: the real bot against the local Slack sandbox, with a short story to watch.

No Slack credentials are needed. The bot runs over HTTP exactly as in production, on a fresh
SQLite database; a driver plays Slack, sending signed requests as people type and click.
"""

from __future__ import annotations

import random
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import BotRuntime
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.transcript import Transcript
from bot.sandbox.workspace import (
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETERS,
    MARKETING_CHANNEL,
    OWNER,
    SALES_AND_MARKETING,
    SALES_CHANNEL,
    SALESPEOPLE,
    default_workspace,
)
from storage.models import Answer

#: The demo's simulated time starts on a Monday morning; its weeks pass in seconds.
DEMO_START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class DemoStory:
    """Plays steps one by one and writes down what each person saw after each step."""

    def __init__(
        self, bot: BotRuntime, driver: SlackDriver, sandbox: SlackSandbox, clock: ManualClock
    ) -> None:
        self.bot, self.driver, self.sandbox, self.clock = bot, driver, sandbox, clock
        self.transcript = Transcript(sandbox)
        self.lines: list[str] = []

    def step(self, narration: str, action: Callable[[], object], people: set[str] | None = None) -> None:
        """Play one action; write down what everyone (or only `people`) saw because of it."""
        action()
        if not self.bot.wait_idle(timeout=60):
            raise RuntimeError(f"the bot did not finish: {narration}")
        self.lines += ["", f"▶ {narration}", *self.transcript.new_entries(people)]

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
        self.play_pulses()

    def play_pulses(self) -> None:
        """A weekly pulse created in its modal, then three rounds the team answers."""
        owner, member, both, commenter = OWNER, SALESPEOPLE[0], SALES_AND_MARKETING, MARKETERS[1]
        driver = self.driver
        self.step(
            f"{self.name(owner)} types /align pulse add", lambda: driver.slash_command(owner, "pulse add")
        )
        form = self.sandbox.latest_view_for(owner).view
        pulse = {
            "name": "Weekly",
            "weekdays": ["1"],
            "send_time": "10:00",
            "timezone": "America/New_York",
            "start_date": self.clock.now().date().isoformat(),
        }
        self.step(
            f"{self.name(owner)} saves a weekly pulse, Tuesdays at 10:00 New York time",
            lambda: driver.submit_view(owner, form, pulse),
        )
        self.step(f"{self.name(owner)} types /align pulse", lambda: driver.slash_command(owner, "pulse"))
        first = self.bot.runner.next_wakeup()
        for week in range(3):
            self.clock.set(first + timedelta(weeks=week))
            watched = {member, both} if week == 0 else {member}
            self.step(
                f"Week {week + 1}: Tuesday 10:00 in New York, the round goes out",
                self.bot.runner.run_due,
                people=watched,
            )
            if week == 0:
                message = self._pulse_dm(member)
                self.step(
                    f"{self.name(member)} taps “Agree” on the first statement",
                    lambda message=message: self._tap(member, message, 0, 4),
                    people={member},
                )
                self.step(
                    f"{self.name(both)}, in both channels, says they are in marketing",
                    lambda: self._choose_department(both),
                    people={both},
                )
                self.step(
                    f"{self.name(commenter)} adds a comment",
                    lambda: self._comment(commenter),
                    people={commenter},
                )
            self.step(
                "Most of the team answers (sales a little less happy than marketing)",
                lambda week=week: self._team_answers(week),
                people=set(),
            )
            self.clock.set(first + timedelta(weeks=week, hours=24))
            self.step(
                "A day later: one gentle reminder to those who have not finished",
                self.bot.runner.run_due,
                people={SALESPEOPLE[3]},
            )
            self.step(
                f"{self.name(SALESPEOPLE[3])} answers from the reminder",
                lambda week=week: self._late_answers(week),
                people=set(),
            )
            self.clock.set(first + timedelta(weeks=week, hours=48))
            self.step(
                "Two days later the round closes; the DMs say so",
                self.bot.runner.run_due,
                people={member} if week == 0 else set(),
            )
        self.lines += ["", self._answer_summary()]
        self.clock.set(first + timedelta(weeks=2, days=4))  # the Sunday after the third round
        self.step(
            "Monday 09:00 New York time: the weekly digest reaches the leadership channel", self._digest_time
        )

    def _digest_time(self) -> None:
        self.clock.set(self.bot.digests.next_wakeup())
        self.bot.digests.run_due()

    def _pulse_dm(self, user_id: str):
        payloads = [((m.metadata or {}).get("event_payload") or {}, m) for m in self.sandbox.dms_to(user_id)]
        return [m for payload, m in payloads if "delivery_id" in payload or "reminder" in payload][-1]

    def _tap(self, user_id: str, message, statement: int, score: int) -> None:
        rows = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
        button = rows[statement]["elements"][score - 1]
        self.driver.click(
            user_id,
            button["action_id"],
            button["value"],
            rows[statement]["block_id"],
            message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
        )

    def _choose_department(self, user_id: str) -> None:
        message = self._pulse_dm(user_id)
        button = next(b for b in message.blocks if b.get("block_id") == "department")["elements"][1]
        self.driver.click(
            user_id,
            button["action_id"],
            button["value"],
            "department",
            message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
        )

    def _comment(self, user_id: str) -> None:
        message = self._pulse_dm(user_id)
        button = next(b for b in message.blocks if b.get("block_id") == "comment")["elements"][0]
        self.driver.click(
            user_id,
            "pulse_comment",
            button["value"],
            "comment",
            message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
        )
        self.bot.wait_idle()
        modal = self.sandbox.latest_view_for(user_id).view
        self.driver.submit_view(user_id, modal, {"comment": "Let's agree on what a qualified lead is."})

    def _team_answers(self, week: int) -> None:
        """Everyone but one salesperson answers every statement; marketing rates higher than sales."""
        rng = random.Random(f"demo-week-{week}")
        for person in [HEAD_OF_SALES, *SALESPEOPLE[:3], HEAD_OF_MARKETING, *MARKETERS, SALES_AND_MARKETING]:
            message = self._pulse_dm(person)
            rows = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
            marketing = person in (HEAD_OF_MARKETING, *MARKETERS, SALES_AND_MARKETING)
            for statement in range(len(rows)):
                score = min(5, max(1, round(rng.gauss(3.6 if marketing else 2.7, 0.8))))
                self._tap(person, message, statement, score)

    def _late_answers(self, week: int) -> None:
        rng = random.Random(f"demo-late-{week}")
        message = self._pulse_dm(SALESPEOPLE[3])
        rows = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
        for statement in range(len(rows)):
            self._tap(SALESPEOPLE[3], message, statement, min(5, max(1, round(rng.gauss(2.7, 0.8)))))

    def _answer_summary(self) -> str:
        with self.bot.database.session() as session:
            rows = session.execute(
                select(Answer.department, func.count(), func.avg(Answer.score)).group_by(Answer.department)
            ).all()
        parts = [f"{department or 'unknown'}: {count} answers" for department, count, _mean in rows]
        return "In the database now: " + ", ".join(parts) + "."


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
        clock = ManualClock(DEMO_START)
        with BotRuntime(settings, clock=clock, scheduler=False) as bot:
            story = DemoStory(bot, SlackDriver(bot.url, signing_secret, sandbox), sandbox, clock)
            story.play()
        problems = sandbox.invalid_payloads()
        charts = [f for f in sandbox.files.values() if f.content]
    header = [
        "alignbot demo: the real bot, served over HTTP, against the local Slack sandbox (no Slack account).",
        f"Workspace: {sandbox.workspace.team_name}; database: {database_file}",
    ]
    for chart in charts:
        (output_dir / chart.name).write_bytes(chart.content)
    transcript = "\n".join(header + story.lines) + "\n"
    (output_dir / "transcript.txt").write_text(transcript, encoding="utf-8")
    out(transcript)
    out(f"Transcript written to {output_dir / 'transcript.txt'}")
    for chart in charts:
        out(f"Digest chart written to {output_dir / chart.name}")
    if problems:
        print(f"invalid Block Kit was sent: {problems}", file=sys.stderr)
        return 1
    return 0
