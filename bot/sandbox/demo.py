"""`alignbot demo`: the real bot against the local Slack sandbox, with a short story to watch.

No Slack credentials are needed. The bot runs over HTTP exactly as in production, on a fresh
SQLite database; a driver plays Slack, sending signed requests as people type and click.
Twelve simulated weeks pass in seconds, starting with a baseline (every scored statement once):
the company starts in the Defined stage and moves towards Aligned, while marketing keeps seeing
some things a point rosier than sales does.
"""

from __future__ import annotations

import random
import re
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.domain.clock import ManualClock
from bot.domain.scoring import Composite
from bot.domain.vocabulary import EVERYONE, MARKETING, SALES
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox import demo_pipeline
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.transcript import Transcript
from bot.sandbox.workspace import (
    DEMO_MARKETERS,
    DEMO_SALESPEOPLE,
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETERS,
    MARKETING_CHANNEL,
    OWNER,
    SALES_AND_MARKETING,
    SALES_CHANNEL,
    SALESPEOPLE,
    demo_workspace,
)
from storage.models import Answer, Cadence

#: The demo's simulated time starts on a Monday morning; its weeks pass in seconds.
DEMO_START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WEEKS = 12
SALES_TEAM = (HEAD_OF_SALES, *SALESPEOPLE, *DEMO_SALESPEOPLE)
MARKETING_TEAM = (HEAD_OF_MARKETING, *MARKETERS, *DEMO_MARKETERS, SALES_AND_MARKETING)
#: Mean ratings in the first week, each rising by GROWTH by the last: the company starts
#: Defined (a score near 50 of 100) and the last digest's 8-week window reaches Aligned (60+).
SALES_START, MARKETING_START, GROWTH = 2.4, 2.6, 1.2
#: Dimensions marketing rates higher still, every week: the perception gap the digest shows.
PERCEPTION_GAP = {"information_sharing": 0.8, "decision_rights": 0.8, "key_accounts": 0.8}
#: From the second week: the chance someone answers on the day, and else after the reminder.
ON_THE_DAY, AFTER_REMINDER = 0.85, 0.6
#: Comments written in some weeks (by week index), from both sides.
COMMENTS = {
    4: (SALESPEOPLE[2], "Marketing's leads still reach us without any notes from the campaign."),
    7: (MARKETERS[2], "We publish the campaign calendar every month; does sales read it?"),
    10: (HEAD_OF_SALES, "The joint pipeline review on Thursdays is starting to help."),
}
#: Who goes to the weekly joint meeting (and so gets the question afterwards).
MEETING_REGULARS = (HEAD_OF_SALES, HEAD_OF_MARKETING, SALESPEOPLE[0], MARKETERS[0], MARKETERS[1])
#: After the rounds of these weeks (by index), Monday's digest goes out and the head of marketing, a
#: leader but no admin, takes its playbook step on; later she marks it done from her Home tab.
ACTION_TAKEN_WEEK, ACTION_DONE_WEEK = 3, 7
ACTION_TITLE = "Agree one definition of a qualified lead, and who calls it within two days"
#: A bound on the meeting events run in one move of the clock (two reminders and a question a week).
MAX_MEETING_STEPS = 10


class DemoStory:
    """Plays steps one by one and writes down what each person saw after each step."""

    def __init__(
        self, bot: BotRuntime, driver: SlackDriver, sandbox: SlackSandbox, clock: ManualClock
    ) -> None:
        self.bot, self.driver, self.sandbox, self.clock = bot, driver, sandbox, clock
        self.transcript = Transcript(sandbox)
        self.lines: list[str] = []
        people = random.Random("demo-people")
        #: How much rosier (or darker) than their team each person sees things.
        self.bias = {person: people.gauss(0, 0.25) for person in SALES_TEAM + MARKETING_TEAM}
        self.rated: set[str] = set()
        """The usefulness questions already answered (by message ts)."""

    def step(self, narration: str, action: Callable[[], object], people: set[str] | None = None) -> None:
        """Play one action; write down what everyone (or only `people`: user or channel ids) saw."""
        self.quietly(narration, action)
        self.lines += ["", f"▶ {narration}", *self.transcript.new_entries(people)]

    def quietly(self, what: str, action: Callable[[], object]) -> None:
        """Play one action and wait for the bot; what people saw is left for `Transcript.tally`."""
        action()
        if not self.bot.wait_idle(timeout=60):
            raise RuntimeError(f"the bot did not finish: {what}")

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
        self.share_pipeline()
        self.play_pulses()
        self.step(
            f"{self.name(owner)} opens the Home tab again: the digest at a glance",
            lambda: driver.event({"type": "app_home_opened", "user": owner, "tab": "home"}),
            people={owner},
        )

    def share_pipeline(self) -> None:
        """The CRM exports the digest's "What the pipeline says" is computed from, shared in a DM."""
        owner, dm = OWNER, self.sandbox.dm_channel_for(OWNER)
        exports = (
            ("hubspot-contacts.csv", demo_pipeline.hubspot_contacts(), "its HubSpot contacts export"),
            (
                "opportunities.csv",
                demo_pipeline.salesforce_opportunities(),
                "a Salesforce opportunity report",
            ),
            ("forecast.csv", demo_pipeline.FORECAST, "the quarterly forecast"),
        )
        for name, content, what in exports:
            file = self.sandbox.share_file(owner, name, content.encode("utf-8"), channel_id=dm)
            event = {"type": "file_shared", "file_id": file["id"], "user_id": owner, "channel_id": dm}
            self.step(
                f"{self.name(owner)} drops {what} into the DM with alignbot",
                lambda event=event: self.driver.event(event),
                people={owner},
            )

    def play_pulses(self) -> None:
        """A baseline for the first Tuesday and a weekly pulse from the next, created in their modal;
        twelve weekly rounds, the first (the baseline) told in full."""
        owner = OWNER
        driver = self.driver
        today = self.clock.now().date()
        tuesday = today + timedelta(days=(1 - today.weekday()) % 7)
        # no quiet hours: the story follows one moment (07:00 is still night in Los Angeles)
        when = {"send_time": "10:00", "timezone": "America/New_York", "options": []}
        self.step(
            f"{self.name(owner)} types /align pulse add", lambda: driver.slash_command(owner, "pulse add")
        )
        form = self.sandbox.latest_view_for(owner).view
        baseline = {"name": "Baseline", "kind": "baseline", "start_date": tuesday.isoformat(), **when}
        self.step(
            f"{self.name(owner)} saves a baseline for Tuesday at 10:00 New York time: every scored"
            " statement once, for a first stage in week one",
            lambda: driver.submit_view(owner, form, baseline),
        )
        self.quietly("/align pulse add again", lambda: driver.slash_command(owner, "pulse add"))
        form = self.sandbox.latest_view_for(owner).view
        weekly = {
            "name": "Weekly",
            "weekdays": ["1"],
            "start_date": (tuesday + timedelta(weeks=1)).isoformat(),
        }
        self.step(
            f"{self.name(owner)} saves a weekly pulse, Tuesdays at 10:00 New York time from the week after",
            lambda: driver.submit_view(owner, form, {**weekly, **when}),
        )
        self.step(f"{self.name(owner)} types /align pulse", lambda: driver.slash_command(owner, "pulse"))
        with self.bot.database.session() as session:  # a new pulse's rotation is shuffled at random:
            for cadence in session.scalars(select(Cadence)):
                cadence.seed = "demo"  # the same statements every run
        self.create_meeting()
        first = self.bot.runner.next_wakeup()
        self.first_week(first)
        self.lines += [
            "",
            f"▶ Weeks 2–{WEEKS}, a line each: who answered, what Slack showed them, and the bot's score over",
            "  the last 8 weeks (20–100: Defined from 40, Aligned from 60; the digest's stage changes only",
            "  when its 95% interval has left the band)",
        ]
        for week in range(1, WEEKS):
            self.later_week(first + timedelta(weeks=week), week)
        self.lines += ["", self._answer_summary()]
        self.clock.set(first + timedelta(weeks=WEEKS - 1, days=4))  # the Sunday after the last round
        self.step(
            f"{self.name(owner)} types /align digest schedule",
            lambda: driver.slash_command(owner, "digest schedule"),
        )
        schedule = {
            "weekday": "0",
            "local_time": "09:00",
            "options": ["to_channel"],
            "leaders": [HEAD_OF_MARKETING],
        }
        self.step(
            f"{self.name(owner)} also sends it by DM to {self.name(HEAD_OF_MARKETING)} (Slack in Persian)",
            lambda: driver.submit_view(owner, self.sandbox.latest_view_for(owner).view, schedule),
        )
        self.step(
            "Monday 09:00 New York time: the weekly digest reaches the leadership channel and Sara's DM",
            self._digest_time,
        )

    def first_week(self, start: datetime) -> None:
        """Every step of the first round, with what the people watched saw."""
        member, both, commenter, late = SALESPEOPLE[0], SALES_AND_MARKETING, MARKETERS[1], SALESPEOPLE[3]
        rng = random.Random("demo-week-0")
        self.clock.set(start)
        self.step(
            "Week 1: Tuesday 10:00 in New York, the baseline goes out: all 20 scored statements",
            self.bot.runner.run_due,
            people={member, both},
        )
        message = self._pulse_dm(member)
        self.step(
            f"{self.name(member)} taps “Agree” on the first statement",
            lambda: self._tap(member, message, 0, 4),
            people={member},
        )
        self.step(
            f"{self.name(both)}, in both channels, says they are in marketing",
            lambda: self._choose_department(both),
            people={both},
        )
        self.step(
            f"{self.name(commenter)} adds a comment",
            lambda: self._comment(commenter, "Let's agree on what a qualified lead is."),
            people={commenter},
        )
        self.step(
            "The rest of the team answers: mostly 2s and 3s, the Defined stage; marketing rates"
            " information sharing, decision rights and key accounts a point higher than sales",
            lambda: self._answer([p for p in SALES_TEAM + MARKETING_TEAM if p != late], 0, rng),
            people=set(),
        )
        self.clock.set(start + timedelta(hours=24))
        self.step(
            "A day later: one gentle reminder to those who have not finished",
            self.bot.runner.run_due,
            people={late},
        )
        self.step(
            f"{self.name(late)} answers from the reminder",
            lambda: self._answer([late], 0, rng),
            people=set(),
        )
        self.step(
            "Wednesday 15:00: a day before the joint meeting, its reminder reaches both channels, with an"
            " agenda drawn from the answers and the calendar file in its thread",
            lambda: self._advance(self.bot.meetings.next_wakeup(), reply=False),
            people={SALES_CHANNEL},
        )
        self.step(
            f"{self.name(member)} and both heads say they are going: the counts change in place",
            self._rsvp,
            people={member},
        )
        self.clock.set(start + timedelta(hours=48))
        self.step("Two days later the round closes; the DMs say so", self.bot.runner.run_due, people={member})
        self.quietly(
            "the 15-minute reminder", lambda: self._advance(self.bot.meetings.next_wakeup(), reply=False)
        )
        self.step(
            f"Thursday 16:00, the meeting is over: its owner, {self.name(HEAD_OF_SALES)}, is asked whether it"
            " took place",
            lambda: self._advance(self.bot.meetings.next_wakeup(), reply=False),
            people={HEAD_OF_SALES},
        )
        self.step(
            f"{self.name(HEAD_OF_SALES)} confirms it did: those who were going get one question",
            self._confirm_held,
            people={member},
        )
        self.step(
            f"{self.name(member)} answers with one tap, and so do the others",
            lambda: self._rate_meeting(week=0),
            people={member},
        )

    def later_week(self, start: datetime, week: int) -> None:
        """A round played like the first, with a few people away, summed up in one line."""
        rng = random.Random(f"demo-week-{week}")
        team = SALES_TEAM + MARKETING_TEAM
        on_the_day = [p for p in team if rng.random() < ON_THE_DAY]
        late = [p for p in team if p not in on_the_day and rng.random() < AFTER_REMINDER]
        self._advance(start, week=week)
        self.quietly(f"week {week + 1}: the round", self.bot.runner.run_due)
        self.quietly(f"week {week + 1}: answers", lambda: self._answer(on_the_day, week, rng))
        if week in COMMENTS:
            self.quietly(f"week {week + 1}: a comment", lambda: self._comment(*COMMENTS[week]))
        self._advance(start + timedelta(hours=24), week=week)
        self.quietly(f"week {week + 1}: reminders", self.bot.runner.run_due)
        self.quietly(f"week {week + 1}: late answers", lambda: self._answer(late, week, rng))
        self._advance(start + timedelta(hours=48), week=week)
        self.quietly(f"week {week + 1}: closing", self.bot.runner.run_due)
        self._advance(start + timedelta(days=6), week=week)  # the joint meeting and its question
        seen = ", ".join(f"{kind} ×{count}" for kind, count in sorted(self.transcript.tally().items()))
        results = self.bot.services.insights.results(self.sandbox.workspace.team_id, self.clock.now())
        composites = results.composites
        everyone = composites[EVERYONE]
        stage = "" if everyone.withheld else f" {everyone.stage.capitalize()}"
        self.lines.append(
            f"  Week {week + 1:>2} ({start:%b %d}): {len(on_the_day)}/{len(team)} answered, {len(late)} more"
            f" after the reminder{', a comment' if week in COMMENTS else ''} · seen: {seen} · score"
            f" {_points(everyone)}{stage} (sales {_points(composites[SALES])},"
            f" marketing {_points(composites[MARKETING])})"
        )
        if week == ACTION_TAKEN_WEEK:
            self._take_action()
        if week == ACTION_DONE_WEEK:
            self._close_action()

    def create_meeting(self) -> None:
        owner = OWNER
        self.step(
            f"{self.name(owner)} types /align meeting add",
            lambda: self.driver.slash_command(owner, "meeting add"),
            people={owner},
        )
        form = self.sandbox.latest_view_for(owner).view
        meeting = {
            "title": "Pipeline review",
            "frequency": "weekly",
            "weekdays": ["3"],
            "first_date": self.clock.now().date().isoformat(),
            "start_time": "15:00",
            "duration_minutes": "60",
            "timezone": "America/New_York",
            "channels": [SALES_CHANNEL, MARKETING_CHANNEL],
            "reminder_offsets": ["1440", "15"],
            "link": "https://meet.example.com/pipeline-review",
            "owner": HEAD_OF_SALES,
        }
        self.step(
            f"{self.name(owner)} schedules a joint meeting, Thursdays at 15:00 New York time, reminders a day"
            " and 15 minutes before",
            lambda: self.driver.submit_view(owner, form, meeting),
            people={owner},
        )

    def _advance(self, moment: datetime, *, reply: bool = True, week: int = 0) -> None:
        """Move the clock to `moment`, running the joint meeting's reminders and questions due on the
        way; with `reply`, those going say so and answer the question afterwards."""
        for _ in range(MAX_MEETING_STEPS):
            due = self.bot.meetings.next_wakeup()
            if due is None or due > moment:
                break
            self.clock.set(max(due, self.clock.now()))
            self.quietly("the joint meeting", self.bot.meetings.run_due)
            if reply:
                self._rsvp()
                self._confirm_held()
                self._rate_meeting(week)
        self.clock.set(max(moment, self.clock.now()))

    def _rsvp(self) -> None:
        """The regulars say they are going, on the newest reminder in the sales channel."""
        reminders = [m for m in self.sandbox.messages_in(SALES_CHANNEL) if _event(m).get("meeting_reminder")]
        if not reminders:
            return
        post = reminders[-1]
        row = next(b for b in post.blocks if b.get("block_id") == "meeting_rsvp")
        going = next(e for e in row["elements"] if e["action_id"] == "meeting_rsvp:going")
        for person in MEETING_REGULARS:
            self.driver.click(
                person,
                going["action_id"],
                going["value"],
                "meeting_rsvp",
                message={"ts": post.ts, "channel": post.channel, "blocks": post.blocks},
            )

    def _take_action(self) -> None:
        """Monday's digest; the head of marketing takes its playbook step (the last nudge) on."""
        leader = HEAD_OF_MARKETING
        self.quietly("Monday's digest", self.bot.digests.run_due)
        post = [m for m in self.sandbox.messages_in(LEADERSHIP_CHANNEL) if _event(m).get("digest_post")][-1]
        rows = [b for b in post.blocks if b.get("block_id", "").startswith("nudge:")]
        take = next(e for e in rows[-1]["elements"] if e["action_id"] == "nudge_act")
        block, message = rows[-1]["block_id"], {"ts": post.ts, "channel": post.channel, "blocks": post.blocks}
        self.step(
            f"Monday: the digest's last suggestion is always the playbook's next step; {self.name(leader)},"
            " head of marketing (a leader, not an admin), presses “We're on it”",
            lambda: self.driver.click(leader, "nudge_act", take["value"], block, message=message),
            people={leader},
        )
        modal = self.sandbox.latest_view_for(leader).view
        self.step(
            f"{self.name(leader)} takes it on: “{ACTION_TITLE}”, owned by her, due in four weeks",
            lambda: self.driver.submit_view(leader, modal, {"note": ACTION_TITLE}),
            people={leader},
        )

    def _close_action(self) -> None:
        """The head of marketing marks her action item done on her Home tab: both teams hear of it."""
        leader = HEAD_OF_MARKETING
        self.step(
            f"Four weeks on, {self.name(leader)} opens her Home tab: leaders see their action items",
            lambda: self.driver.event({"type": "app_home_opened", "user": leader}),
            people={leader},
        )
        home = self.sandbox.home_views[leader].view
        row = next(b for b in home["blocks"] if b.get("block_id", "").startswith("action_item:"))
        done = next(e for e in row["elements"] if e["action_id"] == "action_item_done")
        self.step(
            f"{self.name(leader)} marks the action item done on her Home tab: both teams hear what was done",
            lambda: self.driver.click(leader, "action_item_done", done["value"], row["block_id"], view=home),
            people={leader, SALES_CHANNEL, MARKETING_CHANNEL},
        )

    def _confirm_held(self) -> None:
        """The meeting's owner says it took place, so the others are asked whether it was useful."""
        questions = [m for m in self.sandbox.dms_to(HEAD_OF_SALES) if _event(m).get("meeting_check")]
        dm = questions[-1] if questions else None
        row = next((b for b in dm.blocks if b.get("block_id") == "meeting_held"), None) if dm else None
        if row is None:
            return
        took_place = row["elements"][0]
        message = {"ts": dm.ts, "channel": dm.channel, "blocks": dm.blocks}
        self.quietly(
            "the owner confirms the meeting",
            lambda: self.driver.click(
                HEAD_OF_SALES, took_place["action_id"], took_place["value"], "meeting_held", message=message
            ),
        )
        self.quietly("the joint meeting", self.bot.meetings.run_due)

    def _rate_meeting(self, week: int) -> None:
        """Those asked rate the meeting they just had: middling at first, more useful as weeks pass."""
        rng = random.Random(f"demo-meeting-{week}")
        for person in MEETING_REGULARS:
            questions = [m for m in self.sandbox.dms_to(person) if _event(m).get("meeting_check")]
            if not questions or questions[-1].ts in self.rated:
                continue
            dm = questions[-1]
            row = next((b for b in dm.blocks if b.get("block_id") == "meeting_check"), None)
            if row is None:  # not confirmed as held: nobody is asked
                continue
            self.rated.add(dm.ts)
            score = min(5, max(1, round(rng.gauss(3 + week / (WEEKS - 1), 0.6))))
            button = row["elements"][score - 1]
            self.driver.click(
                person,
                button["action_id"],
                button["value"],
                "meeting_check",
                message={"ts": dm.ts, "channel": dm.channel, "blocks": dm.blocks},
            )

    def _digest_time(self) -> None:
        self.clock.set(self.bot.digests.next_wakeup())
        self.bot.digests.run_due()

    def _pulse_dm(self, user_id: str):
        return [m for m in self.sandbox.dms_to(user_id) if {"delivery_id", "reminder"} & _event(m).keys()][-1]

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

    def _comment(self, user_id: str, text: str) -> None:
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
        self.driver.submit_view(user_id, modal, {"comment": text})

    def _answer(self, people: list[str], week: int, rng: random.Random) -> None:
        """Each person taps a rating for every statement of their latest pulse DM."""
        for person in people:
            message = self._pulse_dm(person)
            rows = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
            for statement, row in enumerate(rows):
                item_id = row["block_id"].removeprefix("item:")
                self._tap(person, message, statement, self._rating(person, item_id, week, rng))

    def _rating(self, person: str, item_id: str, week: int, rng: random.Random) -> int:
        """1–5 around the person's team's mean for the week, plus the perception gap for marketing."""
        marketing = person in MARKETING_TEAM
        mean = (MARKETING_START if marketing else SALES_START) + GROWTH * week / (WEEKS - 1)
        if marketing:
            mean += PERCEPTION_GAP.get(self.bot.services.bank.item(item_id).dimension, 0.0)
        return min(5, max(1, round(rng.gauss(mean + self.bias[person], 0.6))))

    def _answer_summary(self) -> str:
        with self.bot.database.session() as session:
            rows = session.execute(
                select(Answer.department, func.count(), func.avg(Answer.score)).group_by(Answer.department)
            ).all()
        parts = [f"{department or 'unknown'}: {count} answers" for department, count, _mean in rows]
        return "In the database now: " + ", ".join(parts) + "."

    def digest_text(self) -> str:
        """The digest in the leadership channel, as its readers see it."""
        heading = f"The weekly digest in #{self.sandbox.workspace.channel(LEADERSHIP_CHANNEL).name}"
        return self._digest_in(self.sandbox.messages_in(LEADERSHIP_CHANNEL), heading)

    def persian_digest_text(self) -> str:
        """The digest in the DM of the leader whose Slack is in Persian."""
        heading = f"The weekly digest in {self.name(HEAD_OF_MARKETING)}'s DM (Persian)"
        return self._digest_in(self.sandbox.dms_to(HEAD_OF_MARKETING), heading)

    def _digest_in(self, messages, heading: str) -> str:
        digest = next(m for m in reversed(messages) if "digest_post" in _event(m))
        return "\n".join([heading, "", *self.transcript.read({"blocks": digest.blocks})]) + "\n"


def _event(message) -> dict:
    """The bot's own marks in a message's metadata (what it is, for which delivery or meeting)."""
    return (message.metadata or {}).get("event_payload") or {}


def _points(composite: Composite) -> str:
    """A group's 20–100 score, or a dash while it is withheld."""
    return "–" if composite.withheld else f"{composite.score:.0f}"


def run_demo(output: str, out: Callable[[str], object] = print) -> int:
    output_dir = Path(output)
    output_dir.mkdir(parents=True, exist_ok=True)
    database_file = output_dir / "alignbot-demo.db"
    for stale in output_dir.glob("alignbot-demo.db*"):
        stale.unlink()
    signing_secret = secrets.token_hex(16)
    with SlackSandbox(demo_workspace()) as sandbox:
        settings = Settings(
            _env_file=None,
            slack_bot_token=sandbox.workspace.bot_token,
            slack_signing_secret=signing_secret,
            slack_api_url=sandbox.api_url,
            database_url=f"sqlite:///{database_file.resolve()}",
            slack_pace_ahead=False,  # twelve weeks in minutes: this sandbox has no rate limits to keep to
        )
        clock = ManualClock(DEMO_START)
        with BotRuntime(settings, clock=clock, scheduler=False) as bot:
            story = DemoStory(bot, SlackDriver(bot.url, signing_secret, sandbox), sandbox, clock)
            story.play()
            digest, persian_digest = story.digest_text(), story.persian_digest_text()
        problems = sandbox.invalid_payloads()
        pngs = [f for f in sandbox.files.values() if f.content and f.name.endswith(".png")]
        # the last digest's pictures, in both languages (each file is named by its week)
        last_week = max((_week_of(f.name) for f in pngs), default=None)
        charts = sorted((f for f in pngs if _week_of(f.name) == last_week), key=lambda f: f.name)
        calendars = {f.name: f for f in sandbox.files.values() if f.content and f.name.endswith(".ics")}
    header = [
        "alignbot demo: the real bot, served over HTTP, against the local Slack sandbox (no Slack account).",
        f"Workspace: {sandbox.workspace.team_name}; database: {database_file}",
    ]
    for written in [*charts, *calendars.values()]:
        (output_dir / written.name).write_bytes(written.content)
    transcript = "\n".join(header + story.lines) + "\n"
    (output_dir / "transcript.txt").write_text(transcript, encoding="utf-8")
    (output_dir / "digest.txt").write_text(digest, encoding="utf-8")
    (output_dir / "digest-fa.txt").write_text(persian_digest, encoding="utf-8")
    out(transcript)
    out(f"Transcript written to {output_dir / 'transcript.txt'}")
    out(f"Digest written to {output_dir / 'digest.txt'}, in Persian to {output_dir / 'digest-fa.txt'}")
    for chart in charts:
        out(f"Digest picture written to {output_dir / chart.name}")
    for name in calendars:
        out(f"Joint meeting calendar written to {output_dir / name}")
    if problems:
        print(f"invalid Block Kit was sent: {problems}", file=sys.stderr)
        return 1
    return 0


def _week_of(file_name: str) -> str:
    """The week a digest picture is of, from its name (`trend-2026-05-25-en.png`)."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", file_name)
    return found.group(0) if found else ""
