"""Fixtures: a real Slack sandbox, a real running bot on SQLite or PostgreSQL, a signed driver, and
the people who use it.

End-to-end tests run once per database in ALIGNBOT_TEST_DATABASES (default: both).
PostgreSQL is reached at ALIGNBOT_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432);
each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver, SocketModeDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import default_workspace
from storage.db import scratch_postgres_database
from tests.conversation import DATABASES, POSTGRES_URL, SIGNING_SECRET, OffsetClock, Person


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alignbot.db'}"
        return
    with scratch_postgres_database(POSTGRES_URL, prefix="alignbot_test") as url:
        yield url


@pytest.fixture
def sandbox_clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture
def sandbox(sandbox_clock: OffsetClock) -> Iterator[SlackSandbox]:
    """The Slack sandbox; at teardown, every payload it saw must have been valid Block Kit."""
    with SlackSandbox(default_workspace(), clock=sandbox_clock) as running:
        yield running
        invalid = running.invalid_payloads()
        assert invalid == [], f"invalid Block Kit sent to Slack: {invalid}"


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> str:
    """How Slack reaches the bot: "http", unless a test runs on both (`both_transports`)."""
    return getattr(request, "param", "http")


@pytest.fixture
def settings(sandbox: SlackSandbox, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=sandbox.workspace.bot_token,
        slack_app_token=sandbox.workspace.app_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sandbox.api_url,
        database_url=database_url,
        default_timezone="UTC",
        slack_pace_ahead=False,  # the sandbox has no limits unless a test asks: paced only when told
        figures_apart=False,  # counted in the test's process: one counting process per bot costs 0.5 s
    )


@pytest.fixture
def clock() -> ManualClock:
    """The bot's clock: Monday 2 March 2026, 07:00 UTC, moved only by the test."""
    return ManualClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))


@pytest.fixture
def bot(settings: Settings, clock: ManualClock, transport: str) -> Iterator[BotRuntime]:
    """The bot over HTTP or Socket Mode (`transport`); its scheduler is off, tests run
    `bot.runner.run_due()` after moving the clock."""
    socket_mode = transport == "socket"
    with BotRuntime(settings, clock=clock, scheduler=False, socket_mode=socket_mode) as running:
        yield running


@pytest.fixture
def driver(bot: BotRuntime, sandbox: SlackSandbox, transport: str) -> SlackDriver:
    if transport == "socket":
        return SocketModeDriver(sandbox)
    return SlackDriver(bot.url, SIGNING_SECRET, sandbox)


@pytest.fixture
def person(bot: BotRuntime, driver: SlackDriver) -> Callable[[str], Person]:
    """`person(user_id)`: someone of the sandbox's workspace, talking to this bot through `driver`."""
    return lambda user_id: Person(user_id, bot, driver)
