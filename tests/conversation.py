"""What the tests share: people who talk to the bot over either transport, what they saw, and the
scenario steps and inputs several test modules start from.

A `Person` types `/align …`, taps buttons and submits modals through a driver: `SlackDriver` over
HTTP to a serving bot, `SocketModeDriver` over its Socket Mode connection, or `InProcessDriver`
straight into the Bolt app. All send the same wire formats, so a scenario reads the same on each
(`both_transports` runs an end-to-end test over HTTP and over Socket Mode).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.server import SlackSandbox
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
    SandboxWorkspace,
)
from storage.models import Answer, Base, PulseRound

SIGNING_SECRET = "sandbox-signing-secret"
DATABASES = [
    name.strip() for name in os.environ.get("ALIGNBOT_TEST_DATABASES", "sqlite,postgresql").split(",")
]
POSTGRES_URL = os.environ.get(
    "ALIGNBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: The bot token of the sandbox's default workspace, for tests of the sandbox on its own.
TOKEN = "xoxb-sandbox-token"
#: A scenario that matters runs over both: Slack's requests over HTTP, and over Socket Mode.
both_transports = pytest.mark.parametrize("transport", ["http", "socket"], indirect=True)


# ----- clocks ------------------------------------------------------------------------------------


class OffsetClock:
    """The sandbox's clock: real time, moved forward by the test (trigger ids, response URLs).

    Real time, because the bot's signature check compares against the real clock too.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FakeClock:
    """A clock tests move by hand, so trigger/response_url expiry and rate limits need no sleeping."""

    def __init__(self, now: float = 1_732_312_345.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ----- the in-process transport ------------------------------------------------------------------


class InProcessDriver(SlackDriver):
    """Slack's part played straight into `app.dispatch`: the same signed requests, no HTTP server.

    Bolt checks the signature as it does over HTTP, and runs each listener on the bot's executor
    after `ack()`, so `bot.wait_idle()` still tells when the work a request started is done. The
    OAuth pages (`browse`) go to the app's OAuth flow, as Bolt's HTTP adapters route them.
    """

    def __init__(
        self,
        app: App,
        signing_secret: str,
        sandbox: SlackSandbox,
        workspace: SandboxWorkspace | None = None,
    ) -> None:
        super().__init__("http://in-process", signing_secret, sandbox, workspace=workspace)
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)

    def for_workspace(self, workspace: SandboxWorkspace) -> InProcessDriver:
        return InProcessDriver(self.app, self.signing_secret, self.sandbox, workspace)

    def post(
        self,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None = None,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        omit: tuple[str, ...] = (),
    ) -> DriverResponse:
        sent_at = str(int(self.clock()) if timestamp is None else timestamp)
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": sent_at,
            "X-Slack-Signature": signature or self.verifier.generate_signature(timestamp=sent_at, body=body),
        }
        headers = {name: v for name, v in {**signed, **(extra_headers or {})}.items() if name not in omit}
        answer = self.app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        return DriverResponse(answer.status, answer.body)

    def browse(self, path: str, cookie: str | None = None) -> DriverResponse:
        oauth = self.app.oauth_flow
        assert oauth is not None, "the app has no OAuth flow (it runs with one bot token)"
        page, _, query = path.partition("?")
        request = BoltRequest(
            body="", query=query, headers={"Cookie": cookie.split(";", 1)[0]} if cookie else {}
        )
        if page == oauth.install_path:
            answer = oauth.handle_installation(request)
        else:
            assert page == oauth.redirect_uri_path, f"no OAuth page at {page}"
            answer = oauth.handle_callback(request)
        headers = {
            "-".join(map(str.capitalize, name.split("-"))): v for name, v in answer.first_headers().items()
        }
        return DriverResponse(answer.status, answer.body, headers=headers)


#: What the tokens of installations are encrypted with in the tests (see `storage.secrets`).
SECRET_KEY = "0rBLEfwFWTWzlxFYQQaNX_A6dCYZWDF6rHRfWAyf1QM="


def oauth_settings(sandbox: SlackSandbox, database_url: str) -> Settings:
    """The bot in OAuth mode (many workspaces): the app's client id and secret, no bot token; the
    tokens it stores encrypted with SECRET_KEY."""
    return Settings(
        _env_file=None,
        alignbot_secret_keys=SECRET_KEY,
        slack_client_id=sandbox.oauth.client_id,
        slack_client_secret=sandbox.oauth.client_secret,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sandbox.api_url,
        database_url=database_url,
        default_timezone="UTC",
    )


# ----- people ------------------------------------------------------------------------------------


@dataclass
class Person:
    """Someone in the sandbox's workspace talking to the bot; every step waits until the bot has done
    what the request started, whichever transport `driver` is."""

    user_id: str
    bot: BotRuntime
    driver: SlackDriver

    @property
    def sandbox(self) -> SlackSandbox:
        return self.driver.sandbox

    def types(self, line: str) -> list[dict[str, Any]]:
        """A slash command such as `/align pulse list`; the ephemeral replies they saw."""
        name, _, text = line.partition(" ")
        response = self.driver.slash_command(self.user_id, text, command=name)
        assert response.status == 200, response.body
        assert self.bot.wait_idle()
        return replies_to(self.sandbox, response)

    def opens(self, line: str) -> dict[str, Any]:
        """A slash command that opens a modal; the modal as Slack holds it."""
        assert self.types(line) == []
        opened = self.sandbox.latest_view_for(self.user_id)
        assert opened is not None, f"`{line}` opened no modal"
        return opened.view

    def taps(
        self,
        action_id: str,
        value: str | None = None,
        *,
        on: Any = None,
        block_id: str | None = None,
        **where: Any,
    ) -> list[dict[str, Any]]:
        """Press a button `on` a message: one the bot posted (a sandbox message) or replied with (a
        dict), the button's block and value read from it; or wherever `where` says (`view=`,
        `channel_id=`, `message=`). What the bot posted back to the response URL."""
        if on is not None:
            blocks = on["blocks"] if isinstance(on, Mapping) else on.blocks
            found_block, found_value = button_in(blocks, action_id, value)
            block_id = found_block if block_id is None else block_id
            value = found_value if value is None else value
            if not isinstance(on, Mapping):
                where["message"] = {"ts": on.ts, "channel": on.channel, "blocks": on.blocks}
        response = self.driver.click(self.user_id, action_id, value, block_id or "", **where)
        assert response.status == 200, response.body
        assert self.bot.wait_idle()
        return replies_to(self.sandbox, response) if response.response_url else []

    def submits(
        self, callback_id: str, inputs: Mapping[str, Any], view: Mapping[str, Any] | None = None
    ) -> Any:
        """Submit the modal the bot last opened for them (or `view`, someone else's); the bot's JSON
        answer: None for a plain ack, which closes the modal, or its field errors."""
        if view is None:
            opened = self.sandbox.latest_view_for(self.user_id)
            assert opened is not None, f"no modal is open for {self.user_id}"
            view = opened.view
        assert view["callback_id"] == callback_id, view["callback_id"]
        response = self.driver.submit_view(self.user_id, view, inputs)
        assert response.status == 200, response.body
        assert self.bot.wait_idle()
        return response.json()

    def opens_home(self, **options: Any) -> dict[str, Any]:
        """Open the bot's Home tab (`options`: the event's id, a retry); the Home view they see."""
        response = self.driver.event(
            {"type": "app_home_opened", "user": self.user_id, "tab": "home"}, **options
        )
        assert response.status == 200
        assert self.bot.wait_idle()
        return self.sandbox.home_views[self.user_id].view

    def dms(self) -> list:
        """The messages the bot sent them in their DM."""
        return self.sandbox.dms_to(self.user_id)


def button_in(blocks: list[dict[str, Any]], action_id: str, value: str | None = None) -> tuple[str, str]:
    """The block id and value of the button `action_id` (with `value`, when given) in `blocks`."""
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return block.get("block_id", ""), element.get("value")
    raise AssertionError(f"no button {action_id} {value or ''} in the message")


# ----- what people saw ---------------------------------------------------------------------------


def replies_to(sandbox: SlackSandbox, response: DriverResponse) -> list[dict[str, Any]]:
    """What the bot posted to the response_url Slack gave it with this request."""
    assert response.response_url, "this request had no response_url"
    token = response.response_url.rsplit("/", 1)[1]
    return [post.body for post in sandbox.response_url_posts if post.token == token]


def text_of(message: dict[str, Any]) -> str:
    """Every piece of text in a message or view, flattened, to assert on wording."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message)
    return "\n".join(parts)


def row_counts(bot: BotRuntime) -> dict[str, int]:
    """How many rows each table holds (to show a refused request stored nothing)."""
    with bot.database.session() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def slack_methods_called(sandbox: SlackSandbox) -> list[str]:
    return [call.method for call in sandbox.calls if call.method != "auth.test"]


def pulse_dms(sandbox: SlackSandbox, user_id: str) -> list:
    """The pulse messages (rounds and reminders) a person got, told apart by their Slack metadata."""
    return [
        m
        for m in sandbox.dms_to(user_id)
        if {"delivery_id", "reminder"} & set((m.metadata or {}).get("event_payload") or {})
    ]


def keyed(messages: list, key: str) -> list:
    """The messages carrying `key` in their Slack metadata (a meeting reminder, a check, a notice)."""
    return [m for m in messages if key in ((m.metadata or {}).get("event_payload") or {})]


def reminders_in(sandbox: SlackSandbox, channel: str) -> list:
    """The joint-meeting reminders posted in a channel."""
    return keyed(sandbox.messages_in(channel), "meeting_reminder")


def check_dms(sandbox: SlackSandbox, user_id: str) -> list:
    """The "was it useful?" DMs a person got after joint meetings."""
    return keyed(sandbox.dms_to(user_id), "meeting_check")


def slack_error(call: Callable[[], Any]) -> str:
    """The error code Slack answered a Web API call with (the call must fail)."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def message_codes(template: str) -> list[str]:
    """The keys of a template's `messages` table (every notice kind, every field error code)."""
    with open(f"message_templates/{template}.json.j2", encoding="utf-8") as source:
        return re.findall(r'^  "(\w+)": _\(', source.read(), re.M)


# ----- scenario steps ----------------------------------------------------------------------------

SETUP_INPUTS = {
    "sales_channels": [SALES_CHANNEL],
    "marketing_channels": [MARKETING_CHANNEL],
    "leadership_channel": LEADERSHIP_CHANNEL,
    "timezone": "Europe/Berlin",
    "default_language": "en",
    "anonymity_threshold": "5",
    "admins": [],
}
#: The setup with Acme's head of sales as an extra admin.
VALID_INPUTS = {**SETUP_INPUTS, "admins": [HEAD_OF_SALES]}
PULSE_INPUTS = {
    "name": "Weekly",
    "audience": "setup",
    "frequency": "weekly",
    "weekdays": ["1"],  # Tuesday
    "send_time": "10:00",
    "timezone": "Europe/Berlin",
    "start_date": "2026-03-02",
    "items_per_round": "3",
    "answer_window_hours": "48",
    "reminders": "1",
    "reminder_spacing_hours": "24",
    "options": [],  # no quiet hours, so everyone's reminder goes at one instant
    "delivery": "dm",
}
MEETING_INPUTS = {
    "title": "Pipeline review",
    "frequency": "weekly",
    "weekdays": ["3"],  # Thursday
    "first_date": "2026-03-02",
    "start_time": "10:00",
    "duration_minutes": "60",
    "timezone": "America/New_York",
    "channels": [SALES_CHANNEL, MARKETING_CHANNEL],
    "reminder_offsets": ["1440", "15"],
    "link": "https://meet.example.com/pipeline?room=1&lang=en",
    "owner": HEAD_OF_SALES,
}
ELIGIBLE = {HEAD_OF_SALES, *SALESPEOPLE, SALES_AND_MARKETING, HEAD_OF_MARKETING, *MARKETERS}
SALES_TEAM = [HEAD_OF_SALES, *SALESPEOPLE]
MARKETING_TEAM = [HEAD_OF_MARKETING, *MARKETERS]
FIRST_ROUND = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Berlin (winter time)
ROUND_CLOSES = FIRST_ROUND + timedelta(hours=48)  # the pulse's answer window
#: The first joint meeting of MEETING_INPUTS: Thursday 5 March 2026 at 10:00 in New York (EST).
FIRST_MEETING = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
MONDAY_9_BERLIN = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def command(bot: BotRuntime, driver: SlackDriver, user_id: str, text: str) -> list[dict[str, Any]]:
    """Run `/align <text>` as a person; return the ephemeral replies they saw."""
    return Person(user_id, bot, driver).types(f"/align {text}")


def open_modal(bot: BotRuntime, driver: SlackDriver, user_id: str, text: str) -> dict[str, Any]:
    """Run a `/align` command that opens a modal; return the modal as Slack holds it."""
    return Person(user_id, bot, driver).opens(f"/align {text}")


def set_up_workspace(bot: BotRuntime, driver: SlackDriver, admin: str = OWNER, **changes: Any) -> None:
    """An admin (Acme's owner) runs `/align setup` and saves it (Berlin time, threshold 5 unless changed)."""
    person = Person(admin, bot, driver)
    person.opens("/align setup")
    assert person.submits("setup", {**SETUP_INPUTS, **changes}) is None


def create_pulse(bot: BotRuntime, driver: SlackDriver, **changes: Any) -> None:
    """Acme set up, and its owner schedules the pulse *Weekly* (PULSE_INPUTS, unless changed)."""
    set_up_workspace(bot, driver)
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pulse add")
    assert owner.submits("pulse_add", {**PULSE_INPUTS, **changes}) is None


def create_meeting(bot: BotRuntime, driver: SlackDriver, **changes: Any) -> None:
    """Acme set up (`threshold=`: its anonymity threshold); its owner adds the meeting MEETING_INPUTS."""
    set_up_workspace(bot, driver, anonymity_threshold=changes.pop("threshold", "5"))
    owner = Person(OWNER, bot, driver)
    owner.opens("/align meeting add")
    assert owner.submits("meeting_add", {**MEETING_INPUTS, **changes}) is None


def run_at(bot: BotRuntime, clock, moment: datetime):
    """Move the bot's clock to `moment` and run the pulse rounds due; the runner's report."""
    clock.set(moment)
    return bot.runner.run_due()


def close_round(bot: BotRuntime, clock) -> None:
    """The first round's answer window ends and the pulse job closes it: figures count it from then."""
    run_at(bot, clock, ROUND_CLOSES)


def tap(bot, driver, sandbox, user_id: str, score: int, statement: int = 0, message=None, wait=True):
    """Press the `score` button of the `statement`-th statement in the person's (latest) pulse DM, and
    (unless not to `wait`) let the bot finish with it."""
    message = message or pulse_dms(sandbox, user_id)[-1]
    rows = [
        b for b in message.blocks if b.get("type") == "actions" and b.get("block_id", "").startswith("item:")
    ]
    button = rows[statement]["elements"][score - 1]
    response = driver.click(
        user_id,
        button["action_id"],
        button["value"],
        rows[statement]["block_id"],
        message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
    )
    assert response.status == 200
    assert not wait or bot.wait_idle()
    return response


def answer_round(bot, driver, sandbox, people, score: int, statements: int = 4) -> None:
    """Each of `people` rates the first `statements` statements of their latest pulse DM `score`."""
    for person in people:
        for statement in range(statements):
            tap(bot, driver, sandbox, person, score=score, statement=statement)


def a_closed_round_with_a_gap(bot: BotRuntime, driver: SlackDriver, sandbox: SlackSandbox, clock) -> None:
    """The weekly pulse set up and its first round closed: sales rated every statement 2, marketing 4."""
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=2)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    close_round(bot, clock)


def digest_with_a_gap(bot: BotRuntime, driver: SlackDriver, sandbox: SlackSandbox, clock):
    """A round where sales rated every statement 2 and marketing 4, then Monday's digest: its post in
    the leadership channel, which carries nudges for the gap."""
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    (post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    return post


def open_home(bot: BotRuntime, driver: SlackDriver, user_id: str, **options: Any) -> dict[str, Any]:
    """A person opens the bot's Home tab; the Home view they see."""
    return Person(user_id, bot, driver).opens_home(**options)


def forget_me_prompt(bot: BotRuntime, driver: SlackDriver, user_id: str):
    """A person types `/align forget-me`: the request and the confirmation prompt they see."""
    response = driver.slash_command(user_id, "forget-me")
    assert bot.wait_idle()
    (prompt,) = replies_to(driver.sandbox, response)
    return response, prompt


def pulse_round_id(bot: BotRuntime) -> str:
    """The id of the first pulse round, as the buttons of its DMs carry it."""
    with bot.database.session() as session:
        return str(session.scalars(select(PulseRound.id).order_by(PulseRound.id)).first())


def run_meetings_at(bot: BotRuntime, clock, moment: datetime):
    """Move the bot's clock to `moment` and run the meeting reminders and checks due; the report."""
    clock.set(moment)
    return bot.meetings.run_due()


def rsvp(bot, driver, post, user_id: str, answer: str, *, twice_as_a_retry: bool = False):
    """Press "Going" or "Can't make it" on a reminder post, as `user_id`."""
    row = next(b for b in post.blocks if b.get("block_id") == "meeting_rsvp")
    button = next(e for e in row["elements"] if e["action_id"] == f"meeting_rsvp:{answer}")
    payload = driver.button_payload(
        user_id,
        button["action_id"],
        button["value"],
        "meeting_rsvp",
        message={"ts": post.ts, "channel": post.channel, "blocks": post.blocks},
    )
    for _attempt in range(2 if twice_as_a_retry else 1):
        assert driver.interaction(payload).status == 200
    assert bot.wait_idle()
    return payload


def confirm_held(
    bot, driver, sandbox, held: bool = True, user_id: str = HEAD_OF_SALES
) -> list[dict[str, Any]]:
    """The meeting's owner answers whether it took place, on their latest check DM, and the usefulness
    questions this releases go out; what the bot showed in place of the DM."""
    dm = check_dms(sandbox, user_id)[-1]
    row = next(b for b in dm.blocks if b.get("block_id") == "meeting_held")
    button = next(e for e in row["elements"] if e["action_id"] == f"meeting_held:{'yes' if held else 'no'}")
    message = {"ts": dm.ts, "channel": dm.channel, "blocks": dm.blocks}
    response = driver.click(user_id, button["action_id"], button["value"], "meeting_held", message=message)
    assert bot.wait_idle()
    bot.meetings.run_due()
    return replies_to(sandbox, response)


def open_check_comment(bot, driver, dm, user_id: str, shown_in=None) -> dict:
    """Press "what should change?" in a check DM; the modal it opens. `shown_in`: the message the
    click says it came from (the DM itself unless told otherwise)."""
    shown_in = shown_in or dm
    button = next(b for b in dm.blocks if b.get("block_id") == "meeting_check_comment")["elements"][0]
    driver.click(
        user_id,
        button["action_id"],
        button["value"],
        "meeting_check_comment",
        message={"ts": shown_in.ts, "channel": shown_in.channel, "blocks": shown_in.blocks},
    )
    assert bot.wait_idle()
    return driver.sandbox.latest_view_for(user_id).view


def open_comment(bot, driver, dm, user_id: str, shown_in=None) -> dict:
    """Press "Add a comment" in a pulse DM; the modal it opens. `shown_in`: the message the click says
    it came from (the DM itself unless told otherwise)."""
    shown_in = shown_in or dm
    button = next(b for b in dm.blocks if b.get("block_id") == "comment")["elements"][0]
    driver.click(
        user_id,
        "pulse_comment",
        button["value"],
        "comment",
        message={"ts": shown_in.ts, "channel": shown_in.channel, "blocks": shown_in.blocks},
    )
    assert bot.wait_idle()
    return driver.sandbox.latest_view_for(user_id).view


def answers(bot) -> list[Answer]:
    with bot.database.session() as session:
        return list(session.scalars(select(Answer).order_by(Answer.user_id, Answer.item_id)))
