"""The in-process tier: the bot built as in production but never serving HTTP; each signed request
goes straight to `bot.app.dispatch`, its Web API calls still to the sandbox. SQLite only: the HTTP
tier runs both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.server import SlackSandbox
from tests.conversation import SIGNING_SECRET, InProcessDriver


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'alignbot.db'}"


@pytest.fixture
def bot(settings: Settings, clock: ManualClock) -> Iterator[BotRuntime]:
    """The bot, not started: no HTTP server thread, no scheduler; `stop()` still waits for listeners."""
    runtime = BotRuntime(settings, clock=clock, scheduler=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def driver(bot: BotRuntime, sandbox: SlackSandbox) -> InProcessDriver:
    return InProcessDriver(bot.app, SIGNING_SECRET, sandbox)
