"""Helpers for scenario tests: send as Slack, wait for the bot, read what people saw."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from bot.runtime.process import BotRuntime
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import LEADERSHIP_CHANNEL, MARKETING_CHANNEL, OWNER, SALES_CHANNEL
from storage.models import Base


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


def command(bot: BotRuntime, driver: SlackDriver, user_id: str, text: str) -> list[dict[str, Any]]:
    """Run `/align <text>` as a person; return the ephemeral replies they saw."""
    response = driver.slash_command(user_id, text)
    assert response.status == 200, response.body
    assert bot.wait_idle()
    return replies_to(driver.sandbox, response)


def row_counts(bot: BotRuntime) -> dict[str, int]:
    """How many rows each table holds (to show a refused request stored nothing)."""
    with bot.database.session() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def slack_methods_called(sandbox: SlackSandbox) -> list[str]:
    return [call.method for call in sandbox.calls if call.method != "auth.test"]


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


SETUP_INPUTS = {
    "sales_channels": [SALES_CHANNEL],
    "marketing_channels": [MARKETING_CHANNEL],
    "leadership_channel": LEADERSHIP_CHANNEL,
    "timezone": "Europe/Berlin",
    "default_language": "en",
    "anonymity_threshold": "5",
    "admins": [],
}


def open_modal(bot: BotRuntime, driver: SlackDriver, user_id: str, text: str) -> dict[str, Any]:
    """Run a `/align` command that opens a modal; return the modal as Slack holds it."""
    assert command(bot, driver, user_id, text) == []
    opened = driver.sandbox.latest_view_for(user_id)
    assert opened is not None, f"`/align {text}` opened no modal"
    return opened.view


def set_up_workspace(bot: BotRuntime, driver: SlackDriver, admin: str = OWNER, **changes: Any) -> None:
    """An admin (Acme's owner) runs `/align setup` and saves it (Berlin time, threshold 5 unless changed)."""
    view = open_modal(bot, driver, admin, "setup")
    response = driver.submit_view(admin, view, {**SETUP_INPUTS, **changes})
    assert response.status == 200 and response.body == "", response.body
    assert bot.wait_idle()
